"""The `.ics` attached to a session invitation: same UID for a session, SEQUENCE raised when it moves.

It carries the published instants, like the email it comes with: in a compressed campaign (the demo)
the working instants are seconds apart today, and a calendar would show a session of a few
hundredths of a second on the day of the run. Without a time map both are the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from ami.models.campaign_plan import TimeMap


def session_ics(invite: dict[str, Any], organizer: str, time_map: TimeMap | None = None) -> bytes:
    zone = ZoneInfo(invite["timezone"])

    def instant(key: str) -> datetime:
        working = datetime.fromisoformat(invite[key])
        return (time_map.for_reader(working) if time_map else working).astimezone(zone)

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
    event.add("dtstart", instant("starts_at"))
    event.add("dtend", instant("ends_at"))
    # DTSTAMP must be stable for a given (uid, sequence) so a retried send is byte-identical.
    event.add("dtstamp", instant("starts_at").astimezone(UTC))
    event["organizer"] = vCalAddress(f"mailto:{organizer}")
    cal.add_component(event)
    cal.add_missing_timezones()  # a VTIMEZONE block, so every client reads Paris summer/winter time right
    return bytes(cal.to_ical())
