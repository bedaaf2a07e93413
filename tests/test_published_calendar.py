"""A compressed campaign (the demo) reads in its published calendar: emails, .ics and
documents say « 15 octobre 2024 à 14 h 00 », never the instant of the run; the demo marks them."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar

from ami.activities.email import EmailActivities
from ami.infra.mail import calendar as ics
from ami.infra.mail.render import DEMO_NOTE, render
from ami.infra.settings import Settings
from ami.models.activity_payloads import SendEmailInput
from ami.models.campaign import load_campaign
from ami.models.campaign_plan import CampaignPlan
from tests.email_fixtures import french_context

PARIS = ZoneInfo("Europe/Paris")
RUN = datetime(2026, 11, 30, 9, 48, 12, 345678, tzinfo=UTC)  # « today »: never to be read anywhere
DAY_SECONDS = 0.4


def demo_plan(anchor: datetime = RUN) -> CampaignPlan:
    return load_campaign("ami-2024").plan().compressed(anchor, DAY_SECONDS / 86400)


def working(plan: CampaignPlan, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> str:
    assert plan.time_map is not None
    return plan.time_map.to_plan(datetime(year, month, day, hour, minute, tzinfo=PARIS)).isoformat()


def demo_context(plan: CampaignPlan) -> dict[str, object]:
    session = {
        "number": 1,
        "theme": "L'ESS et les infrastructures de coopération",
        "place": "Lille",
        "starts_at": working(plan, 2024, 10, 15, 14),
        "ends_at": working(plan, 2024, 10, 15, 18),
        "sequence": 0,
    }
    return french_context(
        campaign=plan.reader_context(),
        received_at=working(plan, 2024, 7, 12, 10),
        deadline_at=plan.deadline_at.isoformat(),
        response_at=plan.response_at.isoformat(),
        confirmation_deadline=working(plan, 2024, 9, 25, 9),
        session=session,
    )


def test_a_compressed_plan_gives_back_its_published_instants() -> None:
    plan = demo_plan()
    published = load_campaign("ami-2024").plan()
    assert plan.deadline_at.year == 2026  # the plan runs today...
    # ...and reads in 2024, to the minute: a working microsecond is a fifth of a published second.
    assert plan.published(plan.deadline_at) == published.deadline_at
    assert plan.published(plan.response_at) == published.response_at
    for compressed, original in zip(plan.sessions, published.sessions, strict=True):
        assert plan.published(compressed.window_start) == original.window_start
    assert plan.time_map is not None
    session = plan.time_map.to_plan(datetime(2024, 10, 15, 14, tzinfo=PARIS))
    assert plan.published(session) == datetime(2024, 10, 15, 14, tzinfo=PARIS)
    assert plan.time_map.to_published(session) != datetime(2024, 10, 15, 14, tzinfo=PARIS)  # why rounding is needed
    # A plan that is not shifted reads as it runs.
    assert published.published(published.response_at) == published.response_at


def test_every_email_of_a_demo_is_dated_in_the_published_calendar() -> None:
    plan = demo_plan()
    context = demo_context(plan)
    deadline = render("receipt", context)
    assert "8 septembre 2024" in deadline.text and "12 juillet 2024 à 10 h 00" in deadline.text
    assert "15 septembre 2024" in deadline.text
    invitation = render("session_invitation", context)
    assert "15 octobre 2024" in invitation.subject
    assert "15 octobre 2024, de 14 h 00 à 18 h 00" in invitation.text
    selected = render("decision_selected", context)
    assert "25 septembre 2024 à 9 h 00" in selected.text
    for rendered in (deadline, invitation, selected):
        assert "2026" not in rendered.subject + rendered.text + rendered.html
    # Without a time map, the same filters read the instants as they are (production).
    assert "12 septembre 2024, de 14 h 00 à 17 h 30" in render("session_invitation", french_context()).text


def test_the_ics_carries_the_published_session() -> None:
    plan = demo_plan()
    invite = {
        "uid": "x@ami",
        "sequence": 1,
        "summary": "séance 1",
        "description": "thème",
        "location": "Lille",
        "starts_at": working(plan, 2024, 10, 15, 14),
        "ends_at": working(plan, 2024, 10, 15, 18),
        "timezone": "Europe/Paris",
    }
    event = Calendar.from_ical(ics.session_ics(invite, "ami@example.org", plan.time_map)).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == datetime(2024, 10, 15, 14, tzinfo=PARIS)
    assert event.decoded("DTEND") == datetime(2024, 10, 15, 18, tzinfo=PARIS)
    assert event.decoded("DTSTAMP") == datetime(2024, 10, 15, 12, tzinfo=UTC)


def test_a_demo_email_is_dated_and_marked_as_a_demonstration(tmp_path: Path) -> None:
    plan = demo_plan(datetime.now(UTC))  # the campaign opened (in compressed time) just now
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/ami.db", demo=True)
    activities = EmailActivities(settings)
    row, _envelope = activities._render(
        SendEmailInput(workflow_id="w", purpose="receipt", to=["a@example.org"], context=demo_context(plan)), "<id@ami>"
    )
    message = email.message_from_bytes(row.raw, policy=policy.default)
    sent = parsedate_to_datetime(str(message["Date"]))
    # Sent now, dated on the published calendar: the first days after the call opened.
    assert datetime(2024, 7, 10, tzinfo=PARIS) <= sent < datetime(2024, 7, 10, tzinfo=PARIS) + timedelta(days=30)
    body = message.get_body(preferencelist=("plain",))
    mark = DEMO_NOTE.split(" :")[0]
    assert body is not None and mark in body.get_content()
    # An ordinary worker does not mark its messages.
    plain = render("receipt", demo_context(plan))
    assert mark not in plain.text and mark in render("receipt", demo_context(plan), demo=True).html


def test_a_late_candidature_is_told_the_published_deadline() -> None:
    from ami.app.examples import example
    from ami.domain.eligibility import assess
    from ami.models.activity_payloads import EligibilityRules

    plan = demo_plan()
    rules = EligibilityRules(
        region=plan.region, timezone=plan.timezone, opens_at=plan.opens_at, deadline_at=plan.deadline_at, time_map=plan.time_map
    )
    verdict = assess(example("12-hellemmes"), datetime.fromisoformat(working(plan, 2024, 9, 9, 12)), rules)
    (reason,) = [r for r in verdict.reasons if r.code == "after_deadline"]
    assert "Reçue le 09/09/2024 à 12:00" in reason.message and "le 08/09/2024, fin de journée" in reason.message
