"""Expected failures end a command in one line with exit code 1; defects keep their traceback.

Also the one-line checks `bulkport up` makes before it starts: ports and the home's mode.
"""

from __future__ import annotations

import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from kombu.exceptions import OperationalError as QueueError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError as DatabaseError

from bulkport.cli import Commands, one_line
from bulkport.cli.running import open_home_warning
from bulkport.cli.services import free_port, port_free
from bulkport.config import Settings
from bulkport.errors import PortInUse


def failing(exc: Exception) -> click.Group:
    group = Commands()

    @group.command()
    def boom() -> None:
        raise exc

    return group


@pytest.mark.parametrize(
    ("exc", "starts"),
    [
        (PortInUse("Port 8000 is in use: set BULKPORT_API_PORT."), "Port 8000 is in use"),
        (DatabaseError("SELECT 1", {}, OSError("Connection refused\nmore")),
         "The database cannot be reached"),
        (QueueError("Error 111 connecting. Connection refused."),
         "The job queue cannot be reached"),
        (FileNotFoundError(2, "No such file or directory", "/nowhere/x.csv"),
         "No such file or directory: /nowhere/x.csv"),
    ],
)  # fmt: skip
def test_an_expected_failure_is_one_line_and_exit_code_1(exc: Exception, starts: str) -> None:
    result = CliRunner().invoke(failing(exc), ["boom"])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {starts}")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_setting_that_is_not_valid_is_named_in_one_line() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(api_port="eighty")
    assert one_line(caught.value) == (
        "BULKPORT_API_PORT: Input should be a valid integer, unable to parse string as an integer"
    )


def test_a_defect_is_not_dressed_up_as_an_expected_failure() -> None:
    assert one_line(ValueError("a bug")) is None
    result = CliRunner().invoke(failing(ValueError("a bug")), ["boom"])
    assert isinstance(result.exception, ValueError)


def test_up_warns_in_one_line_when_the_home_is_open_to_others(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    assert open_home_warning(tmp_path) == (
        f"Warning: {tmp_path} is open to other users (mode 755); `chmod 700 {tmp_path}` closes it."
    )
    tmp_path.chmod(0o700)
    assert open_home_warning(tmp_path) is None


def test_a_port_someone_listens_on_is_not_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        assert not port_free("127.0.0.1", taken)
    assert port_free("127.0.0.1", free_port())
