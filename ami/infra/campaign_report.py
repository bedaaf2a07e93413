"""The campaign's capitalisation report, every figure read from the store.

The campaign workflow sends identifiers and its schedule (`CampaignReportRequest`); the counts, the
attendance and the satisfaction of each session come from the audit log (`transitions`), the
candidature projection and the facts (`attendance`, `feedback`, `experiments`). A session is counted
as it happened: the collectivités enrolled on its date (one that withdrew later still counts for
the sessions before its withdrawal) and the attendance recorded for it, the latest record winning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from ami.infra.store import Store
from ami.models.documents import CampaignReportInput, CampaignReportRequest, SessionAggregate
from ami.models.tables import AttendanceRow, CandidatureRow, ExperimentRow, FeedbackRow, TransitionRow

_Record = TypeVar("_Record", AttendanceRow, FeedbackRow)

# The states of a collectivité taking part in the cycle.
IN_CYCLE = frozenset({"enrolled", "session_tracked"})


def state_at(transitions: Iterable[TransitionRow], instant: datetime) -> str | None:
    """The state a candidature was in at `instant`: the destination of its last transition by then."""
    state = None
    for transition in sorted(transitions, key=lambda t: t.sequence):
        if transition.at <= instant:
            state = transition.dest
    return state


def _latest(rows: Iterable[_Record]) -> dict[tuple[str, int], _Record]:
    """The latest record per (candidature, session): facts are history, a correction is a new row."""
    latest: dict[tuple[str, int], _Record] = {}
    for row in sorted(rows, key=lambda r: (r.at, r.fact_id)):
        latest[(row.workflow_id, row.session_number)] = row
    return latest


def _counts(candidatures: list[CandidatureRow], history: dict[str, list[TransitionRow]]) -> dict[str, int]:
    def ever(workflow_id: str, *, dest: str | None = None, trigger: str | None = None) -> bool:
        return any((dest is None or t.dest == dest) and (trigger is None or t.trigger == trigger) for t in history[workflow_id])

    def count(predicate: Callable[[CandidatureRow], bool]) -> int:
        return sum(1 for c in candidatures if predicate(c))

    return {
        "received": len(candidatures),
        "eligible": count(lambda c: ever(c.workflow_id, dest="eligibility_checked")),
        "selected": count(lambda c: c.decision == "selected"),
        "waitlisted": count(lambda c: c.decision == "waitlisted"),
        "not_selected": count(lambda c: c.decision == "not_selected"),
        "promoted": count(lambda c: ever(c.workflow_id, trigger="promote")),
        "enrolled": count(lambda c: ever(c.workflow_id, dest="enrolled")),
        "withdrawn": count(lambda c: ever(c.workflow_id, trigger="withdraw")),
        "capitalised": count(lambda c: c.state == "capitalised"),
        "closed": count(lambda c: c.state == "closed"),
    }


def campaign_report(store: Store, request: CampaignReportRequest, region_name: str | None = None) -> CampaignReportInput:
    """The report's input, every figure from the store; `region_name` prints instead of the code."""
    row = store.campaign(request.campaign_id)
    name = request.campaign_name or (row.name if row else None) or request.campaign_id
    region = request.region or (row.region if row else None) or ""
    zone = ZoneInfo(request.timezone or (row.timezone if row else None) or "Europe/Paris")
    candidatures = store.candidatures(request.campaign_id)
    history = {c.workflow_id: store.transitions(c.workflow_id) for c in candidatures}
    attendance = _latest(store.facts(AttendanceRow, request.campaign_id))
    feedback = _latest(store.facts(FeedbackRow, request.campaign_id))

    sessions = []
    for session in sorted(request.sessions, key=lambda s: s.number):
        invited = {c.workflow_id for c in candidatures if state_at(history[c.workflow_id], session.starts_at) in IN_CYCLE}
        records = [a for (_, n), a in attendance.items() if n == session.number]
        invited |= {a.workflow_id for a in records}
        present = [a for a in records if a.elected_present or a.technician_present]
        marks = [f.satisfaction for (_, n), f in feedback.items() if n == session.number]
        published = request.time_map.for_reader(session.starts_at) if request.time_map else session.starts_at
        sessions.append(
            SessionAggregate(
                number=session.number,
                date=published.astimezone(zone).date(),
                theme=session.theme,
                invited=len(invited),
                present=len(present),
                binome_complete=sum(1 for a in present if a.elected_present and a.technician_present),
                mean_satisfaction=round(sum(marks) / len(marks), 2) if marks else None,
            )
        )
    quotes = [f.comment for _, f in sorted(feedback.items()) if f.comment and f.comment.strip()]
    experiments: dict[str, str] = {}
    for experiment in store.facts(ExperimentRow, request.campaign_id):  # oldest first: the latest statement wins
        experiments[experiment.workflow_id] = experiment.experiment
    return CampaignReportInput(
        campaign_name=name,
        region_name=region_name or region,
        counts=_counts(candidatures, history),
        sessions=sessions,
        quotes=quotes,
        experiments=[experiments[wid] for wid in sorted(experiments)],
    )
