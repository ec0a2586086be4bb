"""Jobs wait in the queue their kind and input size choose; `up` keeps a worker for short jobs."""

from __future__ import annotations

import sys

from bulkport.cli.services import up_workers
from bulkport.schemas.jobs import JobKind
from bulkport.worker.app import QUEUES, celery_config, queue_for

LIMIT = 1_000


def test_an_import_above_the_small_job_size_waits_in_the_large_queue() -> None:
    assert queue_for(JobKind.IMPORT, LIMIT + 1, LIMIT) == "large"


def test_an_import_up_to_the_small_job_size_waits_in_the_small_queue() -> None:
    assert queue_for(JobKind.IMPORT, LIMIT, LIMIT) == "small"
    assert queue_for(JobKind.IMPORT, 0, LIMIT) == "small"


def test_an_export_waits_in_its_own_queue_whatever_its_size() -> None:
    assert queue_for(JobKind.EXPORT, 0, LIMIT) == "exports"
    assert queue_for(JobKind.EXPORT, LIMIT * 10, LIMIT) == "exports"


def test_a_worker_started_without_queues_reads_all_three() -> None:
    from bulkport.config import Settings

    config = celery_config(Settings())
    assert [queue.name for queue in config["task_queues"]] == list(QUEUES)
    assert config["task_default_queue"] == "small"
    assert config["worker_prefetch_multiplier"] == 1 and config["task_acks_late"] is True


def test_up_keeps_one_worker_process_that_never_takes_a_large_import() -> None:
    for concurrency in (1, 2, 4):
        plans = up_workers(concurrency)
        short = [plan for plan in plans if "large" not in plan.queues]
        assert len(short) == 1 and short[0].concurrency == 1
        assert set(short[0].queues) == {"small", "exports"}
        readers_of_large = sum(plan.concurrency for plan in plans if "large" in plan.queues)
        assert readers_of_large == max(1, concurrency - 1)
        assert sum(plan.beat for plan in plans) == 1  # one schedule, one reaper


def test_up_names_its_workers_apart_so_two_on_one_host_do_not_collide() -> None:
    argvs = [plan.argv([sys.executable, "-m", "bulkport"]) for plan in up_workers(2)]
    names = [argv[argv.index("--name") + 1] for argv in argvs]
    assert len(set(names)) == len(names) and all(name.endswith("@%h") for name in names)
