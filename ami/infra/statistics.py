"""The campaign's figures from the store: what the capitalisation report counts, computed
from the columns the purge keeps (states, decisions, attendance, satisfaction marks), so that the
figures are the same before and after every personal field is erased."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ami.infra.store import Store
from ami.models.tables import AttendanceRow, FeedbackRow


def campaign_figures(store: Store, campaign_id: str) -> dict[str, Any]:
    candidatures = store.candidatures(campaign_id)
    states = Counter(c.state for c in candidatures)
    decisions = Counter(c.decision for c in candidatures if c.decision)
    latest: dict[tuple[str, int], AttendanceRow] = {}
    for record in store.facts(AttendanceRow, campaign_id):
        latest[(record.workflow_id, record.session_number)] = record  # oldest first: the last one wins
    marks: dict[int, list[int]] = {}
    for feedback in store.facts(FeedbackRow, campaign_id):
        marks.setdefault(feedback.session_number, []).append(feedback.satisfaction)
    sessions = {}
    for number in sorted({n for _, n in latest} | set(marks)):
        lines = [a for (_, n), a in latest.items() if n == number]
        given = marks.get(number, [])
        sessions[number] = {
            "present": sum(1 for a in lines if a.elected_present or a.technician_present),
            "binome_complete": sum(1 for a in lines if a.elected_present and a.technician_present),
            "mean_satisfaction": round(sum(given) / len(given), 2) if given else None,
        }
    return {
        "received": len(candidatures),
        "eligible": sum(1 for c in candidatures if c.decision),
        "decisions": dict(decisions),
        "states": dict(states),
        "by_departement": dict(Counter(c.departement for c in candidatures if c.departement)),
        "sessions": sessions,
    }
