"""Names and search terms: no control, bidirectional-override or invisible format characters."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# C0 and C1 controls and DEL; soft hyphen; Arabic letter mark; Mongolian vowel separator;
# zero-width space; left/right-to-left marks; line and paragraph separators; bidirectional
# embeddings, overrides and isolates; word joiner and invisible operators; byte-order mark;
# interlinear annotations; non-characters. Zero-width (non-)joiners stay: scripts need them.
CONTROL_CLASS = (
    "\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b\\u200e\\u200f"
    "\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff\\ufff9-\\ufffb\\ufffe\\uffff"
)
# The same rule in the API document; lone surrogates (never valid text) are refused as well.
NO_CONTROL_PATTERN = f"^[^{CONTROL_CLASS}]*$"
_CONTROL = re.compile(f"[{CONTROL_CLASS}\\ud800-\\udfff]")
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|;]')


def refuse_control(value: str) -> str:
    """``value`` unchanged, or a validation error naming the first control character."""
    found = _CONTROL.search(value)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "must not contain control or invisible formatting characters "
            "(found U+{code} at position {position})",
            {"code": f"{ord(found.group()):04X}", "position": found.start() + 1},
        )
    return value


def strip_control(value: str) -> str:
    """``value`` without any control or invisible formatting character."""
    return _CONTROL.sub("", value)


def file_name(raw: str | None, default: str) -> str:
    """A name safe to store, show and send back as a download: no folders, no control
    characters, none of the characters file systems or headers treat specially."""
    name = strip_control(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _NOT_IN_FILE_NAMES.sub("_", name).strip(" .")[:255]
    return name or default


# A name or search term as a field type: the document states the rule the validator keeps.
CleanText = Annotated[
    str, AfterValidator(refuse_control), Field(json_schema_extra={"pattern": NO_CONTROL_PATTERN})
]
