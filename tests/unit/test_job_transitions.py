"""The one table of allowed job status moves."""

from __future__ import annotations

import pytest

from bulkport.schemas.jobs import TRANSITIONS, JobStatus, sources_of

QUEUED = JobStatus.QUEUED
PROCESSING = JobStatus.PROCESSING
READY = JobStatus.READY
FAILED = JobStatus.FAILED
CANCELLED = JobStatus.CANCELLED
FINISHED = [READY, FAILED, CANCELLED]


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(JobStatus)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (QUEUED, PROCESSING),
        (PROCESSING, READY),
        (PROCESSING, FAILED),
        (QUEUED, CANCELLED),
        (PROCESSING, CANCELLED),
        (PROCESSING, PROCESSING),  # a new claim after the previous worker's lease ran out
    ],
)
def test_the_life_of_a_job_is_allowed(source: JobStatus, target: JobStatus) -> None:
    assert target in TRANSITIONS[source]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (QUEUED, READY),
        (QUEUED, QUEUED),
        (PROCESSING, QUEUED),
    ],
)
def test_a_job_cannot_skip_processing_or_go_back_to_the_queue(
    source: JobStatus, target: JobStatus
) -> None:
    assert target not in TRANSITIONS[source]


@pytest.mark.parametrize("status", FINISHED)
def test_a_finished_job_has_no_way_out(status: JobStatus) -> None:
    assert TRANSITIONS[status] == frozenset()


@pytest.mark.parametrize("status", FINISHED)
def test_finished_states_are_finished(status: JobStatus) -> None:
    assert status.finished is True


@pytest.mark.parametrize("status", [QUEUED, PROCESSING])
def test_queued_and_processing_jobs_are_not_finished(status: JobStatus) -> None:
    assert status.finished is False


@pytest.mark.parametrize(
    ("target", "sources"),
    [
        (QUEUED, set()),
        (PROCESSING, {QUEUED, PROCESSING}),
        (READY, {PROCESSING}),
        (FAILED, {QUEUED, PROCESSING}),
        (CANCELLED, {QUEUED, PROCESSING}),
    ],
)
def test_sources_of_lists_the_states_a_job_may_move_from(
    target: JobStatus, sources: set[JobStatus]
) -> None:
    found = sources_of(target)
    assert set(found) == sources
    assert len(found) == len(sources)


@pytest.mark.parametrize("target", list(JobStatus))
def test_no_finished_state_is_a_source(target: JobStatus) -> None:
    assert not set(sources_of(target)) & set(FINISHED)
