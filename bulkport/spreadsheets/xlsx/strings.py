"""The shared strings table (``xl/sharedStrings.xml``): every ``<si>`` as the text a cell shows."""

from __future__ import annotations

from typing import IO

from bulkport.spreadsheets.xlsx import safexml
from bulkport.spreadsheets.xlsx.names import SI, R, T, known_names
from bulkport.spreadsheets.xlsx.values import unescape


def read_shared_strings(stream: IO[bytes]) -> list[str]:
    """The shared strings, an ``<si>`` read as its last direct ``<t>``, then each rich text
    run's last ``<t>`` (phonetic hints left out); an element's text is what precedes its
    first child."""
    strings: list[str] = []
    pieces: list[str] = []
    parser = safexml.parser(known_names())
    # Outside an <si> (0), in it (1), in its <t> (2), in a run (3), in the run's <t> (4).
    where = 0
    skip = 0
    captured: str | None = None
    plain: str | None = None
    run: str | None = None
    runs: list[str] = []

    def start(tag: str, _attrs: dict[str, str]) -> None:
        nonlocal where, skip, captured, plain, run, runs
        if skip:
            skip += 1
        elif where == 0:
            if tag in SI:
                where, plain, runs = 1, None, []
        elif where in (1, 3) and (tag in T or safexml.local(tag) == "t"):
            where += 1
            pieces.clear()
            captured = None
        elif where == 1 and (tag in R or safexml.local(tag) == "r"):
            where, run = 3, None
        else:
            if where in (2, 4) and captured is None:
                captured = "".join(pieces)
            skip = 1

    def end(_tag: str) -> None:
        nonlocal where, skip, plain, run
        if skip:
            skip -= 1
        elif where == 1:
            content = ((plain or "") + "".join(runs)).replace("x005F_", "")
            strings.append(unescape(content) if "_x" in content else content)
            where = 0
        elif where == 2:
            plain = captured if captured is not None else "".join(pieces)
            where = 1
        elif where == 3:
            if run:
                runs.append(run)
            where = 1
        elif where == 4:
            run = captured if captured is not None else "".join(pieces)
            where = 3

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = pieces.append
    while chunk := stream.read(safexml.CHUNK):
        parser.Parse(chunk, False)
        if where not in (2, 4) or captured is not None:
            pieces.clear()  # text outside a <t> is never kept
    parser.Parse(b"", True)
    return strings
