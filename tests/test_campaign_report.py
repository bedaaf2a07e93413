"""The campaign report counts each session as it happened, every figure from the store.

A hand-written campaign in the store (SQLite): eight candidatures through every branch, one that
withdraws after session 2 (counted for sessions 1 and 2, not 3), one that withdraws before the
cycle, a corrected attendance and a corrected mark (the latest record wins). Every figure of the
report is checked against the store, and the region is printed by its name."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter
from pypdf import PdfReader

from ami.activities.documents import DocumentActivities
from ami.infra.campaign_report import campaign_report, state_at
from ami.infra.settings import Settings
from ami.infra.store import Store
from ami.models.campaign_plan import TimeMap
from ami.models.document_requests import MakeDocumentInput
from ami.models.documents import CampaignReportRequest, ReportSession
from ami.models.tables import AttendanceRow, CampaignRow, CandidatureRow, ExperimentRow, FeedbackRow, TransitionRow

PARIS = ZoneInfo("Europe/Paris")
CAMPAIGN = "ami-2024-test"
SHIFT = timedelta(days=730)  # the store holds working instants two years after the published ones
TIME_MAP = TimeMap(origin=datetime(2024, 7, 10, tzinfo=PARIS), anchor=datetime(2024, 7, 10, tzinfo=PARIS) + SHIFT, factor=1.0)
SESSIONS = {
    1: datetime(2024, 10, 15, 14, tzinfo=PARIS),
    2: datetime(2024, 11, 26, 14, tzinfo=PARIS),
    3: datetime(2024, 12, 16, 9, tzinfo=PARIS),
}


def at(month: int, day: int, hour: int = 10, year: int = 2024) -> datetime:
    """A published instant, as the store holds it (working time)."""
    return datetime(year, month, day, hour, tzinfo=PARIS) + SHIFT


SPINE = [("submit", "submitted"), ("declare_eligible", "eligibility_checked"), ("deliberate", "jury_reviewed")]

# key -> (final decision, [(trigger, dest, when)] after the spine)
PATHS: dict[str, tuple[str | None, list[tuple[str, str, datetime]]]] = {
    "A": (
        "selected",
        [("notify", "notified", at(9, 15)), ("confirm_binome", "enrolled", at(9, 16)), ("capitalise", "capitalised", at(1, 20, year=2025))],
    ),
    "B": ("selected", [("notify", "notified", at(9, 15)), ("confirm_binome", "enrolled", at(9, 16)), ("withdraw", "closed", at(12, 1))]),
    "C": (
        "selected",
        [("notify", "notified", at(9, 15)), ("confirm_binome", "enrolled", at(9, 17)), ("capitalise", "capitalised", at(1, 20, year=2025))],
    ),
    "D": (
        "selected",
        [
            ("notify", "notified", at(9, 15)),
            ("promote", "notified", at(9, 20, 12)),
            ("confirm_binome", "enrolled", at(9, 21)),
            ("capitalise", "capitalised", at(1, 20, year=2025)),
        ],
    ),
    "E": ("waitlisted", [("notify", "notified", at(9, 15)), ("close", "closed", at(10, 15, 15))]),
    "F": ("not_selected", [("notify", "notified", at(9, 15)), ("close", "closed", at(9, 15, 11))]),
    "G": (None, []),
    "H": ("selected", [("notify", "notified", at(9, 15)), ("withdraw", "closed", at(9, 20))]),
}
# (key, session, elected, technician, minutes after the session's end): C's absence at session 2 is corrected.
ATTENDANCE = [
    ("A", 1, True, True, 0), ("B", 1, True, True, 0), ("C", 1, False, False, 0), ("D", 1, True, True, 0),
    ("A", 2, True, False, 0), ("B", 2, True, True, 0), ("C", 2, False, False, 0), ("C", 2, True, True, 90), ("D", 2, True, True, 0),
    ("A", 3, True, True, 0), ("C", 3, True, True, 0), ("D", 3, True, True, 0),
]  # fmt: skip
# (key, session, mark, comment, minutes): B's mark at session 2 is corrected from 4 to 5.
FEEDBACK = [
    ("A", 1, 4, "Très concret.", 0), ("B", 1, 5, None, 0), ("D", 1, 3, "Écrire à anne@example.org", 0),
    ("A", 2, 2, None, 0), ("B", 2, 4, None, 0), ("B", 2, 5, "Mieux après réflexion.", 60), ("C", 2, 4, None, 0),
]  # fmt: skip


def wid(key: str) -> str:
    return f"candidature-{CAMPAIGN}-{key}"


def fill(store: Store) -> None:
    store.record_campaign(CampaignRow(id=CAMPAIGN, name="AMI 2024 — essai", region="32", timezone="Europe/Paris", first_seen_at=at(7, 10)))
    for n, (key, (decision, path)) in enumerate(PATHS.items()):
        steps = (
            [(t, d, at(7, 12 + n)) for t, d in SPINE]
            if key != "G"
            else [
                ("submit", "submitted", at(7, 12)),
                ("declare_ineligible", "ineligible", at(7, 12, 11)),
                ("expire", "closed", at(9, 9, 0)),
            ]
        )
        steps += path
        source = None
        for sequence, (trigger, dest, when) in enumerate(steps, start=1):
            known = decision if trigger not in ("submit", "declare_eligible", "declare_ineligible", "deliberate") else None
            shown = "waitlisted" if key == "D" and trigger == "notify" else known
            store.record_transition(
                TransitionRow(workflow_id=wid(key), sequence=sequence, source=source, dest=dest, trigger=trigger, actor="test", at=when),
                CandidatureRow(
                    workflow_id=wid(key),
                    campaign_id=CAMPAIGN,
                    receipt_number=f"AMI-{key}",
                    state=dest,
                    decision=shown,
                    updated_at=when,
                ),
            )
            source = dest
    common = {"campaign_id": CAMPAIGN}
    for key, number, elected, technician, minutes in ATTENDANCE:
        when = SESSIONS[number] + SHIFT + timedelta(hours=4, minutes=minutes)
        store.record_fact(
            AttendanceRow(
                fact_id=f"{key}-att-{number}-{minutes}", workflow_id=wid(key), receipt_number=f"AMI-{key}", at=when,
                session_number=number, elected_present=elected, technician_present=technician, others=0, **common,
            )
        )  # fmt: skip
    for key, number, mark, comment, minutes in FEEDBACK:
        when = SESSIONS[number] + SHIFT + timedelta(hours=5, minutes=minutes)
        store.record_fact(
            FeedbackRow(
                fact_id=f"{key}-fb-{number}-{minutes}", workflow_id=wid(key), receipt_number=f"AMI-{key}", at=when,
                session_number=number, satisfaction=mark, comment=comment, **common,
            )
        )  # fmt: skip
    for key, text, day in (
        ("A", "Une première idée.", 1),
        ("A", "Une SCIC de livraison à vélo.", 2),
        ("C", "Une épicerie coopérative.", 1),
    ):
        store.record_fact(
            ExperimentRow(fact_id=f"{key}-exp-{day}", workflow_id=wid(key), receipt_number=f"AMI-{key}", at=at(1, day, year=2025), experiment=text, **common)
        )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'ami.db'}")
    store.upgrade()
    fill(store)
    return store


def request(**changes: object) -> CampaignReportRequest:
    sessions = [ReportSession(number=n, theme=f"Thème {n}", starts_at=start + SHIFT) for n, start in SESSIONS.items()]
    return CampaignReportRequest(campaign_id=CAMPAIGN, sessions=sessions, time_map=TIME_MAP).model_copy(update=changes)


def test_every_count_from_the_store(store: Store) -> None:
    report = campaign_report(store, request(), "Hauts-de-France")
    assert report.counts == {
        "received": 8,
        "eligible": 7,  # all but G
        "selected": 5,  # A, B, C, H and D, promoted
        "waitlisted": 1,  # E
        "not_selected": 1,  # F
        "promoted": 1,
        "enrolled": 4,  # A, B, C, D: H withdrew before confirming, B in mid-cycle
        "withdrawn": 2,  # B and H
        "capitalised": 3,
        "closed": 5,
    }
    assert report.campaign_name == "AMI 2024 — essai" and report.region_name == "Hauts-de-France"


def test_each_session_as_it_happened(store: Store) -> None:
    sessions = {s.number: s for s in campaign_report(store, request()).sessions}
    # B withdrew after session 2: counted for sessions 1 and 2, not for 3. H withdrew before session 1.
    assert [(s.invited, s.present, s.binome_complete) for s in sessions.values()] == [(4, 3, 3), (4, 4, 3), (3, 3, 3)]
    # The latest mark per collectivité and session: (4 + 5 + 3) / 3, then (2 + 5 + 4) / 3; none at session 3.
    assert [s.mean_satisfaction for s in sessions.values()] == [4.0, 3.67, None]
    # Dated on the published calendar, not on the store's working instants.
    assert [s.date.isoformat() for s in sessions.values()] == ["2024-10-15", "2024-11-26", "2024-12-16"]


def test_the_figures_match_a_direct_reading_of_the_store(store: Store) -> None:
    """The same figures, counted straight from the rows, independently of the report's code."""
    report = campaign_report(store, request())
    rows = store.candidatures(CAMPAIGN)
    assert report.counts["received"] == len(rows)
    assert report.counts["capitalised"] == sum(r.state == "capitalised" for r in rows)
    assert report.counts["closed"] == sum(r.state == "closed" for r in rows)
    assert report.counts["enrolled"] == sum(any(t.dest == "enrolled" for t in store.transitions(r.workflow_id)) for r in rows)
    latest = {(a.workflow_id, a.session_number): a for a in store.facts(AttendanceRow, CAMPAIGN)}
    for session in report.sessions:
        mine = [a for (_, n), a in latest.items() if n == session.number]
        assert session.present == sum(a.elected_present or a.technician_present for a in mine)
        assert session.binome_complete == sum(a.elected_present and a.technician_present for a in mine)
        start = SESSIONS[session.number] + SHIFT
        assert session.invited == sum(state_at(store.transitions(r.workflow_id), start) in ("enrolled", "session_tracked") for r in rows)
    assert report.quotes == ["Très concret.", "Mieux après réflexion.", "Écrire à [courriel]"]
    assert report.experiments == ["Une SCIC de livraison à vélo.", "Une épicerie coopérative."]


