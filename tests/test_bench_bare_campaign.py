"""The bare campaign of the floors with messages (`bench/baseline_messages.py`) across its runs: it
continues as new where the engine's does, and what it carries (the candidatures, the scores' journal
numbers, the response date) survives. The quick bench never reaches a second run; a region of a
thousand does. Its own time-skipping server: an update that meets a run's end leaves the shared one
unable to skip time (docs/testing.md)."""

from __future__ import annotations

import uuid

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.baseline_messages import BareCampaign, BareCandidature, BareShape, floor_with_messages


async def test_the_bare_campaign_carries_its_work_across_runs(own_time_env: WorkflowEnvironment) -> None:
    journaled: list[tuple[str, int]] = []

    @activity.defn(name="empty_activity")
    async def recorded(step: int) -> None:
        journaled.append((activity.info().workflow_id, step))

    queue, campaign = f"bare-{uuid.uuid4().hex[:8]}", f"bare-campaign-{uuid.uuid4().hex[:8]}"
    forms = [{"key": f"c{i}", "form": "x" * 50} for i in range(4)]
    marks = [(f"c{i}", member, {"note": i}, "commentaire") for i in range(4) for member in ("a", "b")]
    shape = BareShape(activities=2, local_activities=1, timers=1, updates_per_run=3)
    async with Worker(own_time_env.client, task_queue=queue, workflows=[BareCampaign, BareCandidature], activities=[recorded]):
        out = await floor_with_messages(own_time_env.client, queue, forms, marks, shape, 2, campaign, response_after=1.0)

    assert out["ended"] == 4 and out["failed"] == 0
    # 4 submissions, 8 scores and the deliberation at 3 updates a run: the campaign continued as new.
    assert await _runs(own_time_env, campaign) >= 3
    # One journal row a score, numbered across the runs. An update that met the end of a run is
    # delivered again to the next one, its local activity run again under the same number: a row
    # the journal's "insert or ignore" keeps once, as the engine's idempotent records do.
    scores = [step for workflow_id, step in journaled if workflow_id == campaign]
    assert set(scores) == set(range(1, 9))
    # Each candidature was decided with the response date given at the deliberation, whichever run sent it.
    for form in forms:
        child = own_time_env.client.get_workflow_handle(f"{campaign}-{form['key']}")
        signals = [
            event async for event in child.fetch_history_events() if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        assert [event.workflow_execution_signaled_event_attributes.signal_name for event in signals] == ["decide"]
        respond_at = await own_time_env.client.data_converter.decode(signals[0].workflow_execution_signaled_event_attributes.input.payloads)
        assert respond_at[0] == sum(mark[2]["note"] for mark in marks if mark[0] == form["key"])
        assert respond_at[1] > 0


async def _runs(env: WorkflowEnvironment, workflow_id: str) -> int:
    """How many runs the workflow's chain of continue-as-new holds, from its last run back."""
    runs, run_id = 0, ""
    while True:
        runs += 1
        handle = env.client.get_workflow_handle(workflow_id, run_id=run_id or None)
        started = [event async for event in handle.fetch_history_events()][0]
        run_id = started.workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return runs
