"""`PurgeWorkflow` alone: one activity, given the instant the retention periods are measured at."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ami.workflows.purge import PurgeInput, PurgeWorkflow
from tests.fakes import FakeActivities


async def test_the_purge_measures_at_its_own_clock_or_the_given_instant(time_env: WorkflowEnvironment) -> None:
    fakes = FakeActivities()
    queue = f"purge-{uuid.uuid4().hex[:8]}"
    given = datetime(2031, 1, 15, 3, 0, tzinfo=UTC)
    async with Worker(time_env.client, task_queue=queue, workflows=[PurgeWorkflow], activities=fakes.activities()):
        before = await time_env.get_current_time()
        scheduled = await time_env.client.execute_workflow(PurgeWorkflow.run, PurgeInput(), id=f"{queue}-1", task_queue=queue)
        dry = await time_env.client.execute_workflow(
            PurgeWorkflow.run, PurgeInput(dry_run=True, at=given), id=f"{queue}-2", task_queue=queue
        )
    assert fakes.calls == [("purge", "apply"), ("purge", "dry-run")]
    first, second = fakes.purges
    assert first.at >= before and not first.dry_run  # the schedule's runs: the workflow's clock
    assert second.at == given and second.dry_run
    assert (scheduled.at, scheduled.files_deleted) == (first.at, 3)  # the activity's report is the result
    assert (dry.at, dry.dry_run, dry.files_deleted) == (given, True, 0)
