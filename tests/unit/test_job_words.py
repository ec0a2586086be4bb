"""The words each job kind speaks: counts in the singular and the plural, dry runs as "would"."""

from __future__ import annotations

from bulkport.schemas import job_words
from bulkport.schemas.jobs import Counts, JobKind


def test_one_customer_is_said_in_the_singular_and_two_in_the_plural() -> None:
    one = Counts(total=1, processed=1, succeeded=1, updated=1)
    two = Counts(total=2, processed=2, succeeded=2, updated=2)
    assert job_words.summary(JobKind.DELETE, {}, one, {}) == "1 customer deleted."
    assert job_words.summary(JobKind.DELETE, {}, two, {}) == "2 customers deleted."
    assert job_words.summary(JobKind.MERGE, {}, one, {}) == "1 duplicate merged."


def test_a_dry_run_says_what_it_would_do_and_why_rows_would_fail() -> None:
    counts = Counts(total=6, processed=6, succeeded=3, updated=3, failed=2, skipped=1)
    failures = {"unknown_email": 1, "unknown_customer": 0, "invalid_id": 1}
    said = job_words.summary(JobKind.DELETE, {"dry_run": True}, counts, failures)
    assert said == "Would delete 3 customers, 1 not found, 1 refused, 1 blank row skipped."


def test_an_archive_counts_customers_already_archived_and_rows_not_reached() -> None:
    counts = Counts(total=5, processed=3, succeeded=3, updated=2, unchanged=1)
    said = job_words.summary(JobKind.ARCHIVE, {}, counts, {})
    assert said == "2 customers archived, 1 already archived, 2 rows not reached."


def test_a_privacy_export_names_its_customer_and_what_it_holds() -> None:
    counts = Counts(total=6, processed=6, succeeded=6)
    options = {"customer_id": 963}
    said = job_words.summary(JobKind.PRIVACY_EXPORT, options, counts, {}, {"sales": 3, "events": 1})
    assert said == "Privacy export of customer 963: 1 customer, 3 sales, 1 history entry."
    assert job_words.about(JobKind.PRIVACY_EXPORT, options, counts) == "customer 963"


def test_a_list_without_a_file_name_is_told_by_its_rows() -> None:
    counts = Counts(total=1)
    assert job_words.about(JobKind.DELETE, {}, counts) == "1 row"
    assert job_words.about(JobKind.DELETE, {"filename": "gone.csv"}, Counts(total=3)) == (
        "gone.csv · 3 rows"
    )
    assert job_words.title(JobKind.UNARCHIVE, {"dry_run": True}) == "Un-archive list (dry run)"
    assert job_words.button(JobKind.DELETE, 1) == "Delete 1 customer"
