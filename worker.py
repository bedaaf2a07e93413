"""The worker: registers every workflow and activity of the engine on one task queue."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
from collections.abc import Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.documents import DocumentActivities
from activities.eligibility import check_eligibility
from activities.email import EmailActivities
from activities.records import RecordActivities
from ami.settings import Settings, get_settings
from ami.store import store_for
from workflows.campaign import CampaignWorkflow
from workflows.candidature import CandidatureWorkflow

WORKFLOWS: Sequence[type] = (CampaignWorkflow, CandidatureWorkflow)


def activities_for(settings: Settings) -> list[Any]:
    store = store_for(settings.resolved_database_url())
    return [
        check_eligibility,
        EmailActivities(settings, store).send_email,
        RecordActivities(store).record_transition,
        RecordActivities(store).record_fact,
        RecordActivities(store).record_campaign,
        DocumentActivities(settings, store).make_document,
    ]


def workflow_options(settings: Settings) -> dict[str, Any]:
    """The options of every worker that runs the engine's workflows (the bench's memory run too)."""
    return {"workflows": list(WORKFLOWS), "max_cached_workflows": settings.max_cached_workflows}


def build_worker(client: Client, settings: Settings | None = None, task_queue: str | None = None) -> Worker:
    settings = settings or get_settings()
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        activities=activities_for(settings),
        **workflow_options(settings),
    )


def release_memory() -> None:
    """Collect the reference cycles that evicted workflows leave behind, and hand glibc's free heap
    pages back to the system (a no-op where there is no glibc)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def release_memory_every(seconds: float) -> None:
    """With a bounded workflow cache, this is what makes the worker's memory follow its active work:
    measured, 127 KiB per parked candidature without it, 67 KiB with it (docs/performance.md)."""
    while True:
        await asyncio.sleep(seconds)
        release_memory()


async def main() -> None:
    from ami.client import connect
    from ami.store import SchemaError, check_schema

    settings = get_settings()
    try:
        # A worker on an out-of-date schema would fail every record: refuse to start, say the fix.
        check_schema(settings.resolved_database_url())
    except SchemaError as error:
        raise SystemExit(str(error)) from None
    client = await connect(settings)
    seconds = settings.memory_release_seconds
    async with build_worker(client, settings):
        releasing = asyncio.create_task(release_memory_every(seconds)) if seconds else None
        try:
            await asyncio.Event().wait()
        finally:
            if releasing is not None:
                releasing.cancel()


if __name__ == "__main__":
    asyncio.run(main())
