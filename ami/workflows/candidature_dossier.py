"""What a candidature holds and what it says: the dossier's fields, the decision it shows, what its
emails and documents say, and what the Web UI shows of it (search attributes, current details).
The base of `CandidatureWorkflow`; no activity is called here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ami.models import search_attributes as sa
    from ami.models.activity_payloads import EligibilityRules
    from ami.models.candidature import CandidatureFile, Person
    from ami.models.candidature_messages import CandidatureInput, CorrectionInput, DecisionInput, TransitionRecord
    from ami.models.documents import CertificateInput, CollectiviteReportInput, DecisionLetterInput, SummaryDocInput
    from ami.models.lifecycle import STATE_LABELS, Lifecycle, State
    from ami.models.values import DECISION_LABELS, Attendance, Decision, DocumentRef, Feedback, ScheduledSession, Verdict


class CandidatureDossier:
    def __init__(self, input: CandidatureInput) -> None:
        self._plan = input.plan
        self._form: CandidatureFile = input.form
        self._received_at = input.received_at
        self._receipt = input.receipt_number
        self._lifecycle = Lifecycle()
        self._verdict: Verdict | None = None
        self._correction: CorrectionInput | None = None
        self._corrections = 0
        self._decision: DecisionInput | None = None
        self._promoted = False
        self._promoted_when_notified = False
        self._forgotten = 0  # people erased from this dossier (the right to erasure)
        self._answered: dict[str, bool] = {}  # correction requests already answered (signals may come twice)
        # Fixed once, when the collectivité is told it has a seat (see `_confirmation_deadline`).
        self._confirm_by: datetime | None = None
        self._waitlist_closed = False
        self._sessions: dict[int, ScheduledSession] = {}
        self._schedule_seen: dict[tuple[int, int], datetime] = {}
        self._schedule_version = 0
        self._cycle_done: set[str] = set()
        self._enrolled_at: datetime | None = None
        self._attendance: dict[int, Attendance] = {}
        self._feedback: dict[int, Feedback] = {}
        self._experiment: str | None = None
        self._capitalise = False
        self._transitions: list[TransitionRecord] = []
        self._bounces: list[str] = []
        self._documents: list[DocumentRef] = []
        self._next_deadline: tuple[datetime, str] | None = None
        self._official_name: str | None = None
        self._publish = input.search_attributes

    def _visible_decision(self) -> Decision | None:
        if self._decision is None:
            return None
        if self._promoted:
            return Decision.SELECTED
        return self._decision.decision

    def _confirmed(self) -> bool:
        """Enrolled, or already further: attendance may be recorded before this waiter resumes."""
        return self._lifecycle.current in (State.ENROLLED, State.SESSION_TRACKED)

    def _confirmation_deadline(self) -> datetime:
        """The whole confirmation window from the moment the collectivité is told it has a seat: the
        response date, or later after a late deliberation or a promotion. Computed once, so the letter,
        the emails, the status and the timers all give the same instant."""
        if self._confirm_by is None:
            self._confirm_by = max(workflow.now(), self._plan.response_at) + self._plan.confirmation_window
        return self._confirm_by

    def _recipients(self) -> list[str]:
        return self._form.recipients()

    def _rules(self) -> EligibilityRules:
        return EligibilityRules.model_validate(self._plan, from_attributes=True)

    # --- what the Web UI shows ----------------------------------------------------------------

    def _set_deadline(self, at: datetime | None, label: str | None) -> None:
        published = self._next_deadline[0] if self._next_deadline else None
        self._next_deadline = (at, label) if at and label else None
        instant = self._next_deadline[0] if self._next_deadline else None
        # Patched before the test on publishing, so that the histories recorded without search
        # attributes (tests/histories) carry the marker too. A candidature that set a deadline
        # before the patch replays False here for the rest of its run, and never publishes it.
        if workflow.patched("next-deadline-attribute") and self._publish and instant != published:
            workflow.upsert_search_attributes([sa.NEXT_DEADLINE.value_set(instant) if instant else sa.NEXT_DEADLINE.value_unset()])
        self._push_details()

    def _push_state(self) -> None:
        decision = self._visible_decision()
        if self._publish:
            workflow.upsert_search_attributes(
                [sa.STATE.value_set(self._lifecycle.current.value), sa.DECISION.value_set(decision.value if decision else "none")]
            )
        self._push_details()

    def _push_register_attributes(self) -> None:
        view = self._verdict.collectivite if self._verdict else None
        if view:
            self._official_name = view.name
        if view and self._publish:
            workflow.upsert_search_attributes([sa.DEPARTEMENT.value_set(view.departement or "?"), sa.KIND.value_set(view.kind)])

    def _push_details(self) -> None:
        state = self._lifecycle.current
        lines = [f"**{self._receipt}** — {STATE_LABELS[state]} (`{state.value}`)"]
        if self._official_name:
            lines.append(f"Collectivité : {self._official_name}")
        decision = self._visible_decision()
        if decision and state not in (State.ELIGIBILITY_CHECKED, State.JURY_REVIEWED):
            lines.append(f"Décision : {DECISION_LABELS[decision]}")
        if self._next_deadline:
            at, label = self._next_deadline
            local = at.astimezone(self._plan.zone())
            lines.append(f"Prochaine échéance : {label}, {local:%d/%m/%Y %H:%M}")
        if self._verdict and not self._verdict.eligible:
            lines.append("Motifs : " + ", ".join(r.code for r in self._verdict.reasons))
        workflow.set_current_details("\n\n".join(lines))

    # --- what emails and documents say --------------------------------------------------------

    def _email_context(self) -> dict[str, Any]:
        view = self._verdict.collectivite if self._verdict else None
        return {
            "campaign": self._plan.reader_context(),
            "receipt_number": self._receipt,
            "collectivite": {"name": self._form.collectivite.name, "official_name": view.name if view else None},
            "received_at": self._received_at.isoformat(),
            "deadline_at": self._plan.deadline_at.isoformat(),
            "response_at": self._plan.response_at.isoformat(),
            "reasons": [r.model_dump() for r in self._verdict.reasons] if self._verdict else [],
            "decision": self._decision.model_dump(mode="json") if self._decision else None,
            "confirmation_deadline": self._next_deadline[0].isoformat() if self._next_deadline else None,
            "attendance": [a.model_dump(mode="json") for a in sorted(self._attendance.values(), key=lambda a: a.session_number)],
        }

    def _session_context(self, number: int) -> dict[str, Any]:
        s = self._sessions[number]
        return {
            "number": s.number,
            "theme": s.theme,
            "place": s.place,
            "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat(),
            "sequence": s.sequence,
        }

    def _calendar(self, s: ScheduledSession) -> dict[str, Any]:
        return {
            "uid": f"{self._plan.id}-session-{s.number}-{self._receipt}@ami.apes-hdf.org",
            "sequence": s.sequence,
            "summary": f"{self._plan.name} — séance {s.number}",
            "description": s.theme,
            "location": s.place,
            "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat(),
            "timezone": self._plan.timezone,
        }

    def _summary_data(self) -> SummaryDocInput:
        view = self._verdict.collectivite if self._verdict else None
        return SummaryDocInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                "received_at": self._plan.published(self._received_at).isoformat(),
                "form": self._form.model_dump(mode="json"),
                "official_name": view.name if view else None,
                "kind_label": view.kind_label if view else None,
                "departement": view.departement if view else None,
                "timezone": self._plan.timezone,  # the time of receipt is written in the campaign's zone
            }
        )

    def _letter_data(self) -> DecisionLetterInput:
        assert self._decision is not None
        decision = self._visible_decision()
        assert decision is not None
        selected = decision is Decision.SELECTED
        referent = self._form.political_referent or Person()
        return DecisionLetterInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                **self._collectivite_data(),
                "addressee": {"address": self._form.collectivite.address, **referent.model_dump(include={"civility", "name", "role"})},
                "signatory": self._plan.signatory.model_dump() if self._plan.signatory else None,
                "decision": decision.value,
                "response_date": self._plan.published(self._plan.response_at).date().isoformat(),
                "waitlist_position": self._decision.waitlist_position,
                "confirmation_deadline": self._plan.published(self._confirmation_deadline()).date().isoformat() if selected else None,
            }
        )

    def _collectivite_data(self) -> dict[str, Any]:
        view = self._verdict.collectivite if self._verdict else None
        return {"collectivite_name": self._official_name or self._form.collectivite.name, "collectivite_kind": view.kind if view else None}

    def _session_lines(self) -> list[dict[str, Any]]:
        lines = []
        for n, s in sorted(self._sessions.items()):
            a = self._attendance.get(n)
            f = self._feedback.get(n)
            lines.append(
                {
                    "number": n,
                    "date": self._plan.published(s.starts_at).date().isoformat(),
                    "theme": s.theme,
                    "present": bool(a and not a.absent),
                    "elected_present": bool(a and a.elected_present),
                    "technician_present": bool(a and a.technician_present),
                    "others": a.others if a else 0,
                    "satisfaction": f.satisfaction if f else None,
                    "feedback": f.comment if f else None,
                }
            )
        return lines

    def _certificate_data(self) -> CertificateInput:
        return CertificateInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                **self._collectivite_data(),
                "signatory": self._plan.signatory.model_dump() if self._plan.signatory else None,
                "sessions": [{k: line[k] for k in ("number", "date", "theme", "present")} for line in self._session_lines()],
            }
        )

    def _report_data(self) -> CollectiviteReportInput:
        keys = ("number", "date", "theme", "elected_present", "technician_present", "others", "satisfaction", "feedback")
        return CollectiviteReportInput.model_validate(
            {
                "receipt_number": self._receipt,
                "campaign_name": self._plan.name,
                **self._collectivite_data(),
                "sessions": [{k: line[k] for k in keys} for line in self._session_lines()],
                "experiment": self._experiment,
            }
        )
