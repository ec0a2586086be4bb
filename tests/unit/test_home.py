"""Where bulkport keeps its files, and how a command finds the stack `bulkport up` runs there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bulkport import config
from bulkport.cli import stack
from bulkport.cli.services import socket_path
from bulkport.config import Settings, default_home, redis_py_url


def test_the_home_of_a_source_checkout_is_its_var_folder() -> None:
    checkout = Path(__file__).resolve().parents[2]
    assert default_home() == checkout / "var"


def test_outside_a_checkout_the_home_is_the_per_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "CHECKOUT", tmp_path / "site-packages")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_home() == tmp_path / "data" / "bulkport"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "me"))
    assert default_home() == tmp_path / "me" / ".local" / "share" / "bulkport"


def test_the_home_does_not_change_with_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BULKPORT_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    here = Settings()
    monkeypatch.chdir("/")
    assert Settings().home == here.home == default_home()
    assert here.database == f"sqlite:///{default_home() / 'bulkport.db'}"


def test_a_relative_home_is_made_absolute_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(home=Path("var"))
    monkeypatch.chdir("/")
    assert settings.home == tmp_path.resolve() / "var"
    assert settings.files_root == tmp_path.resolve() / "var" / "files"


def test_a_command_of_a_home_uses_the_broker_of_the_stack_running_there(tmp_path: Path) -> None:
    url = "redis+socket:///somewhere/redis.sock"
    stack.record(tmp_path, stack.Stack(os.getpid(), url, "http://a", "http://f"))
    assert (tmp_path / stack.RECORD).stat().st_mode & 0o777 == 0o600
    assert Settings(home=tmp_path, broker_url="redis://elsewhere:6379/0").broker_url == url
    assert Settings(home=tmp_path / "other", broker_url="redis://x:1/0").broker_url == (
        "redis://x:1/0"
    )


def test_the_record_of_a_stack_whose_process_is_gone_is_ignored(tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    gone = int(ended.stdout)
    stack.record(tmp_path, stack.Stack(gone, "redis://x:1/0", "http://a", "http://f"))
    assert stack.running(tmp_path) is None
    assert Settings(home=tmp_path, broker_url="redis://mine:1/0").broker_url == "redis://mine:1/0"
    stack.forget(tmp_path, os.getpid())
    assert not (tmp_path / stack.RECORD).exists()


def test_a_stack_forgets_only_its_own_record(tmp_path: Path) -> None:
    parent = os.getppid()
    stack.record(tmp_path, stack.Stack(parent, "redis://x:1/0", "http://a", "http://f"))
    stack.forget(tmp_path, os.getpid())
    assert stack.running(tmp_path) is not None


def test_the_socket_lives_in_the_home_while_its_path_fits(tmp_path: Path) -> None:
    path, made = socket_path(tmp_path / "redis")
    assert (path, made) == (tmp_path / "redis" / "redis.sock", None)


def test_a_home_too_deep_for_a_socket_gets_a_private_folder_under_tmp(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "redis"
    path, made = socket_path(deep)
    try:
        assert made is not None and path.parent == made
        assert len(os.fsencode(path)) <= 107
        assert made.stat().st_mode & 0o777 == 0o700
    finally:
        if made is not None:
            made.rmdir()


def test_celery_socket_urls_are_spelled_for_redis_py() -> None:
    assert redis_py_url("redis+socket:///h/redis.sock") == "unix:///h/redis.sock"
    assert redis_py_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
