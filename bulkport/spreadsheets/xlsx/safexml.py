"""expat parsers that refuse entity declarations and external references, never expanding them.

Every XML part of a workbook is parsed through ``parser`` (as defusedxml does for openpyxl).
Small parts (content types, relationships, the workbook, styles) are read whole as a
``Node`` tree of their attributes; sheets and shared strings set their own handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, NoReturn
from xml.parsers import expat

# Parts are inflated and fed to expat in pieces of this size.
CHUNK = 64 * 1024


class Refused(Exception):
    """An XML part declares entities or refers outside itself: refused, never expanded."""


class Stop(Exception):
    """Raised by a handler once it has read what it needs: the rest is not parsed."""


def _refuse(*_: object) -> NoReturn:
    raise Refused


def _undefined_entity(name: str, _parameter: bool) -> NoReturn:
    raise ValueError(f"undefined entity &{name};")


def parser(intern: dict[str, str] | None = None) -> expat.XMLParserType:
    """A namespace-aware parser ("uri}local" names) that refuses entities; character data
    comes in one piece per element where it can."""
    made = expat.ParserCreate(namespace_separator="}", intern={} if intern is None else intern)
    made.EntityDeclHandler = _refuse
    made.UnparsedEntityDeclHandler = _refuse
    made.ExternalEntityRefHandler = _refuse
    made.SkippedEntityHandler = _undefined_entity
    made.buffer_text = True
    made.buffer_size = CHUNK
    return made


def feed(parser: expat.XMLParserType, stream: IO[bytes]) -> None:
    """Parse a whole part, a chunk at a time: a part is never held whole in memory."""
    while chunk := stream.read(CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def local(name: str) -> str:
    """An element's name without its namespace."""
    return name.rpartition("}")[2]


@dataclass
class Node:
    """An element of a small part, with its attributes and child elements (no text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)

    @property
    def local(self) -> str:
        return local(self.tag)

    def plain_attrs(self) -> set[str]:
        """Attribute names outside any namespace."""
        return {name for name in self.attrs if "}" not in name}


def tree(stream: IO[bytes]) -> Node:
    """A small part as a tree of elements."""
    reader = parser()
    stack: list[Node] = []
    roots: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag, attrs)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    reader.StartElementHandler = start
    reader.EndElementHandler = end
    feed(reader, stream)
    return roots[0]


def require(condition: bool, what: str) -> None:
    """Refuse a part whose elements lack an attribute they must have, or carry an unknown one."""
    if not condition:
        raise ValueError(what)
