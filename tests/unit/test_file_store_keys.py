"""The local file store: keys stay inside its folder and files appear only when complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulkport.storage.files import LocalFileStore


class Interrupted(Exception):
    """Raised inside a writer block to stop it half way."""


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files")


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "../../etc/passwd",
        "..",
        "jobs/../../x",
        "jobs/..",
        "/etc/passwd",
        "/tmp/x",
        "jobs/a\x00b",
        "\x00",
        "",
        "jobs//x",
        "jobs/",
        "..\\x",
        "jobs\\..\\..\\x",
        "~/x",
    ],
)
def test_a_key_that_could_leave_the_store_is_refused(store: LocalFileStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a file store key"):
        store.path(key)


@pytest.mark.parametrize("key", ["uploads/job-1/upload.csv", "reports/J_2/report.v2.csv", "x"])
def test_a_generated_key_lives_under_the_root(store: LocalFileStore, key: str) -> None:
    path = store.path(key)
    assert path.is_relative_to(store.root)
    assert path == store.root / key


def test_a_refused_key_writes_nothing_anywhere(tmp_path: Path, store: LocalFileStore) -> None:
    with pytest.raises(ValueError), store.writer("../escaped"):
        pass
    assert files_under(tmp_path) == []


def test_a_written_file_appears_only_when_complete(store: LocalFileStore) -> None:
    key = "uploads/job-1/upload.csv"
    with store.writer(key) as out:
        out.write(b"First Name\r\n")
        assert not store.exists(key)
        assert not store.path(key).exists()
        out.write(b"Ann\r\n")
    assert store.exists(key)
    assert store.size(key) == len(b"First Name\r\nAnn\r\n")
    with store.open(key) as stored:
        assert stored.read() == b"First Name\r\nAnn\r\n"
    assert files_under(store.root) == ["uploads/job-1/upload.csv"]


def test_a_failed_write_leaves_nothing_behind(store: LocalFileStore) -> None:
    key = "uploads/job-1/upload.csv"
    with pytest.raises(Interrupted), store.writer(key) as out:
        out.write(b"half a file")
        raise Interrupted
    assert not store.exists(key)
    assert files_under(store.root) == []


def test_a_failed_rewrite_keeps_the_previous_file(store: LocalFileStore) -> None:
    key = "reports/job-1/report.csv"
    with store.writer(key) as out:
        out.write(b"old")
    with pytest.raises(Interrupted), store.writer(key) as out:
        out.write(b"new but unfinished")
        raise Interrupted
    with store.open(key) as stored:
        assert stored.read() == b"old"
    assert files_under(store.root) == ["reports/job-1/report.csv"]


def test_delete_tree_removes_a_jobs_folder_only(store: LocalFileStore) -> None:
    for key in ("jobs/a/upload.csv", "jobs/a/report.csv", "jobs/b/upload.csv"):
        with store.writer(key) as out:
            out.write(b"x")
    store.delete_tree("jobs/a")
    assert files_under(store.root) == ["jobs/b/upload.csv"]
