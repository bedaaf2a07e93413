"""Stand-ins for the engine's activities, for the memory phase of bench/run.py.

Only the workflow worker's memory is measured there; these return the same shapes as the real
activities (the eligibility check is the real one) without rendering PDFs or sending emails.
"""

from __future__ import annotations

from temporalio import activity

from ami.models.activity_payloads import EmailOutcome, EmailStatus, RecordCampaignInput, RecordTransitionInput, SendEmailInput
from ami.models.document_requests import MakeDocumentInput
from ami.models.facts import RecordFactInput
from ami.models.values import DocumentRef


class StubActivities:
    @activity.defn(name="make_document")
    async def make_document(self, input: MakeDocumentInput) -> DocumentRef:
        return DocumentRef(kind=input.kind, filename=f"{input.kind}-{input.receipt_number}.pdf", path="/dev/null", sha256="0" * 64)

    @activity.defn(name="send_email")
    async def send_email(self, input: SendEmailInput) -> EmailOutcome:
        return EmailOutcome(message_id=f"<{input.workflow_id}-{input.purpose}-{input.occurrence}@bench>", status=EmailStatus.SENT)

    @activity.defn(name="record_transition")
    async def record_transition(self, input: RecordTransitionInput) -> bool:
        return True

    @activity.defn(name="record_fact")
    async def record_fact(self, input: RecordFactInput) -> bool:
        return True

    @activity.defn(name="record_campaign")
    async def record_campaign(self, input: RecordCampaignInput) -> None:
        return None


def stub_activities() -> list[object]:
    from ami.activities.eligibility import check_eligibility

    s = StubActivities()
    return [check_eligibility, s.make_document, s.send_email, s.record_transition, s.record_fact, s.record_campaign]


def journal_stubs() -> list[object]:
    """The journal's writes, which the workflows run as local activities: in the workflow's own worker."""
    s = StubActivities()
    return [s.record_transition, s.record_fact]
