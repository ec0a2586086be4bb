"""The shared strings table (``xl/sharedStrings.xml``): every ``<si>`` as the text a cell shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from bulkport.spreadsheets.xlsx import safexml
from bulkport.spreadsheets.xlsx.names import SI, is_run, is_text, known_names
from bulkport.spreadsheets.xlsx.values import unescape

# Where the reader is: outside an <si>, in it, in its <t>, in a run, in the run's <t>.
_OUT, _ITEM, _TEXT, _RUN, _RUN_TEXT = range(5)
_TEXTS = (_TEXT, _RUN_TEXT)


def read_shared_strings(stream: IO[bytes]) -> list[str]:
    """The shared strings, an ``<si>`` read as its last direct ``<t>``, then each rich text
    run's last ``<t>`` (phonetic hints left out); an element's text is what precedes its
    first child."""
    handlers = _StringsHandlers()
    parser = safexml.parser(known_names())
    parser.StartElementHandler = handlers.start
    parser.EndElementHandler = handlers.end
    parser.CharacterDataHandler = handlers.pieces.append
    while chunk := stream.read(safexml.CHUNK):
        parser.Parse(chunk, False)
        if handlers.where not in _TEXTS or handlers.captured is not None:
            handlers.pieces.clear()  # text outside a <t> is never kept
    parser.Parse(b"", True)
    return handlers.strings


def _nothing() -> None:
    """An element outside any ``<si>`` ends: nothing to read."""


class _StringsHandlers:
    """expat's handlers for the shared strings part and the state they share."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.pieces: list[str] = []  # character data, kept while a <t> is open
        self.where = _OUT
        self.skip = 0  # depth inside an element whose content does not count
        self.captured: str | None = None  # a <t>'s text ended early by a child element
        self.plain: str | None = None
        self.run: str | None = None
        self.runs: list[str] = []
        self.ends: dict[int, Callable[[], None]] = {
            _OUT: _nothing,
            _ITEM: self.end_item,
            _TEXT: self.end_text,
            _RUN: self.end_run,
            _RUN_TEXT: self.end_run_text,
        }

    def start(self, tag: str, _attrs: dict[str, str]) -> None:
        """An ``<si>``, its ``<t>``, a run or the run's ``<t>`` opens; any other element is
        skipped with its content."""
        where = self.where
        if self.skip:
            self.skip += 1
        elif where == _OUT:
            if tag in SI:
                self.where, self.plain, self.runs = _ITEM, None, []
        elif where in (_ITEM, _RUN) and is_text(tag):
            self.where = _TEXT if where == _ITEM else _RUN_TEXT
            self.pieces.clear()
            self.captured = None
        elif where == _ITEM and is_run(tag):
            self.where, self.run = _RUN, None
        else:
            if where in _TEXTS and self.captured is None:
                self.captured = "".join(self.pieces)
            self.skip = 1

    def end(self, _tag: str) -> None:
        """The element open in ``where`` ends (or a skipped one)."""
        if self.skip:
            self.skip -= 1
        else:
            self.ends[self.where]()

    def end_item(self) -> None:
        content = ((self.plain or "") + "".join(self.runs)).replace("x005F_", "")
        self.strings.append(unescape(content) if "_x" in content else content)
        self.where = _OUT

    def end_text(self) -> None:
        self.plain = self.closed_text()
        self.where = _ITEM

    def end_run(self) -> None:
        if self.run:
            self.runs.append(self.run)
        self.where = _ITEM

    def end_run_text(self) -> None:
        self.run = self.closed_text()
        self.where = _RUN

    def closed_text(self) -> str:
        return self.captured if self.captured is not None else "".join(self.pieces)
