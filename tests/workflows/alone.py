"""Each workflow alone on the time-skipping server, with fake activities (tests/fakes.py) and a
stand-in for the workflow it talks to (tests/workflows/stand_ins.py), as in Temporal's samples:
a test checks exactly which activities the workflow called, with which inputs, in which order."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.models.campaign_messages import CampaignStatus, CandidatureReport
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature import CandidatureFile
from ami.models.candidature_messages import CandidatureInput, CandidatureStatus, DecisionInput, ScheduleInput
from ami.models.values import Decision, ScheduledSession
from ami.workflows.campaign import CampaignWorkflow, campaign_workflow_id
from ami.workflows.candidature import CandidatureWorkflow, candidature_workflow_id
from tests.fakes import FakeActivities
from tests.scenario import plan_starting, skip_to
from tests.time_skipping import end_quietly
from tests.workflows.protocol_harness import eventually
from tests.workflows.stand_ins import CampaignStandIn, CandidatureStandIn


def a_plan(now: datetime, **changes: object) -> CampaignPlan:
    """The 2024 calendar opening an hour from now, one session, under an id of its own."""
    base = plan_starting(now)
    return base.model_copy(update={"id": f"a-{uuid.uuid4().hex[:8]}", "quorum": 1, "sessions": base.sessions[:1], **changes})


@dataclass
class Dossier:
    """One real `CandidatureWorkflow` beside a stand-in campaign."""

    env: WorkflowEnvironment
    plan: CampaignPlan
    form: CandidatureFile
    fakes: FakeActivities
    handle: WorkflowHandle[CandidatureWorkflow, CandidatureStatus]
    campaign: WorkflowHandle[CampaignStandIn, None]

    async def at(self, instant: datetime) -> None:
        await skip_to(self.env, instant)

    async def status(self) -> CandidatureStatus:
        return await self.handle.query(CandidatureWorkflow.status)

    async def until(self, state: str) -> CandidatureStatus:
        result: CandidatureStatus = await eventually(self.status, lambda s: s.state == state, f"état {state}")
        return result

    async def decide(self, decision: Decision, waitlist_position: int | None = None) -> None:
        await self.handle.signal(
            CandidatureWorkflow.decide, DecisionInput(decision=decision, rank=1, score=4.0, waitlist_position=waitlist_position)
        )

    async def schedule(self, *sessions: ScheduledSession) -> None:
        await self.handle.signal(CandidatureWorkflow.schedule, ScheduleInput(sessions=list(sessions)))

    async def result(self) -> CandidatureStatus:
        """The workflow's result, without letting the server skip time meanwhile: waiting on a
        result unlocks time skipping, and the server would jump to the next timer it knows of (the
        stand-in campaign's execution timeout, ten years ahead), ending the stand-in."""
        with self.env.auto_time_skipping_disabled():
            return await self.handle.result()

    async def reports(self) -> list[tuple[str, int]]:
        reports: list[CandidatureReport] = await self.campaign.query(CampaignStandIn.reports)
        return [(r.state.value, r.sequence) for r in reports]


@asynccontextmanager
async def dossier(env: WorkflowEnvironment, stem: str = "01-henin-carvin", fakes: FakeActivities | None = None) -> AsyncIterator[Dossier]:
    """A candidature received a day after the opening, its campaign a stand-in."""
    fakes = fakes or FakeActivities()
    plan = a_plan(await env.get_current_time())
    queue = f"alone-{plan.id}"
    form = example(stem)
    async with Worker(env.client, task_queue=queue, workflows=[CandidatureWorkflow, CampaignStandIn], activities=fakes.activities()):
        campaign = await env.client.start_workflow(CampaignStandIn.run, id=campaign_workflow_id(plan.id), task_queue=queue)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        handle = await env.client.start_workflow(
            CandidatureWorkflow.run,
            CandidatureInput(
                plan=plan.for_candidature(),
                receipt_number=f"{plan.id.upper()}-0001",
                form=form,
                received_at=await env.get_current_time(),
                search_attributes=False,
            ),
            id=candidature_workflow_id(plan.id, form.collectivite.identifier),
            task_queue=queue,
        )
        run = Dossier(env=env, plan=plan, form=form, fakes=fakes, handle=handle, campaign=campaign)
        try:
            yield run
        finally:
            await end_quietly(env.client, [handle.id])
            await campaign.signal(CampaignStandIn.stop)
            await campaign.result()


@dataclass
class Campaign:
    """One real `CampaignWorkflow` whose candidatures are stand-ins."""

    env: WorkflowEnvironment
    plan: CampaignPlan
    fakes: FakeActivities
    coord: Coordination
    handle: WorkflowHandle[CampaignWorkflow, CampaignStatus]

    async def at(self, instant: datetime) -> None:
        await skip_to(self.env, instant)

    def child(self, key: str) -> WorkflowHandle[CandidatureStandIn, None]:
        return self.env.client.get_workflow_handle_for(CandidatureStandIn.run, candidature_workflow_id(self.plan.id, key))

    async def signals(self, key: str) -> list[str]:
        return [kind for kind, _ in await self.child(key).query(CandidatureStandIn.signals)]

    async def until_signalled(self, key: str, kind: str, count: int = 1) -> list[tuple[str, object]]:
        probe = lambda: self.child(key).query(CandidatureStandIn.signals)  # noqa: E731
        found: list[tuple[str, object]] = await eventually(probe, lambda s: sum(k == kind for k, _ in s) >= count, f"{kind} reçu par {key}")
        return found

    async def until_phase(self, phase: str) -> CampaignStatus:
        result: CampaignStatus = await eventually(self.coord.status, lambda s: s.phase == phase, f"phase {phase}")
        return result


@asynccontextmanager
async def campaign_alone(env: WorkflowEnvironment, fakes: FakeActivities | None = None, **changes: object) -> AsyncIterator[Campaign]:
    fakes = fakes or FakeActivities()
    plan = a_plan(await env.get_current_time(), **changes)
    queue = f"alone-{plan.id}"
    async with Worker(env.client, task_queue=queue, workflows=[CampaignWorkflow, CandidatureStandIn], activities=fakes.activities()):
        handle = await start_campaign(env.client, plan, queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        run = Campaign(env=env, plan=plan, fakes=fakes, coord=coord, handle=handle)
        try:
            yield run
        finally:
            try:
                keys = [e.key for e in (await coord.status()).candidatures]
            except Exception:  # noqa: BLE001 - a campaign already closed answers no query on some servers
                keys = []
            await end_quietly(env.client, [*(candidature_workflow_id(plan.id, k) for k in keys), handle.id])
