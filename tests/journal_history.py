"""What a workflow's history says of its journal writes: which activities ran as local activities
(one `MARKER_RECORDED` each), which were scheduled on the server, and the patches it carries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from temporalio.client import WorkflowHistory

JOURNAL = ("record_transition", "record_fact")
JOURNAL_PATCH = "journal-local-activities"


@dataclass
class HistoryActivities:
    local: list[str] = field(default_factory=list)  # activity types of the local activities' markers, in order
    attempts: list[int] = field(default_factory=list)  # the attempt that each of those markers records
    scheduled: list[str] = field(default_factory=list)  # activity types of ACTIVITY_TASK_SCHEDULED, in order
    patches: set[str] = field(default_factory=set)
    timers: int = 0

    @property
    def journal_scheduled(self) -> list[str]:
        return [name for name in self.scheduled if name in JOURNAL]


def history_activities(history: WorkflowHistory) -> HistoryActivities:
    found = HistoryActivities()
    for event in history.events:
        kind = event.WhichOneof("attributes")
        if kind == "marker_recorded_event_attributes":
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_local_activity":
                data = json.loads(marker.details["data"].payloads[0].data)
                found.local.append(data["activity_type"])
                found.attempts.append(data["attempt"])
            elif marker.marker_name == "core_patch":
                found.patches.add(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
        elif kind == "activity_task_scheduled_event_attributes":
            found.scheduled.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif kind == "timer_started_event_attributes":
            found.timers += 1
    return found
