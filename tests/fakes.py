"""Fake activities for workflow tests: each workflow runs for real on the time-skipping server,
while the side effects are recorded in memory, so a test checks exactly which activities were
called with which inputs. A gate holds one kind of call until the test opens it, which opens the
windows that a slow SMTP relay or a lost worker opens in production, deterministically."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from ami.activities.rgpd import PurgeRequest
from ami.domain.eligibility import assess
from ami.infra.purge import PurgeReport
from ami.models.activity_payloads import (
    CheckEligibilityInput,
    EmailOutcome,
    EmailStatus,
    RecordCampaignInput,
    RecordTransitionInput,
    SendEmailInput,
)
from ami.models.document_requests import MakeDocumentInput
from ami.models.facts import RecordFactInput
from ami.models.values import DocumentRef, Verdict
from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import CandidatureWorkflow


@dataclass
class FakeActivities:
    emails: list[SendEmailInput] = field(default_factory=list)
    documents: list[MakeDocumentInput] = field(default_factory=list)
    transitions: list[RecordTransitionInput] = field(default_factory=list)
    facts: list[RecordFactInput] = field(default_factory=list)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)  # purpose or document kind -> gate
    waiting: dict[str, int] = field(default_factory=dict)  # calls held at each gate
    broken_templates: set[str] = field(default_factory=set)  # purposes whose template cannot render
    refused: set[str] = field(default_factory=set)  # purposes whose recipient the relay refuses (a bounce)
    checks: list[CheckEligibilityInput] = field(default_factory=list)
    campaigns: list[RecordCampaignInput] = field(default_factory=list)
    purges: list[PurgeRequest] = field(default_factory=list)
    # Every call in the order the workflows made it: ("email", purpose), ("document", kind),
    # ("transition", trigger), ("fact", kind), ("eligibility", SIREN/INSEE), ("campaign", id).
    calls: list[tuple[str, str]] = field(default_factory=list)

    def hold(self, name: str) -> None:
        self.gates[name] = asyncio.Event()

    def release(self, name: str) -> None:
        self.gates.pop(name).set()

    async def _gate(self, name: str) -> None:
        gate = self.gates.get(name)
        if gate is not None:
            self.waiting[name] = self.waiting.get(name, 0) + 1
            await gate.wait()

    @activity.defn(name="send_email")
    async def send_email(self, input: SendEmailInput) -> EmailOutcome:
        await self._gate(input.purpose)
        if input.purpose in self.broken_templates:
            raise ApplicationError(f"Modèle « {input.purpose} » illisible.", type="TemplateError", non_retryable=True)
        self.emails.append(input)
        self.calls.append(("email", input.purpose))
        if input.purpose in self.refused:
            return EmailOutcome(message_id=f"<{uuid.uuid4().hex}@test>", status=EmailStatus.BOUNCED, detail="550 destinataire inconnu")
        return EmailOutcome(message_id=f"<{uuid.uuid4().hex}@test>", status=EmailStatus.SENT)

    @activity.defn(name="make_document")
    async def make_document(self, input: MakeDocumentInput) -> DocumentRef:
        await self._gate(input.kind)
        self.documents.append(input)
        self.calls.append(("document", input.kind))
        return DocumentRef(kind=input.kind, filename=f"{input.kind}.pdf", path=f"/dev/null/{input.kind}", sha256="0" * 64)

    @activity.defn(name="record_transition")
    async def record_transition(self, input: RecordTransitionInput) -> None:
        self.transitions.append(input)
        self.calls.append(("transition", input.trigger))

    @activity.defn(name="record_fact")
    async def record_fact(self, input: RecordFactInput) -> None:
        self.facts.append(input)
        self.calls.append(("fact", input.kind))

    @activity.defn(name="record_campaign")
    async def record_campaign(self, input: RecordCampaignInput) -> None:
        self.campaigns.append(input)
        self.calls.append(("campaign", input.campaign_id))

    @activity.defn(name="check_eligibility")
    async def check_eligibility(self, input: CheckEligibilityInput) -> Verdict:
        """The real rules (pure, on the bundled register), recorded."""
        self.checks.append(input)
        self.calls.append(("eligibility", input.form.collectivite.identifier))
        return await asyncio.to_thread(assess, input.form, input.received_at, input.rules)

    @activity.defn(name="purge")
    async def purge(self, input: PurgeRequest) -> PurgeReport:
        self.purges.append(input)
        self.calls.append(("purge", "dry-run" if input.dry_run else "apply"))
        return PurgeReport(at=input.at, dry_run=input.dry_run, files_deleted=0 if input.dry_run else 3)

    # --- what the tests read -------------------------------------------------------------------

    def sent(self, workflow_id: str, purpose: str | None = None) -> list[str]:
        """Purposes of the emails sent by one workflow, in order (or those of one purpose)."""
        return [e.purpose for e in self.emails if e.workflow_id == workflow_id and (purpose is None or e.purpose == purpose)]

    def purposes(self) -> list[str]:
        return [e.purpose for e in self.emails]

    def of(self, kind: str) -> list[str]:
        """The calls of one kind ("email", "document", "transition"...), in order."""
        return [name for k, name in self.calls if k == kind]

    def activities(self) -> list[Callable[..., Any]]:
        """Every fake, to register on a worker under the real activity names."""
        return [
            self.check_eligibility,
            self.send_email,
            self.make_document,
            self.record_transition,
            self.record_fact,
            self.record_campaign,
            self.purge,
        ]


@asynccontextmanager
async def fake_worker(client: Client, fakes: FakeActivities, task_queue: str) -> AsyncIterator[Worker]:
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[CampaignWorkflow, CandidatureWorkflow],
        activities=fakes.activities(),
    )
    async with worker:
        yield worker
