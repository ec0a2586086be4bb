"""What each kind of job is called and how its counts are said: one table for pages and CLI.

A lifecycle job (delete, archive, un-archive, merge) counts a changed customer as ``updated``,
one already so as ``unchanged``, and a refused row as ``failed`` with a code; the words here
turn those counters into "3 customers deleted, 1 not found" (a dry run: "would delete 3
customers"), with the plural right.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bulkport.schemas.jobs import Counts, JobKind

# Row error codes said the same way for every kind: rows naming no customer of the store.
NOT_FOUND_CODES = frozenset({"unknown_customer", "unknown_email"})


@dataclass(frozen=True)
class Noun:
    """A thing counted, in the singular and the plural."""

    one: str
    many: str

    def of(self, n: int) -> str:
        """``n`` of them: "1 customer", "2 customers"."""
        return f"{n:,} {self.one if n == 1 else self.many}"


CUSTOMER = Noun("customer", "customers")
ROW = Noun("row", "rows")
BLANK_ROW = Noun("blank row", "blank rows")
SALE = Noun("sale", "sales")
EVENT = Noun("history entry", "history entries")


@dataclass(frozen=True)
class KindWords:
    """The words of one kind of job."""

    title: str  # what the job is: "Delete list"
    noun: Noun = CUSTOMER  # what one changed row is
    done: str = ""  # after the count: "3 customers deleted"
    verb: str = ""  # a dry run, before the count: "would delete 3 customers"; a button
    already: str = ""  # a row whose customer was already so: "1 already archived"
    list_file: bool = False  # a spreadsheet of customers to change


def _list(title: str, done: str, verb: str, already: str, noun: Noun = CUSTOMER) -> KindWords:
    return KindWords(title, noun, done, verb, already, list_file=True)


WORDS: dict[JobKind, KindWords] = {
    JobKind.IMPORT: KindWords("Import"),
    JobKind.EXPORT: KindWords("Export", done="exported"),
    JobKind.PRIVACY_EXPORT: KindWords("Privacy export"),
    JobKind.UNDO: KindWords("Undo of an import", done="undone", verb="undo"),
    JobKind.DELETE: _list("Delete list", "deleted", "delete", "named twice"),
    JobKind.ARCHIVE: _list("Archive list", "archived", "archive", "already archived"),
    JobKind.UNARCHIVE: _list("Un-archive list", "un-archived", "un-archive", "already active"),
    JobKind.MERGE: _list(
        "Merge list", "merged", "merge", "already merged", Noun("duplicate", "duplicates")
    ),
}
# How a refused row of a lifecycle job is counted, by its code; any other code: "refused".
FAILURES: dict[str, str] = {
    **dict.fromkeys(NOT_FOUND_CODES, "not found"),
    "deleted_customer": "already deleted",
    "repeated_row": "on the list twice",
    "not_previewed": "not among the dry run's changes",
}
REFUSED = "refused"


def words_of(kind: JobKind) -> KindWords:
    """The words of a kind of job."""
    return WORDS[kind]


def title(kind: JobKind, options: Mapping[str, Any]) -> str:
    """What the job is, as a heading or a list says it: "Delete list (dry run)"."""
    dry = " (dry run)" if options.get("dry_run") else ""
    return f"{WORDS[kind].title}{dry}"


def about(kind: JobKind, options: Mapping[str, Any], counts: Counts) -> str:
    """What the job was about, shown beside its title: its file, and for a list its rows; a
    privacy export's customer; an export's format."""
    parts = []
    if options.get("filename"):
        parts.append(str(options["filename"]))
    elif kind is JobKind.PRIVACY_EXPORT and options.get("customer_id") is not None:
        parts.append(f"customer {options['customer_id']}")
    elif options.get("format"):
        parts.append(str(options["format"]).upper())
    if WORDS[kind].list_file and counts.total is not None:
        parts.append(ROW.of(counts.total))
    return " · ".join(parts)


def would(kind: JobKind, n: int) -> str:
    """A dry run's count: "would delete 3 customers"."""
    words = WORDS[kind]
    return f"would {words.verb} {words.noun.of(n)}"


def button(kind: JobKind, n: int) -> str:
    """The button that runs a dry run for real: "Delete 3 customers"."""
    words = WORDS[kind]
    return f"{words.verb.capitalize()} {words.noun.of(n)}"


def list_parts(
    kind: JobKind, counts: Counts, dry_run: bool, failures: Mapping[str, int]
) -> list[str]:
    """A lifecycle job's counts in words, each part once: the changed customers first, then
    the rows that were already so, refused (by reason), blank, or never reached."""
    words = WORDS[kind]
    if dry_run:
        parts = [would(kind, counts.updated)]
    else:
        parts = [f"{words.noun.of(counts.updated)} {words.done}"]
    if counts.unchanged:
        parts.append(f"{counts.unchanged:,} {words.already}")
    # Reasons in the table's order, any other last; each reason once, summed over its codes.
    by_reason = dict.fromkeys([*FAILURES.values(), REFUSED], 0)
    for code, n in failures.items():
        by_reason[FAILURES.get(code, REFUSED)] += n
    parts += [f"{n:,} {reason}" for reason, n in by_reason.items() if n]
    if counts.skipped:
        parts.append(f"{BLANK_ROW.of(counts.skipped)} skipped")
    if counts.unprocessed:
        parts.append(f"{ROW.of(counts.unprocessed)} not reached")
    return parts


def privacy_export_summary(customer_id: object, source: Mapping[str, Any] | None) -> str:
    """ "Privacy export of customer 963: 1 customer, 3 sales, 2 history entries"."""
    held = source or {}
    if "sales" not in held:
        return f"Privacy export of customer {customer_id}"
    parts = [CUSTOMER.of(1), SALE.of(int(held["sales"])), EVENT.of(int(held.get("events", 0)))]
    return f"Privacy export of customer {customer_id}: {', '.join(parts)}"


def summary(
    kind: JobKind,
    options: Mapping[str, Any],
    counts: Counts,
    failures: Mapping[str, int],
    source: Mapping[str, Any] | None = None,
) -> str:
    """What the job did, as one sentence: "3 customers deleted, 1 not found."."""
    if kind is JobKind.PRIVACY_EXPORT:
        return privacy_export_summary(options.get("customer_id"), source) + "."
    if kind is JobKind.IMPORT:
        would_be = "would be " if options.get("dry_run") else ""
        parts = [
            f"{CUSTOMER.of(counts.created)} {would_be}added",
            f"{counts.updated:,} {would_be}updated",
            f"{counts.unchanged:,} unchanged",
            f"{ROW.of(counts.failed)} failed",
        ]
    elif kind is JobKind.EXPORT:
        parts = [f"{CUSTOMER.of(counts.succeeded)} exported"]
    else:
        parts = list_parts(kind, counts, bool(options.get("dry_run")), failures)
    sentence = ", ".join(parts)
    return sentence[:1].upper() + sentence[1:] + "."
