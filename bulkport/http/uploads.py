"""Streaming a multipart upload straight into the file store, never whole in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from fastapi import HTTPException, Request, status
from python_multipart.multipart import MultipartParser, parse_options_header

from bulkport.errors import FileStoreUnavailable, TooLarge
from bulkport.rules.text import file_name
from bulkport.schemas.mappings import MAX_MAPPING_BYTES
from bulkport.storage.files import FileStore, cannot_take
from bulkport.tasks.context import Context

FIELD_LIMIT = 4096  # bytes of a plain form field
FIELD_LIMITS = {"mapping": MAX_MAPPING_BYTES}  # a JSON field may be longer
MAX_FIELDS = 32  # every option once, and room to spare
# Room for the multipart envelope and form fields around the file itself.
ENVELOPE_BYTES = 64 * 1024


@dataclass
class Upload:
    """What a multipart body held: the form fields and the stored file."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0


# Told the fields sent before the file, when the file begins; raising refuses the upload
# before a byte of the file is kept.
BeforeFile = Callable[[dict[str, str]], None]


class _Receiver:
    """Callbacks for python-multipart's parser: file bytes go to ``out`` as they arrive."""

    def __init__(self, out: BinaryIO, limit: int, before_file: BeforeFile | None = None) -> None:
        self.out = out
        self.limit = limit
        self.before_file = before_file
        self.upload = Upload()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_part,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._name, self._is_file = None, False
        self._value = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if self._name == "file":
            if self.upload.filename is not None:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, "Send one file per upload.")
            if self.before_file is not None:
                self.before_file(self.upload.fields)
            self._is_file = True
            self.upload.filename = (filename or b"upload.csv").decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            self.upload.size += len(chunk)
            if self.upload.size > self.limit:
                raise TooLarge
            self.out.write(chunk)
        elif self._name:
            self._value += chunk
            if len(self._value) > FIELD_LIMITS.get(self._name, FIELD_LIMIT):
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST, f"The form field {self._name!r} is too long."
                )

    def _part_end(self) -> None:
        if not self._is_file and self._name:
            if self._name in self.upload.fields:
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT, f"{self._name}: sent more than once."
                )
            if len(self.upload.fields) >= MAX_FIELDS:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, "The form has too many fields.")
            self.upload.fields[self._name] = self._value.decode("utf-8", "replace")


async def receive_upload(
    content_type: str,
    body: AsyncIterator[bytes],
    files: FileStore,
    key: str,
    limit: int,
    before_file: BeforeFile | None = None,
) -> Upload:
    """Parse a ``multipart/form-data`` body, writing its ``file`` part under ``key``
    (``before_file`` may refuse it first).

    Answers 413 past ``limit`` bytes of file and 400 for a body that is not a form with a file;
    nothing is left in the store when it fails.
    """
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "Send the file as multipart/form-data in a field named 'file'.",
        )
    with files.writer(key) as out:
        receiver = _Receiver(out, limit, before_file)
        parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
        try:
            async for chunk in body:
                parser.write(chunk)
            parser.finalize()
        except TooLarge:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                f"The file is larger than the {limit // (1024 * 1024)} MB this service accepts.",
            ) from None
        except HTTPException:
            raise
        except OSError as exc:
            # Writing the file failed, not reading the form (a full disk).
            raise FileStoreUnavailable(cannot_take(exc)) from exc
        except Exception as exc:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"The upload is not a readable form: {exc}"
            ) from None
        if receiver.upload.filename is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "The form has no field named 'file'."
            )
    return receiver.upload


def upload_name(filename: str | None) -> str:
    """The uploaded file's name, for display only: no folders, no control or bidirectional
    characters (they are stripped: the file is still taken)."""
    return file_name(filename, "upload.csv")


async def receive_file(
    request: Request, ctx: Context, key: str, before_file: BeforeFile | None = None
) -> Upload:
    """Stream a multipart upload's file under ``key``; 413 past the size limit."""
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + ENVELOPE_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"The file is larger than the {limit // (1024 * 1024)} MB this service accepts.",
        )
    return await receive_upload(
        request.headers.get("content-type", ""), request.stream(), ctx.files, key, limit,
        before_file,
    )  # fmt: skip
