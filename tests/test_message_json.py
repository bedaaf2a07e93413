"""The typed seams keep the JSON the saved histories hold: enums travel as their strings, a fact or
a document request is told apart by its `kind`, and the shapes an older worker wrote still parse."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import TypeAdapter
from temporalio.contrib.pydantic import pydantic_data_converter

from ami.app.examples import example
from ami.models.activity_payloads import EmailOutcome, EmailStatus
from ami.models.campaign_messages import CampaignEntry
from ami.models.candidature_messages import TransitionRecord
from ami.models.document_requests import CampaignReportDocumentRequest, MakeDocumentInput, SummaryRequest, document_request
from ami.models.documents import CampaignReportInput, CampaignReportRequest, SummaryDocInput
from ami.models.facts import AttendanceFact, RecordFactInput, ReviewData, ReviewFact
from ami.models.lifecycle import State
from ami.models.values import Attendance, DocumentKind

AT = datetime(2024, 10, 14, 14, tzinfo=UTC)


def _round_trip(value: object, kind: object) -> tuple[dict[str, object], object]:
    """Through Temporal's converter, as a payload in a history."""
    converter = pydantic_data_converter.payload_converter
    [payload] = converter.to_payloads([value])
    [back] = converter.from_payloads([payload], [kind])  # type: ignore[list-item]
    return json.loads(payload.data), back


def test_a_transition_without_source_is_an_empty_string_in_json_and_none_in_python() -> None:
    record = TransitionRecord(sequence=1, source=None, dest=State.SUBMITTED, trigger="submit", actor="collectivité", at=AT)
    data, back = _round_trip(record, TransitionRecord)
    assert data["source"] == "" and data["dest"] == "submitted"
    assert isinstance(back, TransitionRecord) and back.source is None and back.dest is State.SUBMITTED


def test_enums_travel_as_their_strings() -> None:
    data, back = _round_trip(EmailOutcome(message_id="<m@x>", status=EmailStatus.BOUNCED), EmailOutcome)
    assert data["status"] == "bounced" and isinstance(back, EmailOutcome) and back.status is EmailStatus.BOUNCED
    entry = CampaignEntry(receipt_number="AMI-2024-0001", key="246200299", state=State.INELIGIBLE, received_at=AT)
    assert json.loads(entry.model_dump_json())["state"] == "ineligible"


def test_a_fact_keeps_kind_beside_its_data_and_an_older_workers_fact_still_parses() -> None:
    common = {"workflow_id": "w", "campaign_id": "c", "receipt_number": "R-1", "fact_id": "f", "at": AT}
    review = ReviewFact(**common, data=ReviewData(member_id="apes", receipt_number="R-1", scores={"m": 5}, replaces=True))
    data, back = _round_trip(review, RecordFactInput)
    assert data["kind"] == "review" and data["data"]["member_id"] == "apes" and back == review
    # Written by the former worker: `kind` and `at` repeated inside the data, ignored.
    older = {**common, "kind": "review", "data": {"kind": "score", "at": "2024-10-14T16:00:00+02:00", **review.data.model_dump()}}
    assert TypeAdapter(RecordFactInput).validate_python(older) == review
    attendance = Attendance(session_number=1, elected_present=True, technician_present=False, others=0, recorded_at=AT)
    assert isinstance(TypeAdapter(RecordFactInput).validate_python({**common, "kind": "attendance", "data": attendance}), AttendanceFact)


def test_a_document_request_is_told_apart_by_its_kind() -> None:
    form = example("01-henin-carvin")
    summary = SummaryDocInput(receipt_number="R-1", campaign_name="AMI", received_at=AT, form=form, timezone="Indian/Reunion")
    request = document_request("w", "R-1", summary)
    assert isinstance(request, SummaryRequest) and request.kind is DocumentKind.SUMMARY
    data, back = _round_trip(request, MakeDocumentInput)
    assert data["kind"] == "summary" and back == request
    report = document_request("campaign-x", None, CampaignReportRequest(campaign_id="x"))
    assert isinstance(report, CampaignReportDocumentRequest) and report.kind is DocumentKind.CAMPAIGN_REPORT
    # The campaign report's former shape, figures included, is still accepted.
    former = {"campaign_name": "AMI", "region_name": "32", "counts": {"received": 3}, "sessions": []}
    parsed = TypeAdapter(MakeDocumentInput).validate_python(
        {"workflow_id": "c", "receipt_number": None, "kind": "campaign_report", "data": former}
    )
    assert isinstance(parsed, CampaignReportDocumentRequest) and isinstance(parsed.data, CampaignReportInput)


def test_a_candidature_started_with_the_former_campaign_workflow_id_still_loads() -> None:
    from ami.models.campaign import load_campaign
    from ami.models.candidature_messages import CandidatureInput

    plan = load_campaign("ami-2024").plan().for_candidature()
    started = CandidatureInput(plan=plan, receipt_number="AMI-2024-0001", form=example("01-henin-carvin"), received_at=AT)
    former = {**started.model_dump(mode="json"), "campaign_workflow_id": "campaign-ami-2024"}
    assert CandidatureInput.model_validate_json(json.dumps(former)) == started
