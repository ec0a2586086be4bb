"""One contract for every file store: the local folder and S3 (a local moto server) keep files
the same way, so the jobs and the API cannot tell them apart."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from support import new_bucket, s3_settings

from bulkport.config import Settings
from bulkport.storage.files import FileStore, LocalFileStore, file_store
from bulkport.storage.s3_files import S3FileStore

MB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    """Each kind of store, empty."""
    settings = Settings(home=tmp_path / "home", secret_key="test-secret")
    if request.param == "s3":
        endpoint: str = request.getfixturevalue("s3_endpoint")
        settings = s3_settings(settings, endpoint, new_bucket(endpoint))
    return file_store(settings)


def put(store: FileStore, key: str, data: bytes) -> None:
    with store.writer(key) as out:
        out.write(data)


def read(store: FileStore, key: str) -> bytes:
    with store.open(key) as handle:
        return handle.read()


def leftovers(store: FileStore) -> list[Path]:
    """Local files a store keeps for itself: a passing copy left behind would show here."""
    folder = store.scratch if isinstance(store, S3FileStore) else store.root  # type: ignore[attr-defined]
    return [p for p in Path(folder).rglob("*") if p.is_file()] if Path(folder).exists() else []


def test_the_factory_picks_the_store_the_settings_name(tmp_path: Path, s3_endpoint: str) -> None:
    local = Settings(home=tmp_path / "home")
    assert isinstance(file_store(local), LocalFileStore)
    assert isinstance(file_store(s3_settings(local, s3_endpoint, "b-1")), S3FileStore)


def test_a_written_file_reads_back_whole(store: FileStore) -> None:
    put(store, "jobs/j1/upload", b"first,last\nAnn,Lee\n")
    assert store.exists("jobs/j1/upload")
    assert store.size("jobs/j1/upload") == 19
    assert read(store, "jobs/j1/upload") == b"first,last\nAnn,Lee\n"


def test_a_file_appears_only_once_its_writer_has_finished(store: FileStore) -> None:
    with store.writer("jobs/j1/report.csv") as out:
        out.write(b"half")
        assert not store.exists("jobs/j1/report.csv")
    assert store.exists("jobs/j1/report.csv")


def test_a_failed_write_leaves_nothing(store: FileStore) -> None:
    with pytest.raises(RuntimeError), store.writer("jobs/j1/upload") as out:
        out.write(b"partial")
        raise RuntimeError("the client went away")
    assert not store.exists("jobs/j1/upload")
    assert [p for p in leftovers(store) if p.name.startswith(".")] == []


def test_a_failed_rewrite_keeps_the_previous_file(store: FileStore) -> None:
    put(store, "jobs/j1/export.csv", b"old")
    with pytest.raises(RuntimeError), store.writer("jobs/j1/export.csv") as out:
        out.write(b"new but unfinished")
        raise RuntimeError("stopped")
    assert read(store, "jobs/j1/export.csv") == b"old"


def test_local_gives_a_readable_path_with_the_keys_suffix(store: FileStore) -> None:
    put(store, "jobs/j1/export.xlsx", b"PK\x03\x04 workbook bytes")
    with store.local("jobs/j1/export.xlsx") as path:
        assert path.suffix == ".xlsx"
        assert path.read_bytes() == b"PK\x03\x04 workbook bytes"
    # A passing copy is removed; the local store's own file stays.
    assert path.exists() == isinstance(store, LocalFileStore)


def test_a_missing_file_is_file_not_found_for_every_reader(store: FileStore) -> None:
    assert not store.exists("jobs/none/upload")
    with pytest.raises(FileNotFoundError):
        store.open("jobs/none/upload")
    with pytest.raises(FileNotFoundError), store.local("jobs/none/upload"):
        pass
    with pytest.raises(FileNotFoundError):
        store.size("jobs/none/upload")


def test_copy_to_writes_the_file_outside_the_store(store: FileStore, tmp_path: Path) -> None:
    put(store, "jobs/j1/export.csv", b"a,b\n")
    store.copy_to("jobs/j1/export.csv", tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_bytes() == b"a,b\n"


def test_delete_removes_one_file_and_a_missing_one_is_no_error(store: FileStore) -> None:
    put(store, "jobs/j1/upload", b"x")
    put(store, "jobs/j1/report.csv", b"y")
    store.delete("jobs/j1/upload")
    store.delete("jobs/j1/upload")
    assert not store.exists("jobs/j1/upload")
    assert store.exists("jobs/j1/report.csv")


def test_delete_tree_removes_one_jobs_folder_only(store: FileStore) -> None:
    for key in ("jobs/a/upload", "jobs/a/sub/part.csv", "jobs/ab/upload", "jobs/b/upload"):
        put(store, key, b"x")
    store.delete_tree("jobs/a")
    assert not store.exists("jobs/a/upload") and not store.exists("jobs/a/sub/part.csv")
    assert store.exists("jobs/ab/upload") and store.exists("jobs/b/upload")
    store.delete_tree("jobs/none")  # nothing there: no error


def test_stale_folders_names_only_folders_written_before_the_moment(store: FileStore) -> None:
    put(store, "previews/old/upload", b"x")
    put(store, "previews/new/upload", b"x")
    put(store, "previews/loose-file", b"x")
    import time

    future = time.time() + 3600
    assert store.stale_folders("previews", future) == ["new", "old"]
    assert store.stale_folders("previews", time.time() - 3600) == []
    assert store.stale_folders("nothing-here", future) == []


@pytest.mark.parametrize("key", ["../x", "jobs/../../x", "/etc/passwd", "jobs//x", "jobs/a b"])
def test_a_key_that_could_leave_the_store_is_refused_by_every_call(
    store: FileStore, key: str
) -> None:
    with pytest.raises(ValueError, match="not a file store key"), store.writer(key):
        pass
    for call in (store.open, store.exists, store.size, store.delete, store.delete_tree):
        with pytest.raises(ValueError, match="not a file store key"):
            call(key)
    with pytest.raises(ValueError, match="not a file store key"), store.local(key):
        pass


def test_the_store_says_it_is_writable(store: FileStore) -> None:
    store.check_writable()


def test_a_large_file_goes_in_and_out_in_flat_memory(store: FileStore) -> None:
    """64 MB through the writer and back through ``local``: Python never holds more than a
    small part of it (S3: a multipart upload of 8 MB parts, streamed from a local file)."""
    block = os.urandom(MB)
    tracemalloc.start()
    try:
        with store.writer("jobs/big/upload") as out:
            for _ in range(64):
                out.write(block)
        _, written_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with store.local("jobs/big/upload") as path:
            assert path.stat().st_size == 64 * MB
            with path.open("rb") as handle:
                assert handle.read(MB) == block
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.size("jobs/big/upload") == 64 * MB
    assert written_peak < 16 * MB, f"the write held {written_peak / MB:.1f} MB"
    assert read_peak < 16 * MB, f"the read held {read_peak / MB:.1f} MB"


def test_the_local_store_has_no_download_url(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "files")
    put(store, "jobs/j1/export.csv", b"a")
    assert store.download_url("jobs/j1/export.csv", "customers.csv", "text/csv") is None


@pytest.fixture
def s3_store(tmp_path: Path, s3_endpoint: str) -> Iterator[S3FileStore]:
    settings = s3_settings(Settings(home=tmp_path / "home"), s3_endpoint, new_bucket(s3_endpoint))
    store = file_store(settings.model_copy(update={"s3_link_seconds": 45}))
    assert isinstance(store, S3FileStore)
    yield store


def test_a_presigned_url_downloads_the_file_under_its_name_for_a_short_time(
    s3_store: S3FileStore,
) -> None:
    put(s3_store, "jobs/j1/export.csv", b"first,last\nAnn,Lee\n")
    url = s3_store.download_url("jobs/j1/export.csv", "customers-2026.csv", "text/csv")
    assert url is not None
    answer = httpx.get(url)
    assert answer.status_code == 200
    assert answer.content == b"first,last\nAnn,Lee\n"
    assert answer.headers["content-disposition"] == 'attachment; filename="customers-2026.csv"'
    assert answer.headers["content-type"].startswith("text/csv")
    # Signed for the configured time only (S3 refuses it after; moto does not check).
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["45"]
    assert "X-Amz-Signature" in query


def test_s3_keys_live_under_the_prefix_in_the_bucket(s3_store: S3FileStore) -> None:
    from support import s3_client

    put(s3_store, "jobs/j1/upload", b"x")
    client = s3_client(s3_store._client.meta.endpoint_url)
    listed = client.list_objects_v2(Bucket=s3_store.bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["files/jobs/j1/upload"]


def test_download_links_name_the_public_s3_address_when_one_is_set(
    tmp_path: Path, s3_endpoint: str
) -> None:
    """Servers reach S3 at one address, browsers at another: the link names the browsers'."""
    settings = s3_settings(Settings(home=tmp_path / "home"), s3_endpoint, new_bucket(s3_endpoint))
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    store = file_store(settings.model_copy(update={"s3_public_url": public}))
    put(store, "jobs/j1/export.csv", b"first\nAnn\n")
    url = store.download_url("jobs/j1/export.csv", "customers.csv", "text/csv")
    assert url is not None and url.startswith(public + "/")
    assert httpx.get(url).content == b"first\nAnn\n"
