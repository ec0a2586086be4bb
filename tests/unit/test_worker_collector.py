"""A worker process tunes the garbage collector for bulk jobs when it starts."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bulkport.worker import app


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_a_new_worker_process_freezes_what_it_started_with_and_collects_less_often() -> None:
    before = gc.get_threshold()
    app._fresh_connections()
    assert gc.get_freeze_count() > 0  # start-up objects are out of the collector's sight
    assert gc.get_threshold() == (app.GC_YOUNG_THRESHOLD, before[1], before[2])
