"""SpreadsheetML element names as expat reports them ("uri}local"), transitional and strict."""

from __future__ import annotations

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_IDS = (
    f"{REL_NS}}}id",
    "http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)


def _names(local: str) -> frozenset[str]:
    """A SpreadsheetML element's name in the transitional and the strict namespace."""
    return frozenset((f"{MAIN}}}{local}", f"{STRICT}}}{local}"))


ROW = _names("row")
V = _names("v")
IS = _names("is")
SI = _names("si")
DIMENSION = _names("dimension")
SHEET_DATA = _names("sheetData")
# Rich text children are read by local name, whatever their namespace.
T = frozenset(("t", *_names("t")))
R = frozenset(("r", *_names("r")))


def known_names() -> dict[str, str]:
    """An intern table for expat: handed these very strings, it returns them, so most name
    tests are identities."""
    return {name: name for names in (ROW, V, IS, SI, T, R) for name in names}


def is_text(name: str) -> bool:
    """Whether an element is a rich text ``<t>``, whatever its namespace."""
    return name in T or name.rpartition("}")[2] == "t"


def is_run(name: str) -> bool:
    """Whether an element is a rich text run ``<r>``, whatever its namespace."""
    return name in R or name.rpartition("}")[2] == "r"
