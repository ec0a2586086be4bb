"""API tokens that end: expiry, revocation, disabled users and last use, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from support import bearer

from bulkport.cli import main
from bulkport.config import get_settings
from bulkport.schemas.accounts import Role
from bulkport.storage import accounts, audit
from bulkport.storage.accounts import User
from bulkport.storage.db import as_utc, now
from bulkport.storage.tables import api_tokens
from bulkport.tasks.context import Context

# --- storage ---------------------------------------------------------------------------------


def token_row(ctx: Context, token_id: int) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).one()


def stored(moment: datetime | None) -> datetime:
    """A stored moment, which must be there, as aware UTC."""
    aware = as_utc(moment)
    assert aware is not None
    return aware


def issue(ctx: Context, user: User, name: str = "laptop", days: int = 90) -> tuple[int, str]:
    with ctx.engine.begin() as conn:
        return accounts.issue_named_token(conn, user.id, name=name, days=days)


def works(ctx: Context, token: str, moment: datetime | None = None) -> bool:
    with ctx.engine.connect() as conn:
        return accounts.authenticate(conn, token, moment or now()) is not None


def test_a_new_token_ends_after_the_days_it_was_given(ctx: Context, admin: User) -> None:
    token_id, token = issue(ctx, admin, days=30)
    row = token_row(ctx, token_id)
    assert row.name == "laptop"
    assert stored(row.expires_at) - stored(row.created_at) == timedelta(days=30)
    assert works(ctx, token, now() + timedelta(days=29))
    assert not works(ctx, token, now() + timedelta(days=30, seconds=1))


def test_an_expired_token_is_refused(ctx: Context, admin: User) -> None:
    token_id, token = issue(ctx, admin)
    assert works(ctx, token)
    with ctx.engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id)
            .values(expires_at=now() - timedelta(seconds=1))
        )
        assert accounts.user_for_token(conn, token) is None
    assert not works(ctx, token)


def test_a_revoked_token_is_refused_and_the_users_other_tokens_still_work(
    ctx: Context, admin: User
) -> None:
    first_id, first = issue(ctx, admin)
    _, second = issue(ctx, admin)
    with ctx.engine.begin() as conn:
        assert accounts.revoke_token(conn, first_id)
        assert not accounts.revoke_token(conn, first_id)  # once is enough
    assert not works(ctx, first)
    assert works(ctx, second)


def test_a_disabled_user_cannot_authenticate_with_any_token(ctx: Context, admin: User) -> None:
    tokens = [issue(ctx, admin)[1], issue(ctx, admin)[1]]
    with ctx.engine.begin() as conn:
        assert accounts.disable_user(conn, admin.id) == 2
        assert accounts.is_disabled(conn, admin.id)
    assert not any(works(ctx, token) for token in tokens)
    # A token issued afterwards does not work either: the user is refused, not only the tokens.
    assert not works(ctx, issue(ctx, admin)[1])


def test_last_use_is_written_at_most_once_a_minute(ctx: Context, admin: User) -> None:
    token_id, token = issue(ctx, admin)
    start = now()
    with ctx.engine.begin() as conn:
        found = accounts.authenticate(conn, token, start)
        assert found is not None and found.use_to_note
        assert found.user == admin and found.user.token_id == token_id
        accounts.note_use(conn, token_id, start)
        accounts.note_use(conn, token_id, start + timedelta(seconds=30))  # too soon: no write
    assert as_utc(token_row(ctx, token_id).last_used_at) == start
    with ctx.engine.connect() as conn:
        later = accounts.authenticate(conn, token, start + timedelta(seconds=59))
        assert later is not None and not later.use_to_note
        minute = accounts.authenticate(conn, token, start + timedelta(seconds=61))
        assert minute is not None and minute.use_to_note


def test_a_users_tokens_are_listed_newest_first_without_secret_or_hash(
    ctx: Context, admin: User
) -> None:
    old_id, old = issue(ctx, admin, name="old")
    new_id, _ = issue(ctx, admin, name="new")
    with ctx.engine.begin() as conn:
        accounts.revoke_token(conn, old_id)
        listed = accounts.tokens_of(conn, admin.id)
    assert [(t.id, t.name, t.revoked_at is not None) for t in listed] == [
        (new_id, "new", False),
        (old_id, "old", True),
    ]
    shown = str([t.model_dump() for t in listed])
    assert old not in shown and accounts.hash_token(old) not in shown


def test_the_migration_gives_existing_tokens_a_name_and_an_expiry_of_the_setting(
    database_url: str, ctx: Context, admin: User
) -> None:
    from alembic import command

    from bulkport.storage.db import alembic_config, migrate

    command.downgrade(alembic_config(database_url), "0005")
    try:
        with ctx.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO api_tokens (user_id, token_hash, created_at) "
                f"VALUES ({admin.id}, '{accounts.hash_token('bp_old')}', '2026-01-01 00:00:00')"
            )
    finally:
        migrate(database_url)
    ctx.engine.dispose()  # SQLite's tables were rebuilt under the pool's connections
    with ctx.engine.connect() as conn:
        row = conn.execute(
            select(api_tokens).where(api_tokens.c.token_hash == accounts.hash_token("bp_old"))
        ).one()
    assert row.name == "API token"
    expected = now() + timedelta(days=get_settings().token_days)
    assert abs(stored(row.expires_at) - expected) < timedelta(minutes=5)
    assert works(ctx, "bp_old")


# --- HTTP API --------------------------------------------------------------------------------


def test_the_token_list_shows_the_callers_own_tokens_only(
    client: TestClient, ctx: Context, auth: dict[str, str], admin: User
) -> None:
    bearer(ctx, "north", "clerk@north.example", Role.STAFF)  # a colleague in the same store
    bearer(ctx, "south", admin.email)  # the same email in another store
    response = client.get("/api/v1/tokens", headers=auth)
    assert response.status_code == 200, response.text
    listed = response.json()
    with ctx.engine.connect() as conn:
        own = [t.id for t in accounts.tokens_of(conn, admin.id)]
    assert [t["id"] for t in listed] == own and len(own) == 1
    assert set(listed[0]) == {
        "id", "name", "created_at", "expires_at", "last_used_at", "revoked_at"
    }  # fmt: skip
    assert auth["Authorization"].split()[1] not in response.text


def test_revoking_the_current_token_makes_its_next_call_401_and_is_audited(
    client: TestClient, ctx: Context, auth: dict[str, str], admin: User
) -> None:
    other = bearer(ctx, "north", admin.email)  # a second token of the same user
    listed = client.get("/api/v1/tokens", headers=auth).json()
    token_id = listed[-1]["id"]  # the older of the two is the one ``auth`` sends
    response = client.delete("/api/v1/tokens/current", headers=auth)
    assert response.status_code == 204
    assert client.get("/api/v1/tokens", headers=auth).status_code == 401
    assert client.get("/api/v1/jobs", headers=auth).status_code == 401
    assert client.get("/api/v1/jobs", headers=other).status_code == 200
    with ctx.engine.connect() as conn:
        (event,) = [e for e in audit.events(conn, admin.store_id) if e["action"] == "token.revoke"]
    assert (event["user_id"], event["detail"]) == (admin.id, {"token_id": token_id})


def test_an_expired_token_answers_401(
    client: TestClient, ctx: Context, auth: dict[str, str]
) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(update(api_tokens).values(expires_at=now() - timedelta(minutes=1)))
    response = client.get("/api/v1/tokens", headers=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_calls_note_the_last_use_once_a_minute_not_on_every_request(
    client: TestClient, ctx: Context, auth: dict[str, str]
) -> None:
    client.get("/api/v1/tokens", headers=auth)
    with ctx.engine.connect() as conn:
        first = conn.execute(select(api_tokens.c.last_used_at)).scalar_one()
    assert first is not None
    listed = client.get("/api/v1/tokens", headers=auth).json()
    with ctx.engine.connect() as conn:
        assert conn.execute(select(api_tokens.c.last_used_at)).scalar_one() == first
    assert listed[0]["last_used_at"] is not None


# --- command line ----------------------------------------------------------------------------


@pytest.fixture
def cli(database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The `bulkport` command on the database under test."""
    monkeypatch.setenv("BULKPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("BULKPORT_HOME", str(tmp_path / "cli-home"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args), catch_exceptions=False)


def created_token(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = run(cli, "users", "create", "--store", "north", *args)
    assert result.exit_code == 0, result.output
    first, token = result.output.strip().splitlines()[-2:]
    return int(first.split("API token ")[1].split(",")[0]), token


def test_users_create_names_the_token_and_audits_it_with_ids_only(
    cli: CliRunner, ctx: Context
) -> None:
    token_id, token = created_token(cli, "--email", "Ann@North.example", "--token-name", "ci")
    assert token.startswith("bp_") and works(ctx, token)
    assert token_row(ctx, token_id).name == "ci"
    with ctx.engine.connect() as conn:
        (user,) = accounts.users_by_email(conn, "ann@north.example")
        (event,) = audit.events(conn, user.store_id)
    assert (event["action"], event["user_id"]) == ("token.create", None)
    assert event["detail"] == {"user_id": user.id, "token_id": token_id, "via": "cli"}
    assert "ann" not in str(event).lower()


def test_users_create_refuses_a_token_name_with_control_characters(cli: CliRunner) -> None:
    result = run(cli, "users", "create", "--store", "north", "--email", "a@b.example",
                 "--token-name", "x\x1b[31m")  # fmt: skip
    assert result.exit_code == 2
    assert "control characters" in result.output


def test_users_tokens_lists_a_users_tokens_and_their_state(cli: CliRunner) -> None:
    first_id, _ = created_token(cli, "--email", "ann@north.example", "--token-name", "laptop")
    second_id, _ = created_token(cli, "--email", "ann@north.example", "--token-name", "ci")
    assert run(cli, "users", "revoke-token", str(first_id)).exit_code == 0
    result = run(cli, "users", "tokens", "ann@north.example")
    assert result.exit_code == 0, result.output
    header, *lines = result.output.strip().splitlines()
    assert header.startswith("id\tname\tcreated")
    assert [line.split("\t")[:2] for line in lines] == [
        [str(second_id), "ci"],
        [str(first_id), "laptop"],
    ]
    assert lines[0].split("\t")[4:] == ["never", "active"]
    assert lines[1].split("\t")[5].startswith("revoked ")


def test_users_revoke_token_ends_that_token_only_and_is_audited(
    cli: CliRunner, ctx: Context
) -> None:
    first_id, first = created_token(cli, "--email", "ann@north.example")
    _, second = created_token(cli, "--email", "ann@north.example")
    result = run(cli, "users", "revoke-token", str(first_id))
    assert (result.exit_code, result.output) == (0, f"Token {first_id} is revoked.\n")
    assert not works(ctx, first) and works(ctx, second)
    assert run(cli, "users", "revoke-token", str(first_id)).exit_code == 1
    assert run(cli, "users", "revoke-token", "999").exit_code == 1
    with ctx.engine.connect() as conn:
        (user,) = accounts.users_by_email(conn, "ann@north.example")
        revoked = [e for e in audit.events(conn, user.store_id) if e["action"] == "token.revoke"]
    assert [e["detail"] for e in revoked] == [
        {"user_id": user.id, "token_id": first_id, "via": "cli"}
    ]


def test_users_disable_ends_every_token_at_once_and_is_audited(
    cli: CliRunner, ctx: Context
) -> None:
    tokens = [created_token(cli, "--email", "ann@north.example")[1] for _ in range(2)]
    _, colleague = created_token(cli, "--email", "bob@north.example")
    result = run(cli, "users", "disable", "ANN@north.example")
    assert result.exit_code == 0, result.output
    assert "2 token(s) revoked" in result.output
    assert not any(works(ctx, token) for token in tokens)
    assert works(ctx, colleague)
    again = run(cli, "users", "create", "--store", "north", "--email", "ann@north.example")
    assert again.exit_code == 1 and "disabled" in again.output
    with ctx.engine.connect() as conn:
        (user,) = accounts.users_by_email(conn, "ann@north.example")
        (event,) = [e for e in audit.events(conn, user.store_id) if e["action"] == "user.disable"]
    assert event["detail"] == {
        "user_id": user.id, "tokens_revoked": 2, "sessions_ended": 0, "via": "cli",
    }  # fmt: skip
    assert "ann" not in str(event).lower()


def test_a_user_named_in_several_stores_needs_the_store(cli: CliRunner) -> None:
    created_token(cli, "--email", "ann@north.example")
    result = run(cli, "users", "create", "--store", "south", "--email", "ann@north.example")
    assert result.exit_code == 0
    ambiguous = run(cli, "users", "disable", "ann@north.example")
    assert ambiguous.exit_code == 1 and "--store" in ambiguous.output
    assert run(cli, "users", "tokens", "ann@north.example", "--store", "south").exit_code == 0
    assert run(cli, "users", "tokens", "nobody@north.example").exit_code == 1
