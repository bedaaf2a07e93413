"""Coordinator operations on a running server: the one code path behind the CLI, the demo and the
tests. Each is a workflow update (validated by the workflow) or a query."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from ami.models import candidature_messages as messages
from ami.models import search_attributes as sa
from ami.models.campaign_messages import (
    CampaignStatus,
    CampaignSummary,
    ConflictInput,
    DeliberateInput,
    DeliberationResult,
    Override,
    ReviewAck,
    ScoreInput,
    SetSessionInput,
    SubmitInput,
    SubmitResult,
)
from ami.models.campaign_plan import CampaignPlan
from ami.models.campaign_state import CampaignInput
from ami.models.candidature import CandidatureFile, Person
from ami.models.values import ScheduledSession
from ami.workflows.campaign import CampaignWorkflow, campaign_workflow_id
from ami.workflows.campaign_updates import RENEWING
from ami.workflows.candidature import CandidatureWorkflow, candidature_workflow_id

Arg = TypeVar("Arg")
Result = TypeVar("Result")


class Refused(Exception):
    """The workflow refused the action; `str()` is the workflow's French message."""


def _cause(error: WorkflowUpdateFailedError) -> str:
    cause = error.cause
    return getattr(cause, "message", None) or str(cause)


async def start_campaign(
    client: Client, plan: CampaignPlan, task_queue: str, search_attributes: bool = True, continue_as_new_at: int | None = None
) -> WorkflowHandle[CampaignWorkflow, CampaignStatus]:
    return await client.start_workflow(
        CampaignWorkflow.run,
        CampaignInput(plan=plan, search_attributes=search_attributes, continue_as_new_at=continue_as_new_at),
        id=campaign_workflow_id(plan.id),
        task_queue=task_queue,
        search_attributes=(
            TypedSearchAttributes([SearchAttributePair(sa.CAMPAIGN, plan.id), SearchAttributePair(sa.STATE, "before_opening")])
            if search_attributes
            else None
        ),
        static_summary=f"Campagne {plan.name}",
        static_details=f"Région {plan.region}, {len(plan.sessions)} séances, capacité {plan.capacity}.",
    )


_TRANSIENT = (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.UNAVAILABLE)


class Coordination:
    """Everything a coordinator does on one campaign."""

    def __init__(self, client: Client, campaign_id: str) -> None:
        self.client = client
        self.campaign_id = campaign_id
        self.campaign = client.get_workflow_handle_for(CampaignWorkflow.run, campaign_workflow_id(campaign_id))

    def candidature(self, identifier: str) -> WorkflowHandle[CandidatureWorkflow, messages.CandidatureStatus]:
        return self.client.get_workflow_handle_for(CandidatureWorkflow.run, candidature_workflow_id(self.campaign_id, identifier))

    async def _campaign_update(self, update: UpdateMethodMultiParam[[CampaignWorkflow, Arg], Result], arg: Arg) -> Result:
        """The campaign refuses updates for the instant it continues as new: those are retried."""
        delay = 0.1
        update_id = str(uuid.uuid4())  # the same id on every attempt: the server applies it once per run
        for _ in range(60):
            try:
                return await self.campaign.execute_update(update, arg, id=update_id)
            except WorkflowUpdateFailedError as error:
                if getattr(error.cause, "type", None) != RENEWING:
                    raise Refused(_cause(error)) from None
            except RPCError as error:
                # Not applied, try again: the campaign's workflow task failed for an instant (a
                # continue-as-new colliding with incoming reports is retried by the server:
                # FAILED_PRECONDITION), the run was closing to continue as new (RESOURCE_EXHAUSTED,
                # cause BUSY_WORKFLOW), or the update was aborted with its workflow task (UNAVAILABLE).
                if error.status not in _TRANSIENT:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise Refused("La campagne est occupée à se renouveler depuis plus d'une minute : réessayez plus tard.")

    async def _candidature_update(
        self, identifier: str, update: UpdateMethodMultiParam[[CandidatureWorkflow, Arg], Result], arg: Arg
    ) -> Result:
        try:
            return await self.candidature(identifier).execute_update(update, arg)
        except WorkflowUpdateFailedError as error:
            raise Refused(_cause(error)) from None

    async def submit(self, form: CandidatureFile, received_at: datetime | None = None) -> SubmitResult:
        return await self._campaign_update(CampaignWorkflow.submit, SubmitInput(form=form, received_at=received_at))

    async def score(self, member_id: str, receipt: str, scores: dict[str, int], comment: str | None = None) -> ReviewAck:
        return await self._campaign_update(
            CampaignWorkflow.score, ScoreInput(member_id=member_id, receipt_number=receipt, scores=scores, comment=comment)
        )

    async def declare_conflict(self, member_id: str, receipt: str, reason: str | None = None) -> ReviewAck:
        return await self._campaign_update(
            CampaignWorkflow.declare_conflict, ConflictInput(member_id=member_id, receipt_number=receipt, reason=reason)
        )

    async def deliberate(self, actor: str = "coordination", overrides: list[Override] | None = None) -> DeliberationResult:
        return await self._campaign_update(CampaignWorkflow.deliberate, DeliberateInput(actor=actor, overrides=overrides or []))

    async def set_session(self, number: int, starts_at: datetime, place: str, theme: str | None = None) -> ScheduledSession:
        return await self._campaign_update(
            CampaignWorkflow.set_session, SetSessionInput(number=number, starts_at=starts_at, place=place, theme=theme)
        )

    async def status(self) -> CampaignStatus:
        return await self.campaign.query(CampaignWorkflow.status)

    async def summary(self) -> CampaignSummary:
        """The campaign in figures (a few hundred bytes): for polling, where `status` lists everything."""
        return await self.campaign.query(CampaignWorkflow.summary)

    async def candidature_status(self, identifier: str) -> messages.CandidatureStatus:
        return await self.candidature(identifier).query(CandidatureWorkflow.status)

    async def confirm_binome(self, identifier: str, political: Person, technical: Person) -> messages.CandidatureStatus:
        return await self._candidature_update(
            identifier,
            CandidatureWorkflow.confirm_binome,
            messages.ConfirmBinomeInput(political_referent=political, technical_referent=technical),
        )

    async def forget_contact(self, identifier: str, email: str) -> messages.ForgetContactResult:
        return await self._candidature_update(identifier, CandidatureWorkflow.forget_contact, messages.ForgetContactInput(email=email))

    async def withdraw(self, identifier: str, reason: str) -> messages.CandidatureStatus:
        return await self._candidature_update(identifier, CandidatureWorkflow.withdraw, messages.WithdrawInput(reason=reason))

    async def record_attendance(
        self, identifier: str, session: int, elected: bool, technician: bool, others: int = 0
    ) -> messages.CandidatureStatus:
        return await self._candidature_update(
            identifier,
            CandidatureWorkflow.record_attendance,
            messages.RecordAttendanceInput(session_number=session, elected_present=elected, technician_present=technician, others=others),
        )

    async def record_feedback(
        self, identifier: str, session: int, satisfaction: int, comment: str | None = None
    ) -> messages.CandidatureStatus:
        return await self._candidature_update(
            identifier,
            CandidatureWorkflow.record_feedback,
            messages.RecordFeedbackInput(session_number=session, satisfaction=satisfaction, comment=comment),
        )

    async def record_experiment(self, identifier: str, experiment: str) -> messages.CandidatureStatus:
        return await self._candidature_update(
            identifier, CandidatureWorkflow.record_experiment, messages.RecordExperimentInput(experiment=experiment)
        )