def _request(payload: dict[str, object]) -> MakeDocumentInput:
    """The request as it arrives from a history: JSON, told apart by its `kind`."""
    request: MakeDocumentInput = TypeAdapter(MakeDocumentInput).validate_json(json.dumps(payload))
    return request


def test_the_activity_builds_the_report_from_identifiers(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'ami.db'}")
    activities = DocumentActivities(settings, store)
    data = request().model_dump(mode="json", exclude={"campaign_name"})
    ref = asyncio.run(
        activities.make_document(_request({"workflow_id": "campaign-x", "receipt_number": None, "kind": "campaign_report", "data": data}))
    )
    pdf = PdfReader(ref.path)
    text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "Hauts-de-France" in text and "Région 32" not in text
    assert pdf.metadata is not None and "Hauts-de-France" in str(pdf.metadata.subject)
    assert "AMI 2024 — essai" in text  # the name from the store's campaign row
    # The former shape (figures computed by the workflow) still renders, with the region's name.
    old = campaign_report(store, request()).model_dump(mode="json") | {"region_name": "32"}
    ref = asyncio.run(
        activities.make_document(_request({"workflow_id": "campaign-y", "receipt_number": None, "kind": "campaign_report", "data": old}))
    )
    assert "Hauts-de-France" in "\n".join(page.extract_text() or "" for page in PdfReader(ref.path).pages)
