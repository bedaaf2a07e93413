"""What the bench reads of a worker's strain in a history (`bench/common.py`): the workflow tasks'
durations, from either server's histories, the longest task and why tasks failed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import (
    HistoryEvent,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskFailedEventAttributes,
)

from bench.common import longest_task, strain_figures, sum_strain

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _event(event_id: int, kind: EventType.ValueType, seconds: float, **attributes: object) -> HistoryEvent:
    event = HistoryEvent(event_id=event_id, event_type=kind, **attributes)  # type: ignore[arg-type]
    event.event_time.FromDatetime(T0 + timedelta(seconds=seconds))
    return event


def _history() -> list[HistoryEvent]:
    e = EventType
    return [
        _event(1, e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 0),
        _event(2, e.EVENT_TYPE_WORKFLOW_TASK_STARTED, 0.5),
        # Dev server: the completion names its start.
        _event(
            3,
            e.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            1.0,
            workflow_task_completed_event_attributes=WorkflowTaskCompletedEventAttributes(started_event_id=2),
        ),
        _event(4, e.EVENT_TYPE_TIMER_STARTED, 1.0),
        _event(5, e.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 2.0),
        _event(6, e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 2.0),
        _event(7, e.EVENT_TYPE_WORKFLOW_TASK_STARTED, 2.1),
        _event(
            8,
            e.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            2.2,
            workflow_task_failed_event_attributes=WorkflowTaskFailedEventAttributes(
                cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
            ),
        ),
        _event(9, e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 2.2),
        _event(10, e.EVENT_TYPE_WORKFLOW_TASK_STARTED, 2.3),
        _event(11, e.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 3.0),
        # Time-skipping server: no started_event_id; the last task started is its own (5.3 - 2.3 s).
        _event(12, e.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 5.3),
        _event(13, e.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 5.3),
        _event(14, e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 5.3),
    ]


def test_strain_reads_task_durations_from_both_servers_and_the_failure_causes() -> None:
    strain = strain_figures(_history())
    assert strain["longest_workflow_task_s"] == 3.0
    assert strain["workflow_task_failures"] == 1
    assert strain["workflow_task_failure_causes"] == {"WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND": 1}


def test_the_longest_task_says_what_arrived_during_it_and_what_followed() -> None:
    assert longest_task(_history()) == {
        "started_event_id": 10,
        "s": 3.0,
        "during": {"EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED": 1},
        "after": {"EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": 1},
    }
    assert longest_task([]) == {}


def test_the_strain_of_many_histories_adds_counts_and_causes_and_keeps_the_longest() -> None:
    one, other = strain_figures(_history()), strain_figures(_history()[:3])
    total = sum_strain([one, other])
    assert total["longest_workflow_task_s"] == 3.0
    assert total["workflow_task_failures"] == 1
    assert total["workflow_task_failure_causes"] == {"WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND": 1}
    assert sum_strain([one, one])["workflow_task_failure_causes"] == {"WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND": 2}
