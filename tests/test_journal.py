"""The journal's local activities (ami/workflows/journal.py) against a real store: a write run twice
adds one row, and a store outage delays the row without losing it nor failing the workflow.

A local activity runs inside a workflow task; when that task fails after the activity completed and
before its marker was recorded, the next attempt of the task runs the activity again. The workflow
below makes that happen once, on purpose.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ami.activities.records import RecordActivities
from ami.activities.timeouts import RECORD_TIMEOUT
from ami.infra.store import Store, count_rows
from ami.models.activity_payloads import RecordTransitionInput
from ami.models.tables import TransitionRow
from ami.workflows.journal import write_journal
from tests.journal_history import JOURNAL_PATCH, HistoryActivities, history_activities


class CountingRecords(RecordActivities):
    """The real activity, with what each run answered, and a store that fails its first calls."""

    def __init__(self, store: Store, failures: int = 0) -> None:
        super().__init__(store)
        self.answers: list[bool] = []
        self.failures = failures

    @activity.defn(name="record_transition")
    async def record_transition(self, input: RecordTransitionInput) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("la base ne répond pas")  # what an outage raises: retryable
        added = await super().record_transition(input)
        self.answers.append(added)
        return added


_task_failures = {"left": 0}  # workflow tasks to fail after the journal write (read by the workflow below)


@workflow.defn(sandboxed=False)
class OneJournalRow:
    @workflow.run
    async def run(self, row: RecordTransitionInput) -> None:
        await write_journal(RecordActivities.record_transition, row, "Journal : ∅ → submitted")
        if _task_failures["left"]:
            _task_failures["left"] -= 1
            raise RuntimeError("the workflow task fails after the write")  # not a FailureError: the task is retried


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'ami.db'}")
    store.upgrade()
    try:
        yield store
    finally:
        store.engine.dispose()


def a_row() -> RecordTransitionInput:
    return RecordTransitionInput(
        workflow_id=f"candidature-journal-{uuid.uuid4().hex[:8]}",
        campaign_id="journal",
        receipt_number="JOURNAL-0001",
        sequence=1,
        source=None,
        dest="submitted",
        trigger="submit",
        actor="collectivité",
        at=datetime(2024, 9, 1, 10, 0, tzinfo=UTC),
    )


async def _run(env: WorkflowEnvironment, records: CountingRecords, linger: bool = False) -> HistoryActivities:
    """Run `OneJournalRow` to its end. With `linger`, the worker stays up until the start-to-close
    timeout of the first attempt has passed: the SDK core (temporalio 1.35) leaves the timeout task of
    a failed attempt retried locally running, and when it fires after the worker has gone it prints a
    panic (harmless: a detached task, the activity is long done)."""
    queue = f"journal-{uuid.uuid4().hex[:8]}"
    row = a_row()
    started = time.monotonic()
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[OneJournalRow],
        activities=[records.record_transition],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await env.client.start_workflow(OneJournalRow.run, row, id=row.workflow_id, task_queue=queue)
        await handle.result()
        history: WorkflowHistory = await handle.fetch_history()
        if linger:
            await asyncio.sleep(max(0.0, started + RECORD_TIMEOUT.total_seconds() + 0.5 - time.monotonic()))
    return history_activities(history)


async def test_a_write_run_again_by_a_failed_task_adds_one_row(time_env: WorkflowEnvironment, store: Store) -> None:
    records = CountingRecords(store)
    _task_failures["left"] = 1
    history = await _run(time_env, records)
    assert _task_failures["left"] == 0
    assert records.answers == [True, False]  # the second run found its row
    assert count_rows(store, TransitionRow) == 1
    assert history.local == ["record_transition"] and history.scheduled == [] and JOURNAL_PATCH in history.patches


async def test_a_short_outage_is_retried_inside_the_workflow_task(time_env: WorkflowEnvironment, store: Store) -> None:
    """A failed attempt: 1 s of backoff, under the threshold, retried by the worker alone: one marker."""
    records = CountingRecords(store, failures=1)
    history = await _run(time_env, records, linger=True)
    assert records.answers == [True] and count_rows(store, TransitionRow) == 1
    assert history.local == ["record_transition"] and history.attempts == [2] and history.timers == 0


async def test_a_long_outage_waits_on_timers_and_loses_nothing(
    time_env: WorkflowEnvironment, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the local retry threshold each attempt waits on a durable timer (the time-skipping server
    skips them; the threshold is lowered so that no attempt waits in real time). Seven failed
    attempts, about 90 s of backoff: the row is written, the workflow ends normally. Each attempt
    that gives way to a timer leaves its own marker (the failure and the backoff)."""
    monkeypatch.setattr("ami.workflows.journal.JOURNAL_LOCAL_RETRY_THRESHOLD", timedelta(milliseconds=1))
    records = CountingRecords(store, failures=7)
    history = await _run(time_env, records)
    assert records.answers == [True] and count_rows(store, TransitionRow) == 1
    assert history.local == ["record_transition"] * 8 and history.attempts == list(range(1, 9)) and history.timers == 7
