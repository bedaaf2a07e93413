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

STACK_TRACE_QUERY = "__stack_trace"


async def end_quietly(client: Client, workflow_ids: Iterable[str], timeout: float = 30) -> None:
    """Terminate each workflow still running once it is quiet: no activity pending and no workflow
    task outstanding. Call it while the worker still runs, so that what is in flight completes."""
    for workflow_id in workflow_ids:
        await _end_one(client.get_workflow_handle(workflow_id), timeout)


async def _end_one(handle: WorkflowHandle[object, object], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        if not await _running(handle):
            return
        if not (await handle.describe()).raw_description.pending_activities:
            # A query waits for the workflow task in progress (the server answers it after), so the
            # workflow is quiet when it returns, unless that task scheduled an activity.
            with contextlib.suppress(RPCError):
                await handle.query(STACK_TRACE_QUERY, rpc_timeout=timedelta(seconds=10))
            described = await handle.describe()
            if described.status is not WorkflowExecutionStatus.RUNNING:
                return
            if not described.raw_description.pending_activities:
                with contextlib.suppress(RPCError):
                    await handle.terminate("fin du test")
                return
        if loop.time() > end:
            pending = [a.activity_type.name for a in (await handle.describe()).raw_description.pending_activities]
            raise AssertionError(f"{handle.id} n'a jamais été au repos (activités en cours : {', '.join(pending)})")
        await asyncio.sleep(0.05)


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
