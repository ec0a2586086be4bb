"""Saved column mappings: a store names a mapping once and reuses it on later imports."""

from __future__ import annotations

from collections.abc import Mapping

from bulkport.errors import Invalid, NotFound
from bulkport.schemas.mappings import ColumnRule
from bulkport.spreadsheets.mapping import IGNORE_WORDS, field_for, resolve_override
from bulkport.storage import mappings
from bulkport.storage.accounts import User
from bulkport.storage.mappings import SavedMapping
from bulkport.tasks.context import Context


def list_mappings(ctx: Context, user: User) -> list[SavedMapping]:
    """The store's saved mappings by name."""
    with ctx.uow.reading() as conn:
        return mappings.list_all(conn, user.store_id)


def find_mapping(ctx: Context, user: User, name: str) -> SavedMapping | None:
    """The store's mapping of this name, if it has one."""
    with ctx.uow.reading() as conn:
        return mappings.get(conn, user.store_id, name)


def get_mapping(ctx: Context, user: User, name: str) -> SavedMapping:
    """The store's mapping of this name."""
    saved = find_mapping(ctx, user, name)
    if saved is None:
        raise NotFound(f"No mapping is named {name!r}.")
    return saved


def save_mapping(
    ctx: Context,
    user: User,
    name: str,
    targets: Mapping[str, str | None],
    *,
    check_targets: bool = True,
    rules: Mapping[str, ColumnRule] | None = None,
) -> tuple[bool, SavedMapping]:
    """Create or replace a saved mapping (header → field label or key; "" or None ignores the
    column) with its column rules (field key → rule); whether it was created, and it as saved.
    With ``check_targets`` its targets must be fields an import can write; the mapping screen
    saves what was chosen, which its import checks when it starts."""
    chosen = {header: target or "" for header, target in targets.items()}
    if check_targets:
        try:
            resolve_override(chosen)
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    columns = {
        header: None if target.strip().lower() in IGNORE_WORDS else field_for(target)
        for header, target in chosen.items()
    }
    with ctx.uow.writing() as conn:
        kept_rules = {key: ColumnRule(rule).value for key, rule in (rules or {}).items()}
        created = mappings.save(conn, user.store_id, name, columns, user.id, kept_rules)
        saved = mappings.get(conn, user.store_id, name)
    assert saved is not None
    return created, saved


def delete_mapping(ctx: Context, user: User, name: str) -> None:
    """Forget a saved mapping (jobs that used it keep their own copy)."""
    with ctx.uow.writing() as conn:
        if not mappings.remove(conn, user.store_id, name):
            raise NotFound(f"No mapping is named {name!r}.")
