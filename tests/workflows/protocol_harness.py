"""A small driver for the campaign protocol tests: the real workflows with fake activities on the
time-skipping server, one campaign per test under a unique id."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.models.campaign_messages import CampaignStatus
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature_messages import CandidatureStatus
from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import candidature_workflow_id
from tests.fakes import FakeActivities, fake_worker
from tests.scenario import marks, plan_starting, skip_to
from tests.time_skipping import end_quietly

ELIGIBLE = ["01-henin-carvin", "02-mel", "03-libercourt", "05-arras", "06-saint-quentinois"]


@dataclass
class Run:
    env: WorkflowEnvironment
    plan: CampaignPlan
    coord: Coordination
    handle: WorkflowHandle[CampaignWorkflow, CampaignStatus]
    fakes: FakeActivities

    def wf(self, key: str) -> str:
        return candidature_workflow_id(self.plan.id, key)

    async def at(self, instant: datetime) -> None:
        await skip_to(self.env, instant)

    async def status(self, key: str) -> CandidatureStatus:
        return await self.coord.candidature_status(key)

    async def submit_all(self, stems: list[str]) -> dict[str, str]:
        """Submit each form; returns receipt number by SIREN/INSEE, in submission order."""
        receipts = {}
        for stem in stems:
            form = example(stem)
            receipts[form.collectivite.identifier] = (await self.coord.submit(form)).receipt_number
        return receipts

    async def until_campaign(self, check: Callable[[CampaignStatus], bool], what: str, timeout: float = 30) -> CampaignStatus:
        result: CampaignStatus = await eventually(self.coord.status, check, what, timeout)
        return result

    async def until_candidature(self, key: str, check: Callable[[CandidatureStatus], bool], what: str) -> CandidatureStatus:
        result: CandidatureStatus = await eventually(lambda: self.coord.candidature_status(key), check, what)
        return result

    async def score_and_deliberate(self, receipts: dict[str, str], order: list[str] | None = None) -> None:
        """Everyone eligible scored by one member (quorum 1), best first in `order`, then deliberation."""
        await self.until_campaign(lambda s: all(e.state != "submitted" for e in s.candidatures), "éligibilité vérifiée")
        awaiting = {e.receipt_number for e in (await self.coord.status()).candidatures if e.state == "eligibility_checked"}
        for n, key in enumerate(order or list(receipts)):
            if receipts[key] in awaiting:
                await self.coord.score("apes", receipts[key], marks(5 - n))
        await self.coord.deliberate()

    async def terminate(self, workflow_id: str) -> None:
        """Terminate a workflow as from the Web UI, once it is quiet: terminated with a task
        outstanding, it would stop the time-skipping server from skipping (tests/time_skipping.py)."""
        await end_quietly(self.env.client, [workflow_id])

    async def execution_status(self, workflow_id: str) -> WorkflowExecutionStatus | None:
        return (await self.env.client.get_workflow_handle(workflow_id).describe()).status


async def eventually(probe: Callable[[], object], check: Callable[[Any], bool], what: str, timeout: float = 30) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = await probe()  # type: ignore[misc]
        if check(value):
            return value
        if loop.time() > end:
            raise AssertionError(f"délai dépassé en attendant : {what} ({value})")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def campaign(
    env: WorkflowEnvironment, fakes: FakeActivities | None = None, continue_as_new_at: int | None = None, **changes: object
) -> AsyncIterator[Run]:
    """A campaign opening an hour from now (real calendar, not compressed), with one session by
    default, quorum 1, and its own task queue; everything it started is terminated at the end."""
    fakes = fakes or FakeActivities()
    now = await env.get_current_time()
    base = plan_starting(now)
    plan = base.model_copy(update={"id": f"p-{uuid.uuid4().hex[:8]}", "quorum": 1, "sessions": base.sessions[:1], **changes})
    queue = f"protocol-{plan.id}"
    async with fake_worker(env.client, fakes, queue):
        handle = await start_campaign(env.client, plan, queue, search_attributes=False, continue_as_new_at=continue_as_new_at)
        run = Run(env=env, plan=plan, coord=Coordination(env.client, plan.id), handle=handle, fakes=fakes)
        try:
            await run.at(plan.opens_at + timedelta(hours=1))
            yield run
        finally:
            await _terminate(run)


async def _terminate(run: Run) -> None:
    """End the candidatures, then the campaign, each once quiet, while the worker still runs."""
    try:
        entries = (await run.coord.status()).candidatures
    except Exception:  # noqa: BLE001 - a campaign already closed answers no query on some servers
        entries = []
    await end_quietly(run.env.client, [*(run.wf(entry.key) for entry in entries), run.handle.id])
