"""The S3 file store: job files as objects in one bucket under a prefix, moved by boto3's
managed transfers (multipart, streamed from and to local files, never whole in memory)."""

from __future__ import annotations

import fcntl
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any, BinaryIO, cast
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from bulkport.config import S3Location, Settings
from bulkport.errors import FileStoreUnavailable
from bulkport.storage.files import checked_key

# Parts of 8 MB, four at a time: at most a few parts in memory whatever the file's size.
TRANSFER = TransferConfig(
    multipart_threshold=8 * 1024 * 1024,
    multipart_chunksize=8 * 1024 * 1024,
    max_concurrency=4,
    max_io_queue=16,
)
# Read buffer of a streamed object.
READ_BYTES = 256 * 1024
# Short connect timeouts and few retries: a readiness probe or an upload answers within
# seconds when the endpoint is down.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 3, "mode": "standard"},
    signature_version="s3v4",
)
# This process's scratch folders and the descriptor that holds each one's lock until it ends
# (a forked child keeps its parent's folder locked too, and takes its own).
_SCRATCH_HELD: dict[Path, int] = {}
_MISSING = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET = {"NoSuchBucket"}
_REFUSED = {
    "403",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "InvalidClientTokenId",
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _cause(exc: BaseException) -> BaseException:
    """The botocore error behind a boto3 transfer error (which wraps it in its message)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError | BotoCoreError):
            found: BaseException = seen
            return found
        seen = seen.__cause__ or seen.__context__
    return exc


def plain_reason(exc: BaseException, bucket: str) -> str:
    """Why S3 did not answer, in words an operator acts on; never a secret."""
    cause = _cause(exc)
    if isinstance(cause, ConnectionError):
        return "S3 endpoint unreachable"
    if isinstance(cause, NoCredentialsError | PartialCredentialsError):
        return "S3 has no credentials: set BULKPORT_S3_ACCESS_KEY_ID and its secret, or AWS_*"
    if isinstance(cause, ClientError):
        code = _code(cause)
        if code in _NO_BUCKET:
            return f"S3 bucket {bucket!r} does not exist"
        if code in _REFUSED:
            return "S3 refused the credentials"
        return f"S3 answered {code or 'an error'}"
    return f"S3 failed: {type(cause).__name__}"


class S3FileStore:
    """Files as objects in an S3 bucket; several machines share it. Readers that seek get a
    passing copy in a local scratch folder, removed after the block."""

    def __init__(
        self,
        location: S3Location,
        scratch: Path,
        client: Any,
        link_seconds: int = 60,
        signer: Any = None,
    ) -> None:
        self.bucket = location.bucket
        self.prefix = location.prefix
        self.scratch = scratch
        self.link_seconds = link_seconds
        self._client = client
        # Download links are signed for the address browsers use, which may not be the one
        # the servers reach S3 at (a MinIO inside a compose network).
        self._signer = signer or client

    @classmethod
    def from_settings(cls, settings: Settings) -> S3FileStore:
        """A store for ``BULKPORT_FILE_STORE``; settings left unset fall back to what boto3
        reads itself (``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``, ``AWS_REGION``, …)."""
        location = settings.s3_location
        assert location is not None
        secret = settings.s3_secret_access_key

        def client(endpoint: str | None) -> Any:
            return boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint,
                region_name=settings.s3_region,
                aws_access_key_id=settings.s3_access_key_id,
                aws_secret_access_key=secret.get_secret_value() if secret is not None else None,
                config=CLIENT_CONFIG,
            )

        public = settings.s3_public_url
        return cls(
            location, settings.scratch, client(settings.s3_endpoint_url),
            settings.s3_link_seconds, client(public) if public else None,
        )  # fmt: skip

    def _name(self, key: str) -> str:
        checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _answering(self, key: str | None = None) -> Iterator[None]:
        """S3's errors as the store's: a missing object is ``FileNotFoundError``, anything
        that stops the store working ``FileStoreUnavailable`` with a plain reason."""
        try:
            yield
        except (ClientError, BotoCoreError, boto3.exceptions.Boto3Error) as exc:
            cause = _cause(exc)
            if key is not None and isinstance(cause, ClientError) and _code(cause) in _MISSING:
                raise FileNotFoundError(f"no stored file {key!r}") from None
            raise FileStoreUnavailable(plain_reason(exc, self.bucket)) from exc

    def _scratch_file(self, suffix: str = "") -> Path:
        fd, name = tempfile.mkstemp(dir=self._own_scratch(), prefix=".s3-", suffix=suffix)
        os.close(fd)
        return Path(name)

    def _own_scratch(self) -> Path:
        """This process's scratch folder, share-locked (``flock``) while the process lives, so
        a sweep tells the copies of a process that died by a lock nobody holds."""
        folder = self.scratch / f"p{os.getpid()}"
        if _SCRATCH_HELD.get(folder) is not None and folder.is_dir():
            return folder
        while True:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(folder, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_SH)
            # A sweep may have taken the folder between its making and the lock: make it again.
            if folder.is_dir() and os.path.samestat(os.fstat(fd), folder.stat()):
                stale = _SCRATCH_HELD.pop(folder, None)
                _SCRATCH_HELD[folder] = fd
                if stale is not None:
                    os.close(stale)
                return folder
            os.close(fd)

    def forget_dead_copies(self) -> int:
        """Delete the passing copies that processes killed mid-read or mid-write left in this
        machine's scratch folder (a whole upload, perhaps); returns how many folders went."""
        if not self.scratch.is_dir():
            return 0
        gone = 0
        for folder in self.scratch.iterdir():
            if not folder.is_dir() or folder in _SCRATCH_HELD:
                continue
            try:
                fd = os.open(folder, os.O_RDONLY)
            except OSError:
                continue  # taken by another sweep meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(folder, ignore_errors=True)
                gone += 1
            except BlockingIOError:
                pass  # its process lives
            finally:
                os.close(fd)
        return gone

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Written to a local file, then sent as a multipart upload: the object appears only
        once the upload completes, and a failed block sends nothing."""
        name = self._name(key)
        tmp = self._scratch_file()
        try:
            with tmp.open("wb") as handle:
                yield handle
            with self._answering():
                self._client.upload_file(str(tmp), self.bucket, name, Config=TRANSFER)
        finally:
            tmp.unlink(missing_ok=True)

    @contextmanager
    def local(self, key: str) -> Iterator[Path]:
        """A passing copy with the key's suffix (readers sniff it), removed after the block."""
        name = self._name(key)
        tmp = self._scratch_file(PurePath(key).suffix)
        try:
            with self._answering(key):
                self._client.download_file(self.bucket, name, str(tmp), Config=TRANSFER)
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        """The object's bytes as they arrive (read forward only): reading the first bytes of
        a large upload fetches little more than those."""
        name = self._name(key)
        with self._answering(key):
            body = self._client.get_object(Bucket=self.bucket, Key=name)["Body"]
        return cast(BinaryIO, io.BufferedReader(_ObjectStream(body, self), READ_BYTES))

    def copy_to(self, key: str, target: Path) -> None:
        """Download the object to ``target``."""
        name = self._name(key)
        with self._answering(key):
            self._client.download_file(self.bucket, name, str(target), Config=TRANSFER)

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        """Size in bytes of a stored object."""
        name = self._name(key)
        with self._answering(key):
            head = self._client.head_object(Bucket=self.bucket, Key=name)
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        """Remove one object; a missing one is not an error."""
        name = self._name(key)
        with self._answering():
            self._client.delete_object(Bucket=self.bucket, Key=name)

    def _listed(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._name(prefix) + "/"
        )
        with self._answering():
            for page in pages:
                yield from page.get("Contents", [])

    def delete_tree(self, prefix: str) -> None:
        """Remove every object under a key prefix, a thousand a request."""
        batch: list[dict[str, str]] = []
        for item in self._listed(prefix):
            batch.append({"Key": item["Key"]})
            if len(batch) == 1000:
                self._delete_objects(batch)
                batch = []
        if batch:
            self._delete_objects(batch)

    def keys_under(self, prefix: str) -> list[str]:
        """Every object under the prefix, as store keys (the bucket's prefix taken off)."""
        start = len(self.prefix) + 1 if self.prefix else 0
        return sorted(item["Key"][start:] for item in self._listed(prefix))

    def _delete_objects(self, batch: list[dict[str, str]]) -> None:
        with self._answering():
            self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )

    def stale_folders(self, prefix: str, before: float) -> list[str]:
        """Folders right under ``prefix`` whose newest object is older than ``before``."""
        start = len(self._name(prefix)) + 1
        newest: dict[str, float] = {}
        for item in self._listed(prefix):
            folder, slash, _ = item["Key"][start:].partition("/")
            if slash:
                written = item["LastModified"].timestamp()
                newest[folder] = max(newest.get(folder, written), written)
        return sorted(folder for folder, written in newest.items() if written < before)

    def download_url(self, key: str, filename: str, media_type: str) -> str | None:
        """A presigned GET that works for ``link_seconds`` and names the file as the API
        would (computed locally: S3 is not asked)."""
        return str(
            self._signer.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._name(key),
                    "ResponseContentType": media_type,
                    "ResponseContentDisposition": _attachment(filename),
                },
                ExpiresIn=self.link_seconds,
            )
        )

    def check_writable(self) -> None:
        """The bucket answers, and a probe object can be written and removed."""
        probe = self._name(f"ready-{uuid.uuid4().hex}")
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            # HEAD answers have no body: a missing bucket is a bare 404.
            if _code(exc) in _MISSING | _NO_BUCKET:
                raise FileStoreUnavailable(f"S3 bucket {self.bucket!r} does not exist") from exc
            raise FileStoreUnavailable(plain_reason(exc, self.bucket)) from exc
        except BotoCoreError as exc:
            raise FileStoreUnavailable(plain_reason(exc, self.bucket)) from exc
        with self._answering():
            self._client.put_object(Bucket=self.bucket, Key=probe, Body=b"ready")
            self._client.delete_object(Bucket=self.bucket, Key=probe)


class _ObjectStream(io.RawIOBase):
    """An S3 object's body as a raw stream, its errors the store's."""

    def __init__(self, body: Any, store: S3FileStore) -> None:
        self._body = body
        self._store = store

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        with self._store._answering():
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def _attachment(filename: str) -> str:
    """Content-Disposition as Starlette's FileResponse writes it."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'
