"""One batch of an import: parse each row, decide create/update/unchanged/error, then write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection

from bulkport.rules.customer import CLEARED, RECORD_RULE_KEYS, RowParser, record_problems
from bulkport.rules.dates import DateOrder
from bulkport.rules.fields import WRITABLE_KEYS
from bulkport.rules.problems import CellProblem
from bulkport.schemas.jobs import (
    BlankCells,
    ImportMode,
    ImportOptions,
    MatchOn,
    RowErrorView,
    RowOutcome,
)
from bulkport.schemas.mappings import ColumnRule
from bulkport.spreadsheets.mapping import ColumnMapping
from bulkport.spreadsheets.sources import blank_row
from bulkport.storage import customer_writes, undo_data
from bulkport.storage.customer_writes import email_key
from bulkport.tasks.seen_keys import SeenKeys

VALUE_LIMIT = 200
_RULE_KEYS = frozenset(RECORD_RULE_KEYS)


@dataclass
class BatchPlan:
    """What a batch will do, decided before anything is written."""

    creates: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    # For each of ``updates``, in order: the stored value of each field it changes (what an
    # undo restores and a dry run shows as "old").
    previous: list[dict[str, Any]] = field(default_factory=list)
    # The file's row of each of ``creates`` and of ``updates``, in order.
    create_rows: list[int] = field(default_factory=list)
    update_rows: list[int] = field(default_factory=list)
    errors: list[RowErrorView] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    outcomes: dict[int, RowOutcome] = field(default_factory=dict)  # row → what happens to it
    # What planning read: the customers its look-ups found, and whether a record id found
    # none. A plan made before the previous batch was written is stale if that batch changed
    # one of those customers, or created customers while an id was missing.
    read_ids: set[int] = field(default_factory=set)
    missing_id: bool = False
    # Rows with a CLEAR_CELL: row → the fields it empties.
    clears: dict[int, list[str]] = field(default_factory=dict)

    def stale_after(self, earlier: BatchPlan) -> bool:
        """Whether writing ``earlier`` could change what this plan decided."""
        if earlier.creates and self.missing_id:
            return True
        return any(change["id"] in self.read_ids for change in earlier.updates)

    def count(self, outcome: RowOutcome, row: int) -> None:
        """Note a row's outcome and add it to its counter."""
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        self.outcomes[row] = outcome


class _Parsed(NamedTuple):
    row: int
    cells: Sequence[str]
    values: dict[str, Any]


_new_parsed = tuple.__new__


@dataclass
class Prepared:
    """A batch parsed, its keys claimed, not yet looked up or decided."""

    rows: Sequence[tuple[int, list[str]]]
    plan: BatchPlan = field(default_factory=BatchPlan)
    parsed: list[_Parsed] = field(default_factory=list)


@dataclass(frozen=True)
class Found:
    """The stored customers a batch names, by record id and by email key."""

    by_id: dict[int, dict[str, Any]]
    by_email: dict[str, dict[str, Any]]
    missing_id: bool  # a record id named no customer
    # Record ids of customers deleted for privacy (looked up only when an id named none).
    deleted_ids: frozenset[int] = frozenset()


