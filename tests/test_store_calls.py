"""The activities' store calls: the journal on threads of its own, the side effects heartbeating while
they wait for the store; and the worker built with its pacing settings."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from ami.activities.email import EmailActivities
from ami.activities.store_calls import STORE_THREADS, journal_call, store_call
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings
from ami.models.activity_payloads import SendEmailInput
from ami.worker.runner import build_worker
from tests.email_fixtures import french_context


def _released_after(beats_needed: int) -> tuple[threading.Event, Any]:
    """An event set once `beats_needed` heartbeats were seen, and the heartbeat callback counting them."""
    seen = threading.Event()
    beats = 0

    def on_heartbeat(*_details: object) -> None:
        nonlocal beats
        beats += 1
        if beats >= beats_needed:
            seen.set()

    return seen, on_heartbeat


async def test_a_store_call_heartbeats_while_the_store_makes_it_wait() -> None:
    seen, on_heartbeat = _released_after(3)

    def busy_store() -> str:
        assert seen.wait(30), "no heartbeat while the store call waited"
        return "écrit"

    async def side_effect() -> str:
        return await store_call(busy_store)

    env = ActivityEnvironment()
    env.on_heartbeat = on_heartbeat
    assert await asyncio.wait_for(env.run(side_effect), 30) == "écrit"


async def test_a_journal_write_does_not_queue_behind_busy_side_effects() -> None:
    release = threading.Event()
    # Every store thread taken, and one more call waiting for a thread.
    blocked = [asyncio.ensure_future(store_call(release.wait, 30)) for _ in range(STORE_THREADS + 1)]
    try:
        await asyncio.sleep(0.1)
        assert not any(call.done() for call in blocked)
        # A workflow task waits for this one: it runs at once on the journal's threads.
        assert await asyncio.wait_for(journal_call(threading.current_thread), 5) is not threading.current_thread()
        assert (await journal_call(lambda: threading.current_thread().name)).startswith("ami-journal")
    finally:
        release.set()
        assert all(await asyncio.gather(*blocked))


async def test_send_email_heartbeats_while_its_outbox_row_is_written(settings: Settings, sink: EmlWriter) -> None:
    """The store call that used to run outside any heartbeat: a busy store no longer looks like a lost worker."""
    seen, on_heartbeat = _released_after(3)
    activities = EmailActivities(settings)
    put = activities.store.outbox_put

    def slow_put(row: Any) -> Any:
        assert seen.wait(30), "no heartbeat while the outbox row waited for the store"
        return put(row)

    activities.store.outbox_put = slow_put  # type: ignore[method-assign]
    env = ActivityEnvironment()
    env.on_heartbeat = on_heartbeat
    request = SendEmailInput(workflow_id="cand-ami-2024-007", purpose="receipt", to=["mairie@example.org"], context=french_context())
    outcome = await asyncio.wait_for(env.run(activities.send_email, request), 30)
    assert outcome.status == "sent" and len(sink.received) == 1


async def test_a_store_call_sees_its_caller_context() -> None:
    """As with `asyncio.to_thread`: the activity's and the trace's context variables reach the thread."""
    caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller")
    caller.set("activité")
    assert await store_call(caller.get) == "activité"
    assert await journal_call(caller.get) == "activité"


async def test_the_worker_is_built_with_its_pacing_settings(time_env: WorkflowEnvironment, settings: Settings) -> None:
    limits = {"max_concurrent_activities": 7, "max_concurrent_workflow_tasks": 5}
    worker = build_worker(time_env.client, settings.model_copy(update=limits), task_queue="limite")
    assert {key: worker.config()[key] for key in limits} == limits  # type: ignore[literal-required]
    assert Settings.model_fields["max_concurrent_activities"].default == 20
    assert Settings.model_fields["max_concurrent_workflow_tasks"].default == 10
