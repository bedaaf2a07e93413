"""The `.ics` of a session invitation (`ami/infra/mail/calendar.py`) without a server: one UID per
session, SEQUENCE raised when it moves, byte-identical when resent, dated in the published calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from ami.infra.mail.calendar import session_ics
from ami.models.campaign_plan import TimeMap

PARIS = ZoneInfo("Europe/Paris")
STARTS = datetime(2024, 10, 15, 14, 0, tzinfo=PARIS)


def invite(starts: datetime = STARTS, sequence: int = 0, ends: datetime | None = None) -> dict[str, Any]:
    return {
        "uid": "ami-2024-session-1-AMI-2024-0001@ami.apes-hdf.org",
        "sequence": sequence,
        "summary": "AMI 2024 — séance 1",
        "description": "Les marchés publics",
        "location": "Lille, Maison de l'ESS",
        "starts_at": starts.isoformat(),
        "ends_at": (ends or starts + timedelta(hours=4)).isoformat(),
        "timezone": "Europe/Paris",
    }


def event(data: bytes) -> Any:
    return next(c for c in Calendar.from_ical(data).walk() if c.name == "VEVENT")


def test_a_moved_session_keeps_its_uid_and_raises_its_sequence() -> None:
    first, moved = (
        event(session_ics(invite(), "coordination@example.org")),
        event(session_ics(invite(STARTS + timedelta(days=2), sequence=1), "coordination@example.org")),
    )
    assert str(first["uid"]) == str(moved["uid"])
    assert (int(first["sequence"]), int(moved["sequence"])) == (0, 1)
    assert moved.decoded("dtstart") == STARTS + timedelta(days=2)
    assert str(first["organizer"]) == "mailto:coordination@example.org"


def test_the_same_invitation_is_byte_identical_and_carries_its_time_zone() -> None:
    data = session_ics(invite(), "coordination@example.org")
    assert data == session_ics(invite(), "coordination@example.org")  # a retried send changes nothing
    assert b"BEGIN:VTIMEZONE" in data and b"TZID:Europe/Paris" in data and b"METHOD:REQUEST" in data
    assert event(data).decoded("dtstamp") == STARTS.astimezone(UTC)


def test_a_compressed_plan_gives_the_published_instants() -> None:
    origin, anchor = datetime(2024, 7, 1, tzinfo=PARIS), datetime(2030, 1, 1, tzinfo=UTC)
    time_map = TimeMap(origin=origin, anchor=anchor, factor=1 / 86400)  # a day of the calendar in a second
    working = invite(time_map.to_plan(STARTS), ends=time_map.to_plan(STARTS + timedelta(hours=4)))
    published = event(session_ics(working, "coordination@example.org", time_map))
    assert published.decoded("dtstart") == STARTS
    assert published.decoded("dtend") == STARTS + timedelta(hours=4)
