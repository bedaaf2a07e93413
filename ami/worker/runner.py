"""The worker: registers every workflow and activity of the engine on one task queue."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import signal
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from ami.activities.documents import DocumentActivities
from ami.activities.eligibility import check_eligibility
from ami.activities.email import EmailActivities
from ami.activities.records import RecordActivities
from ami.activities.rgpd import RgpdActivities
from ami.infra.documents.pool import DocumentPool
from ami.infra.mail.render import TemplateCheckError, check_templates
from ami.infra.settings import Settings, get_settings
from ami.infra.store import store_for
from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import CandidatureWorkflow
from ami.workflows.purge import PurgeWorkflow

WORKFLOWS: Sequence[type] = (CampaignWorkflow, CandidatureWorkflow, PurgeWorkflow)

# Worker Versioning (docs/deployment.md, "Deploying a new version"): both workflows live for months
# (a campaign nine, a candidature until its capitalisation), longer than any build stays deployed, so
# neither can be pinned to the build that started it. AUTO_UPGRADE moves each running workflow to the
# current build at its next workflow task; what makes that safe is the release check (`ami replay`)
# and `workflow.patched`. A short workflow added later may choose PINNED in its own @workflow.defn.
VERSIONING_BEHAVIOR = VersioningBehavior.AUTO_UPGRADE

# A workflow's next task waits this long for the worker that ran its last one (and holds its state
# in cache) before any worker takes it: a worker that died delays its workflows by this much, not by
# the SDK's default of 10 s (docs/reliability.md). Under a burst (a deliberation waking a thousand
# candidatures) 10 s was not faster, and in its one run slower: docs/performance.md, "Third round".
STICKY_TIMEOUT = timedelta(seconds=3)


def activities_for(settings: Settings, documents: DocumentPool | None = None) -> list[Any]:
    """The engine's activities; the PDFs are rendered in `documents`, else in a thread of this process."""
    store = store_for(settings.resolved_database_url())
    return [
        check_eligibility,
        EmailActivities(settings, store).send_email,
        RecordActivities(store).record_transition,
        RecordActivities(store).record_fact,
        RecordActivities(store).record_campaign,
        DocumentActivities(settings, store, documents).make_document,
        RgpdActivities(settings, store).purge,
    ]


def pacing_options(settings: Settings) -> dict[str, Any]:
    """How much one worker takes at once, and how long a workflow waits for the worker that caches it:
    the options of every worker that runs the engine's tasks (the chaos workers too)."""
    return {
        "sticky_queue_schedule_to_start_timeout": STICKY_TIMEOUT,
        "max_concurrent_activities": settings.max_concurrent_activities,
        "max_concurrent_workflow_tasks": settings.max_concurrent_workflow_tasks,
    }


def deployment_config(settings: Settings) -> WorkerDeploymentConfig | None:
    """A versioned worker when AMI_DEPLOYMENT_NAME is set (then AMI_BUILD_ID is required), else None."""
    if not settings.deployment_name:
        return None
    if not settings.build_id:
        raise ValueError("AMI_DEPLOYMENT_NAME est défini sans AMI_BUILD_ID : indiquez la version de cette image (par exemple 2025.03.1).")
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=settings.deployment_name, build_id=settings.build_id),
        use_worker_versioning=True,
        default_versioning_behavior=VERSIONING_BEHAVIOR,
    )


def workflow_options(settings: Settings) -> dict[str, Any]:
    """The options of every worker that runs the engine's workflows (the bench's memory run too)."""
    return {"workflows": list(WORKFLOWS), "max_cached_workflows": settings.max_cached_workflows}


class EngineWorker(Worker):
    """A worker that owns the processes rendering its documents (AMI_DOCUMENT_PROCESSES): they start
    with the worker (`run`, hence `async with`) and stop once it has shut down."""

    def __init__(self, client: Client, *, documents: DocumentPool, **options: Any) -> None:
        super().__init__(client, **options)
        self.documents = documents

    async def run(self) -> None:
        self.documents.start()
        try:
            await super().run()
        finally:
            await asyncio.to_thread(self.documents.shutdown)  # after the activities: no render is left


def build_worker(client: Client, settings: Settings | None = None, task_queue: str | None = None) -> EngineWorker:
    """The worker, once every email template renders (overrides included): TemplateCheckError otherwise."""
    settings = settings or get_settings()
    check_templates(settings.templates_dir)
    documents = DocumentPool(settings.document_processes)
    return EngineWorker(
        client,
        documents=documents,
        task_queue=task_queue or settings.task_queue,
        activities=activities_for(settings, documents),
        deployment_config=deployment_config(settings),
        **pacing_options(settings),
        **workflow_options(settings),
    )


async def serve(client: Client, settings: Settings) -> None:
    """Run a worker with what production adds around it: the health endpoints (AMI_HEALTH_ADDRESS)
    and the business gauges (AMI_METRICS_SCAN_SECONDS, on the client's runtime meter). Returns when
    the worker stops (a fatal error is raised)."""
    from contextlib import AsyncExitStack

    from ami.worker.health import health_server, readiness
    from ami.worker.monitor import run_monitor

    worker = build_worker(client, settings)
    running = asyncio.create_task(worker.run())
    # `docker compose stop`, a rolling update: stop polling and return, instead of dying mid-task.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(worker.shutdown()))
    meter = client.service_client.config.runtime.metric_meter if client.service_client.config.runtime else None
    async with AsyncExitStack() as stack:
        if settings.health_address:
            await stack.enter_async_context(
                health_server(settings.health_address, lambda: not running.done(), lambda: readiness(client, settings))
            )
        if meter is not None and settings.metrics_scan_seconds > 0:
            monitor = asyncio.create_task(
                run_monitor(client, store_for(settings.resolved_database_url()), meter, settings.metrics_scan_seconds)
            )
            stack.callback(monitor.cancel)
        if settings.memory_release_seconds:
            releasing = asyncio.create_task(release_memory_every(settings.memory_release_seconds))
            stack.callback(releasing.cancel)
        await running


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
    from ami.infra.client import connect
    from ami.infra.connection import ConnectionConfigError
    from ami.infra.store import SchemaError, check_schema
    from ami.infra.telemetry import runtime_for
    from ami.infra.tracing import TracingUnavailableError

    settings = get_settings()
    try:
        # A worker on an out-of-date schema would fail every record: refuse to start, say the fix.
        check_schema(settings.resolved_database_url())
        check_templates(settings.templates_dir)  # before connecting: the fix is the coordinator's
    except (SchemaError, TemplateCheckError) as error:
        raise SystemExit(str(error)) from None
    try:
        deployment_config(settings)  # a deployment name without build id: refuse before connecting
        client = await connect(settings, runtime=runtime_for(settings.metrics_address))
    except (ConnectionConfigError, TracingUnavailableError, ValueError) as error:
        raise SystemExit(str(error)) from None
    await serve(client, settings)


if __name__ == "__main__":
    asyncio.run(main())
