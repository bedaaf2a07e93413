"""Keeping the shared time-skipping server skipping (docs/testing.md explains why it stops).

The Java test server skips time only while no task is outstanding: it holds a lock for each
workflow task and each activity it has scheduled, released when a worker completes them. A
workflow terminated while one of them is outstanding never releases its lock (the completion is
refused because the workflow is closed), and a workflow left running after its worker stopped takes
one as soon as its next timer fires. In both cases every later `env.sleep` of the server runs in
real time. So a test ends what it started while its worker still runs (`end_quietly`), and the
`time_env` fixture checks, after each test, that nothing was left open and that time still skips.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import timedelta

from temporalio.api.workflowservice.v1 import ListOpenWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment


async def end_quietly(client: Client, workflow_ids: Iterable[str], timeout: float = 30) -> None:
    """Terminate each workflow still running once it is quiet: no workflow task, activity, signal to
    another workflow or child start outstanding. Call it while the worker still runs, so that what
    is in flight completes."""
    for workflow_id in workflow_ids:
        await _end_one(client.get_workflow_handle(workflow_id), timeout)


async def _end_one(handle: WorkflowHandle[object, object], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        if not await _running(handle):
            return
        outstanding = await _outstanding(handle)
        if not outstanding:
            with contextlib.suppress(RPCError):
                await handle.terminate("fin du test")
            return
        if loop.time() > end:
            raise AssertionError(f"{handle.id} n'a jamais été au repos (en cours : {', '.join(outstanding)})")
        await asyncio.sleep(0.05)


async def _outstanding(handle: WorkflowHandle[object, object]) -> list[str]:
    """What the server holds a time-skipping lock for, read from the history: a workflow task not
    yet completed, activities not closed, signals to other workflows and child starts not answered."""
    open_task = False
    pending: dict[int, str] = {}
    async for event in handle.fetch_history_events():
        kind = event.WhichOneof("attributes") or ""
        if kind == "workflow_task_scheduled_event_attributes":
            open_task = True
        elif kind in (
            "workflow_task_completed_event_attributes",
            "workflow_task_failed_event_attributes",
            "workflow_task_timed_out_event_attributes",
        ):
            open_task = False
        elif kind == "activity_task_scheduled_event_attributes":
            pending[event.event_id] = f"activité {event.activity_task_scheduled_event_attributes.activity_type.name}"
        elif kind == "signal_external_workflow_execution_initiated_event_attributes":
            pending[event.event_id] = f"signal {event.signal_external_workflow_execution_initiated_event_attributes.signal_name}"
        elif kind == "start_child_workflow_execution_initiated_event_attributes":
            pending[event.event_id] = "démarrage d'un enfant"
        elif kind in _ANSWERS:
            pending.pop(_answered(getattr(event, kind)), None)
    return (["tâche de workflow"] if open_task else []) + sorted(pending.values())


_ANSWERS = {
    "activity_task_completed_event_attributes",
    "activity_task_failed_event_attributes",
    "activity_task_timed_out_event_attributes",
    "activity_task_canceled_event_attributes",
    "external_workflow_execution_signaled_event_attributes",
    "signal_external_workflow_execution_failed_event_attributes",
    "child_workflow_execution_started_event_attributes",
    "start_child_workflow_execution_failed_event_attributes",
}


def _answered(attributes: object) -> int:
    """The event an activity's close, a signal's outcome or a child's start answers."""
    return int(getattr(attributes, "scheduled_event_id", 0) or getattr(attributes, "initiated_event_id", 0))


async def _running(handle: WorkflowHandle[object, object]) -> bool:
    try:
        return (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    except RPCError:
        return False


async def open_workflows(env: WorkflowEnvironment) -> list[str]:
    """The ids of the workflows still open on the server (the test server has no visibility
    queries, but lists its open executions)."""
    response = await env.client.workflow_service.list_open_workflow_executions(
        ListOpenWorkflowExecutionsRequest(namespace=env.client.namespace, maximum_page_size=1000)
    )
    return sorted(e.execution.workflow_id for e in response.executions)


async def still_skips(env: WorkflowEnvironment, within: float = 10) -> bool:
    """True if the server skips a whole day at once (a blocked one would take a day of real time)."""
    try:
        await asyncio.wait_for(env.sleep(timedelta(days=1)), within)
    except TimeoutError:
        return False
    return True


async def check_left_clean(env: WorkflowEnvironment) -> str | None:
    """After a test: the workflows it left open are terminated (they are idle: no worker runs any
    more, and no time has passed), then the server must still skip time. Returns what went wrong."""
    left = await open_workflows(env)
    for workflow_id in left:
        with contextlib.suppress(RPCError):
            await env.client.get_workflow_handle(workflow_id).terminate("laissé ouvert par le test")
    if await still_skips(env):
        return None
    named = f" ; workflows laissés ouverts : {', '.join(left)}" if left else ""
    return (
        "le serveur de test ne saute plus le temps après ce test : un workflow a été terminé avec une tâche en cours,"
        " ou laissé ouvert sans worker (terminez-les avec tests.time_skipping.end_quietly avant d'arrêter le worker)" + named
    )