class BatchPlanner:
    """Decides, for each row of a batch, what happens to which customer."""

    def __init__(
        self,
        *,
        store_id: int,
        mapping: ColumnMapping,
        options: ImportOptions,
        date_order: DateOrder,
        complete_rows: bool = True,
    ) -> None:
        """``complete_rows``: every row must have a cell for each column (CSV writes them all;
        a workbook leaves out empty cells at a row's end)."""
        self.store_id = store_id
        self.mapping = mapping
        self.mode = options.mode
        self.match_on = options.match_on
        self.clear_blanks = options.blank_cells is BlankCells.CLEAR
        self.date_order = date_order
        self.parser = RowParser(mapping.columns, date_order, mapping.headers, mapping.fallback)
        # The key columns alone: each field is parsed on its own, so a row's keys read this
        # way are those the whole parse gives.
        keys = {i: key for i, key in mapping.columns.items() if key in ("id", "email")}
        self.key_parser = RowParser(keys, date_order, mapping.headers, mapping.fallback)
        # What a batch must know of existing customers: the fields this file changes and
        # those the rules for a whole customer read.
        self.needed = sorted({*mapping.columns.values(), *RECORD_RULE_KEYS} & set(WRITABLE_KEYS))
        self.seen = SeenKeys()
        # The header's last named column; empty header cells after it are no columns.
        self.width = max((i + 1 for i, h in enumerate(mapping.headers) if h.strip()), default=0)
        self.complete_rows = complete_rows
        # Matching on email alone: the id column is not a key of the row.
        self.ids_are_keys = self.match_on is not MatchOn.EMAIL
        # Asked for every row, so settled once.
        self._on_id = self.match_on is MatchOn.ID
        self._create_only = self.mode is ImportMode.CREATE
        self._update_only = self.mode is ImportMode.UPDATE
        rules = options.column_rules or {}
        # Fields whose stored value an update never changes, or changes only when empty.
        self._keep = frozenset(k for k, rule in rules.items() if rule is ColumnRule.KEEP)
        self._fill_empty = frozenset(
            k for k, rule in rules.items() if rule is ColumnRule.FILL_EMPTY
        )
        self._held = bool(self._keep or self._fill_empty)

    def keys_of(
        self, rows: Sequence[tuple[int, list[str]]]
    ) -> list[tuple[int, int | None, str | None]]:
        """Each row's number with the keys planning it would claim: ``(row, record id,
        email)``, for the rows that have keys to claim."""
        keys = []
        for number, cells in rows:
            if not blank_row(cells) and self._fits(cells):
                values, _ = self.key_parser.parse_texts(cells)
                keys.append((number, self._id_key(values), values.get("email")))
        return keys

    def remember(self, rows: Sequence[tuple[int, list[str]]]) -> None:
        """Note the keys of rows committed before a restart, exactly as planning them did, so
        that a resumed job finds the same repeats as one that never stopped."""
        keys = self.keys_of(rows)
        self.seen.prefetch([(record_id, email) for _, record_id, email in keys])
        for number, record_id, email in keys:
            self.seen.claim(number, record_id, email)

    def _fits(self, cells: list[str]) -> bool:
        """Whether a row has a cell for each column (empty cells at its end say nothing)."""
        filled = len(cells)
        while filled and not cells[filled - 1].strip():
            filled -= 1
        too_few = self.complete_rows and len(cells) < self.width
        return filled <= self.width and not too_few

    def _id_key(self, values: dict[str, Any]) -> int | None:
        """The row's record id when it is a key of the row."""
        return values.get("id") if self.ids_are_keys else None

    def plan(self, conn: Connection, rows: Sequence[tuple[int, list[str]]]) -> BatchPlan:
        """Parse and decide every row of the batch; reads the database, writes nothing."""
        prepared = self.prepare(rows)
        return self.decide(prepared, self.look_up(conn, prepared))

    def prepare(self, rows: Sequence[tuple[int, list[str]]]) -> Prepared:
        """The first part of planning, without the database: parse each row and claim its
        keys (a repeat of an earlier row's key fails here)."""
        prepared = Prepared(rows=rows)
        plan = prepared.plan
        plan.counts["processed"] = len(rows)
        read = []
        for _, cells in rows:
            read.append(self._read(cells))
        ids_are_keys = self.ids_are_keys
        self.seen.prefetch(
            [
                (values.get("id") if ids_are_keys else None, values.get("email"))
                for values, _ in read
                if values
            ]
        )
        checked, parsed = self._checked, prepared.parsed
        for (number, cells), (values, problems) in zip(rows, read, strict=True):
            if values is None:
                if problems:
                    self._fail(plan, number, cells, problems)
                else:
                    plan.count(RowOutcome.SKIPPED, number)
                continue
            item = checked(plan, number, cells, values, problems)
            if item is not None:
                parsed.append(item)
        return prepared

    def look_up(self, conn: Connection, prepared: Prepared) -> Found:
        """The stored customers a prepared batch names. Reads only ``prepared``: it may run
        on another thread while this one prepares the next batch."""
        parsed = prepared.parsed
        ids = {p.values["id"] for p in parsed if self._id_key(p.values) is not None}
        emails = {key for p in parsed if (key := email_key(p.values.get("email")))}
        by_id = customer_writes.by_ids(conn, self.store_id, ids, self.needed)
        by_email = customer_writes.by_email_keys(conn, self.store_id, emails, self.needed)
        missing = ids - by_id.keys()
        deleted = customer_writes.deleted_among(conn, self.store_id, missing) if missing else ()
        return Found(
            by_id=by_id, by_email=by_email, missing_id=bool(missing), deleted_ids=frozenset(deleted)
        )

    def decide(self, prepared: Prepared, found: Found) -> BatchPlan:
        """The last part of planning: what happens to each row, given what is stored."""
        plan = prepared.plan
        plan.read_ids = {*found.by_id, *(row["id"] for row in found.by_email.values())}
        plan.missing_id = found.missing_id
        decide_one, by_id, by_email = self._decide, found.by_id, found.by_email
        deleted = found.deleted_ids
        creates, updates = len(plan.creates), len(plan.updates)
        succeeded = 0
        for item in prepared.parsed:
            succeeded += decide_one(plan, item, by_id, by_email, deleted)
        creates, updates = len(plan.creates) - creates, len(plan.updates) - updates
        counts = plan.counts
        for name, rows in (
            (RowOutcome.CREATED, creates),
            (RowOutcome.UPDATED, updates),
            (RowOutcome.UNCHANGED, succeeded - creates - updates),
            ("succeeded", succeeded),
        ):
            if rows:
                counts[name] = counts.get(name, 0) + rows
        return plan

    def _read(self, cells: list[str]) -> tuple[dict[str, Any] | None, list[CellProblem]]:
        """A row's values and problems; no values for a blank row (no problems either) or a
        row of the wrong width."""
        if blank_row(cells):
            return None, []
        if not self._fits(cells):
            problem = CellProblem(
                field=None,
                code="wrong_cell_count",
                message=f"This row has {len(cells)} cells but the header has {self.width} "
                "columns; check the row for a stray delimiter, quote or line break.",
            )
            return None, [problem]
        return self.parser.parse_texts(cells)

    def _checked(
        self,
        plan: BatchPlan,
        number: int,
        cells: list[str],
        values: dict[str, Any],
        problems: list[CellProblem],
    ) -> _Parsed | None:
        # A row's keys are its own even when another of its cells is wrong: a later row with
        # the same email is a repeat whether or not this one could be imported.
        first = self.seen.claim(number, self._id_key(values), values.get("email"))
        if first is not None:
            what, row = first
            problems.append(
                CellProblem(
                    field="id" if what.startswith("Customer") else "email",
                    code="duplicate_in_file",
                    message=f"{what} is already on row {row} of this file.",
                )
            )
        if problems:
            problems = self._take_clears(plan, number, values, problems)
        if problems:
            self._fail(plan, number, cells, problems)
            return None
        # tuple.__new__ in C: the named tuple's own __new__ is a Python function (2.5 % of the
        # interpreter lock's time in an import, py-spy).
        return _new_parsed(_Parsed, (number, cells, values))

    def _decide(  # noqa: C901, PLR0912  one row's whole decision, in the order the rules apply
        self,
        plan: BatchPlan,
        item: _Parsed,
        by_id: dict[int, dict[str, Any]],
        by_email: dict[str, dict[str, Any]],
        deleted: frozenset[int],
    ) -> bool:
        """Plan one parsed row; True when it succeeds (is created, updated or unchanged)."""
        values = item.values
        record_id = values.get("id") if self.ids_are_keys else None
        email = values.get("email")
        key = email.lower() if email else None  # customer_writes.email_key
        target: dict[str, Any] | None
        if self._on_id and record_id is None and self._update_only:
            return self._fail_one(
                plan,
                item,
                "id",
                "missing_key",
                "This row has no Customer Record ID, and this import matches on it.",
            )
        if record_id is not None:
            target = by_id.get(record_id)
            if target is None and record_id in deleted:
                return self._fail_one(
                    plan,
                    item,
                    "id",
                    "customer_deleted",
                    f"Customer {record_id} was deleted at their request; they will not be "
                    "re-created from this file. Remove this row.",
                )
            if target is None:
                return self._fail_one(
                    plan,
                    item,
                    "id",
                    "not_found",
                    f"No customer has Customer Record ID {record_id} in this store. "
                    "Leave the column empty to add a new customer.",
                )
        elif self._on_id:
            target = None
        else:
            target = by_email.get(key) if key else None
        if self._create_only and target is not None:
            field_name = "id" if record_id is not None else "email"
            return self._fail_one(
                plan,
                item,
                field_name,
                "already_exists",
                f"Customer {target['id']} already exists; this import only adds new customers.",
            )
        if self._update_only and target is None:
            return self._fail_one(
                plan,
                item,
                "email" if key else "id",
                "not_found",
                "No existing customer matches this row's Customer Record ID or email; "
                "this import only changes existing customers.",
            )
        if target is None:
            record = values.copy()
            record.pop("id", None)
            if self._fail_record(plan, item, record):
                return False
            plan.creates.append(record)
            plan.create_rows.append(item.row)
            plan.outcomes[item.row] = RowOutcome.CREATED
            return True
        stored = target.get
        if self.clear_blanks:
            changes = {k: v for k, v in values.items() if v != stored(k)}
        else:
            changes = {k: v for k, v in values.items() if v is not None and v != stored(k)}
        changes.pop("id", None)
        if self._held or plan.clears:
            self._apply_rules(changes, target, plan.clears.get(item.row, ()))
        if key and key != target.get("email_key") and "email" in changes:
            owner = by_email.get(key)
            if owner is not None and owner["id"] != target["id"]:
                return self._fail_one(
                    plan,
                    item,
                    "email",
                    "email_taken",
                    f"Customer {owner['id']} already uses this email.",
                )
        # Only a change to a field the rules read can break them; else the stored customer
        # is judged as it stands.
        merged = {**target, **changes} if changes.keys() & _RULE_KEYS else target
        if self._fail_record(plan, item, merged):
            return False
        if changes:
            plan.updates.append({"id": target["id"], **changes})
            plan.previous.append({k: stored(k) for k in changes})
            plan.update_rows.append(item.row)
            plan.outcomes[item.row] = RowOutcome.UPDATED
        else:
            plan.outcomes[item.row] = RowOutcome.UNCHANGED
        return True

    def _take_clears(
        self,
        plan: BatchPlan,
        number: int,
        values: dict[str, Any],
        problems: list[CellProblem],
    ) -> list[CellProblem]:
        """Turn a row's CLEAR_CELLs into empty values noted on the plan; the problems left.

        Only a field's first column clears it: in a further column the cell stays a problem.
        """
        cleared = [
            key
            for p in problems
            if p.code == CLEARED and p.column is None and (key := p.field) is not None
        ]
        if not cleared:
            return problems
        for key in cleared:
            values[key] = None
        plan.clears[number] = cleared
        return [p for p in problems if p.code != CLEARED or p.column is not None]

    def _apply_rules(
        self, changes: dict[str, Any], target: dict[str, Any], clears: Sequence[str]
    ) -> None:
        """Hold back the changes the column rules forbid, and empty the fields the row clears
        (a field under ``keep`` or ``fill_empty`` is not cleared)."""
        keep, fill_empty = self._keep, self._fill_empty
        for key in clears:
            if target.get(key) is not None and key not in keep and key not in fill_empty:
                changes[key] = None
        for key in [k for k in changes if k in keep]:
            del changes[key]
        for key in [k for k in changes if k in fill_empty and target.get(k) not in (None, "")]:
            del changes[key]

    def _fail_record(self, plan: BatchPlan, item: _Parsed, record: dict[str, Any]) -> bool:
        problems = record_problems(record)
        if problems:
            self._fail(plan, item.row, item.cells, problems)
        return bool(problems)

    def _fail_one(
        self, plan: BatchPlan, item: _Parsed, field_name: str, code: str, message: str
    ) -> bool:
        """Fail the row with one problem; False (it did not succeed)."""
        self._fail(
            plan, item.row, item.cells, [CellProblem(field=field_name, code=code, message=message)]
        )
        return False

    def _fail(
        self, plan: BatchPlan, number: int, cells: Sequence[str], problems: list[CellProblem]
    ) -> None:
        plan.count(RowOutcome.FAILED, number)
        for problem in problems:
            index = problem.column
            if index is None:
                index = self.mapping.index_of(problem.field)
            column = value = None
            if index is not None:
                column = self.mapping.headers[index]
                value = cells[index][:VALUE_LIMIT] if index < len(cells) else None
            plan.errors.append(
                RowErrorView(
                    row=number,
                    column=column,
                    field=problem.field,
                    code=problem.code,
                    message=problem.message,
                    value=value,
                )
            )


def write_plan(conn: Connection, store_id: int, plan: BatchPlan, job_id: str | None = None) -> None:
    """Write the batch's customers (its row errors and counters go with them); with
    ``job_id``, the import's, what an undo needs too (``storage.undo_data``)."""
    customer_writes.insert_many(conn, store_id, plan.creates, job_id)
    customer_writes.update_many(conn, store_id, plan.updates)
    if job_id is not None:
        undo_data.record_updates(conn, store_id, job_id, plan.updates, plan.previous)
