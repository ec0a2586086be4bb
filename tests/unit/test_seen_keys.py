"""Repeated keys in a file: the compact memory of keys must answer as a plain dict would."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkport.tasks import seen_keys
from bulkport.tasks.seen_keys import SeenKeys

Row = tuple[int | None, str | None]


class Reference:
    """The obvious version: every key in a dict, the first row keeps it."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, object], int] = {}

    def claim(self, row: int, record_id: int | None, email: str | None) -> tuple[str, int] | None:
        id_key = ("id", record_id) if record_id is not None else None
        email_key = ("email", email.lower()) if email else None
        first_id = self.rows.get(id_key) if id_key else None
        first_email = self.rows.get(email_key) if email_key else None
        for key in (id_key, email_key):
            if key is not None:
                self.rows.setdefault(key, row)
        if first_id is not None:
            return f"Customer Record ID {record_id}", first_id
        if first_email is not None:
            return f"Email {email}", first_email
        return None

    def forget(self, first: int, last: int) -> None:
        self.rows = {k: r for k, r in self.rows.items() if not first <= r <= last}


rows_strategy = st.lists(
    st.tuples(
        st.none() | st.integers(min_value=1, max_value=40),
        st.none() | st.sampled_from([f"{n}@example.com" for n in "abcdefghijAB"]),
    ),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    batches_of_rows=st.lists(rows_strategy, max_size=12),
    replays=st.lists(st.sampled_from([0, 1, 2]), min_size=12, max_size=12),
)
def test_the_compact_memory_answers_like_a_dict(
    batches_of_rows: list[list[Row]], replays: list[int]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seen_keys, "FREEZE_AT", 4)  # freeze and merge levels all the time
        patch.setattr(seen_keys, "LEVEL_CAP", 12)  # and leave some levels unmerged
        seen, reference = SeenKeys(), Reference()
        starts: list[int] = []  # the first row of each batch planned so far
        row, index = 2, 0
        while index < len(batches_of_rows):
            starts.append(row)
            rows = batches_of_rows[index]
            seen.prefetch(rows)
            for record_id, email in rows:
                assert seen.claim(row, record_id, email) == reference.claim(row, record_id, email)
                row += 1
            back = min(replays[index], len(starts))
            replays[index] = 0
            if back:  # planned again: forget this batch (and the one before), then replay
                first = starts[-back]
                seen.forget(first, row - 1)
                reference.forget(first, row - 1)
                del starts[-back:]
                row, index = first, index - back + 1
            else:
                index += 1


def test_a_key_first_used_long_ago_names_its_first_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_keys, "FREEZE_AT", 100)
    seen = SeenKeys()
    emails = [f"person{i}@example.com" for i in range(1000)]
    _claim_all_once(seen, emails)
    assert len(seen.emails.levels) < 5  # frozen and merged, not a level per freeze
    seen.prefetch([(None, "PERSON7@example.com"), (None, "new@example.com")])
    assert seen.claim(5000, None, "PERSON7@example.com") == ("Email PERSON7@example.com", 9)
    assert seen.claim(5001, None, "new@example.com") is None
    # A key not asked for beforehand (a resumed job's first rows) is still found.
    assert seen.claim(5002, None, "person999@example.com") == (
        "Email person999@example.com",
        1001,
    )


def test_frozen_levels_stay_under_the_cap_and_keys_are_still_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(seen_keys, "FREEZE_AT", 100)
    monkeypatch.setattr(seen_keys, "LEVEL_CAP", 300)
    seen = SeenKeys()
    emails = [f"person{i}@example.com" for i in range(3000)]
    _claim_all_once(seen, emails)
    sizes = [len(keys) for keys, _ in seen.emails.levels]
    assert max(sizes) <= 300 and sum(sizes) + len(seen.emails.recent) == 3000
    again = [(None, email.upper()) for email in emails[::97]]
    seen.prefetch(again)
    for number, (_, email) in enumerate(again):
        first = emails.index(email.lower()) + 2
        assert seen.claim(10_000 + number, None, email) == (f"Email {email}", first)


def _claim_all_once(seen: SeenKeys, emails: list[str]) -> None:
    """Claim each email on its own row (row 2 onwards), in batches of 50: none is a repeat."""
    for start in range(0, len(emails), 50):
        part = [(None, email) for email in emails[start : start + 50]]
        seen.prefetch(part)
        for offset, (_, email) in enumerate(part):
            assert seen.claim(start + offset + 2, None, email) is None
