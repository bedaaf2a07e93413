"""The `.ics` attached to a session invitation: same UID for a session, SEQUENCE raised when it moves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText


def session_ics(invite: dict[str, Any], organizer: str) -> bytes:
    zone = ZoneInfo(invite["timezone"])
    cal = Calendar()
    cal.add("prodid", "-//Apes Hauts-de-France//ami//FR")
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = Event()
    event.add("uid", invite["uid"])
    event.add("sequence", int(invite["sequence"]))
    event.add("summary", invite["summary"])
    event.add("description", invite["description"])
    event.add("location", vText(invite["location"]))
    event.add("dtstart", datetime.fromisoformat(invite["starts_at"]).astimezone(zone))
    event.add("dtend", datetime.fromisoformat(invite["ends_at"]).astimezone(zone))
    # DTSTAMP must be stable for a given (uid, sequence) so a retried send is byte-identical.
    event.add("dtstamp", datetime.fromisoformat(invite["starts_at"]).astimezone(UTC))
    event["organizer"] = vCalAddress(f"mailto:{organizer}")
    cal.add_component(event)
    cal.add_missing_timezones()  # a VTIMEZONE block, so every client reads Paris summer/winter time right
    return bytes(cal.to_ical())
