"""Keys the rows of a file already used, kept small enough for a million-row import."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

# Keys remembered in a plain dict before they are frozen into sorted arrays.
FREEZE_AT = 65_536
# Frozen levels are not merged beyond this many keys: a merge briefly needs several times
# the memory of what it merges, and one merge into a million keys was most of what an import
# grew by from 100,000 rows to 1,000,000 (40 of 45 MB). A batch then searches a few more
# levels (eight at two million rows), each in microseconds.
LEVEL_CAP = 262_144


class _KeyIndex:
    """Keys (64-bit ints) and the row that first used each, in memory that stays small.

    The newest keys sit in a dict; every ``FREEZE_AT`` of them are frozen into a pair of
    sorted numpy arrays (a 64-bit key and a 32-bit row: 12 bytes a key instead of ~110 in a
    dict), merged log-structured up to ``LEVEL_CAP`` keys so that there are only a few. A
    batch asks for all its keys at once (``prefetch``): one vectorised search per frozen
    level, then a dict lookup per row.
    """

    def __init__(self) -> None:
        self.recent: dict[int, int] = {}
        self.levels: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]] = []
        self.fetched: dict[int, int] = {}
        self.asked: set[int] = set()

    def prefetch(self, keys: list[int]) -> None:
        """Look up a batch's keys in the frozen levels (before ``first_row`` asks for them)."""
        if len(self.recent) >= FREEZE_AT:
            self._freeze()
        self.fetched, self.asked = {}, set(keys)
        if not self.levels or not keys:
            return
        wanted = np.fromiter(self.asked, dtype=np.int64, count=len(self.asked))
        for level_keys, level_rows in self.levels:
            at = np.minimum(np.searchsorted(level_keys, wanted), len(level_keys) - 1)
            hit = level_keys[at] == wanted
            found = zip(wanted[hit].tolist(), level_rows[at[hit]].tolist(), strict=True)
            self.fetched.update(found)

    def first_row(self, key: int) -> int | None:
        """The row that first used ``key``, if any row did."""
        row = self.recent.get(key)
        if row is None and self.levels:
            if key in self.asked:
                return self.fetched.get(key)
            for level_keys, level_rows in self.levels:  # not prefetched: search it alone
                at = int(np.searchsorted(level_keys, key))
                if at < len(level_keys) and level_keys[at] == key:
                    return int(level_rows[at])
        return row

    def forget(self, first_row: int, last_row: int) -> None:
        """Drop the keys rows ``first_row``–``last_row`` added."""
        for key in [k for k, row in self.recent.items() if first_row <= row <= last_row]:
            del self.recent[key]
        levels = []
        for level_keys, level_rows in self.levels:
            keep = (level_rows < first_row) | (level_rows > last_row)
            if keep.any():  # an emptied level is dropped: a search needs one key at least
                levels.append((level_keys[keep], level_rows[keep]))
        self.levels = levels
        self.fetched, self.asked = {}, set()

    def _freeze(self) -> None:
        keys = np.fromiter(self.recent, dtype=np.int64, count=len(self.recent))
        rows = np.fromiter(self.recent.values(), dtype=np.int32, count=len(self.recent))
        order = np.argsort(keys)
        self.levels.append((keys[order], rows[order]))
        self.recent = {}
        # Merge while the newest level is at least half its elder's size: log2(n) levels,
        # and no level past the cap.
        while (
            len(self.levels) > 1
            and len(self.levels[-2][0]) <= 2 * len(self.levels[-1][0])
            and len(self.levels[-2][0]) + len(self.levels[-1][0]) <= LEVEL_CAP
        ):
            (k2, r2), (k1, r1) = self.levels.pop(), self.levels.pop()
            keys, rows = np.concatenate((k1, k2)), np.concatenate((r1, r2))
            order = np.argsort(keys)
            self.levels.append((keys[order], rows[order]))


def _email_key(email: str) -> int:
    """How ``SeenKeys`` holds an email: the hash of its folded text."""
    return hash(email.lower())


class SeenKeys:
    """Keys already used by earlier rows of the file: a repeat is an error on the later row.

    Emails are kept as their 64-bit hashes, not as text, in a ``_KeyIndex``: a million rows
    cost about 12 MB, not the ~160 MB of a dict. Two different addresses sharing a hash (about
    one chance in 10^13 for a million-row file) would show as a repeat; the message names the
    row, so the person can see it is not.
    """

    def __init__(self) -> None:
        self.ids = _KeyIndex()
        self.emails = _KeyIndex()

    def prefetch(self, keys: Sequence[tuple[int | None, str | None]]) -> None:
        """Look up a batch's ``(record id, email)`` keys at once, before ``claim`` each."""
        self.ids.prefetch([record_id for record_id, _ in keys if record_id is not None])
        self.emails.prefetch([_email_key(email) for _, email in keys if email])

    def claim(self, row: int, record_id: int | None, email: str | None) -> tuple[str, int] | None:
        """Where this row's key was first used, if anywhere; else the row's keys become its
        own (the first row to use a key keeps it)."""
        first_id = first_email = hashed = None
        if email:
            hashed = _email_key(email)
            first_email = self.emails.first_row(hashed)
        if record_id is not None:
            first_id = self.ids.first_row(record_id)
            if first_id is None:
                self.ids.recent[record_id] = row
        if hashed is not None and first_email is None:
            self.emails.recent[hashed] = row
        if first_id is not None:
            return f"Customer Record ID {record_id}", first_id
        if first_email is not None:
            return f"Email {email}", first_email
        return None

    def prime(self, ids: Sequence[tuple[int, int]], emails: Sequence[tuple[str, int]]) -> None:
        """Note keys that rows before this part of the file used first (a chunk of a split
        import): ``(record id, row)`` and ``(email, row)`` pairs."""
        for record_id, row in ids:
            self.ids.recent[record_id] = row
        for email, row in emails:
            self.emails.recent[_email_key(email)] = row

    def first_rows(self, record_id: int | None, email: str | None) -> tuple[int | None, int | None]:
        """Where a row's record id and email were first used, if anywhere (nothing claimed)."""
        first_id = None if record_id is None else self.ids.first_row(record_id)
        first_email = self.emails.first_row(_email_key(email)) if email else None
        return first_id, first_email

    def forget(self, first_row: int, last_row: int) -> None:
        """Forget the keys rows ``first_row``–``last_row`` added: their batch is planned again.

        Scans every key, but only on that rare retry.
        """
        self.ids.forget(first_row, last_row)
        self.emails.forget(first_row, last_row)
