"""The worker: registers every workflow and activity of the engine on one task queue."""

from __future__ import annotations

import asyncio
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
    async with build_worker(client, settings):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
