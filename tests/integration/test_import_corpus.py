"""Every file of the corpus imports with the right counts, exact characters and source facts."""

from __future__ import annotations

import pytest
from data.corpus import CASES, PEOPLE, Case
from support import errors_of, import_now, stored_customers

from bulkport.schemas.jobs import JobStatus
from bulkport.storage.accounts import User
from bulkport.tasks.context import Context


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_file_imports_as_the_person_meant(ctx: Context, admin: User, case: Case) -> None:
    job = import_now(ctx, admin, case.build(), filename=case.filename, **case.options)
    assert job.status is JobStatus.READY, job.error
    assert job.counts.created == case.created
    assert errors_of(ctx, job.id) == case.errors
    assert job.source is not None
    for key, value in case.source.items():
        assert job.source[key] == value, key
    stored = stored_customers(ctx, admin)
    if case.expect_people:
        expected = [{k: person[k] for k in case.compare} for person in PEOPLE]
        assert [{k: row[k] for k in case.compare} for row in stored] == expected
    for key, values in case.extra.items():
        assert [row[key] for row in stored] == values
    again = import_now(ctx, admin, case.build(), filename=case.filename, **case.options)
    assert again.counts.unchanged == case.created
