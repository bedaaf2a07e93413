"""The sessions' calendar over the campaign's state, pure and tested without a server: when a
session may be set or moved, and the campaign's next dates (alerts, end of the waitlist)."""

from __future__ import annotations

from datetime import datetime

from ami.domain.refusal import Refusal
from ami.models.campaign_messages import SetSessionInput
from ami.models.campaign_plan import CampaignPlan
from ami.models.campaign_state import CampaignState
from ami.models.values import ScheduledSession


class SessionCalendar:
    def __init__(self, plan: CampaignPlan, state: CampaignState) -> None:
        self.plan, self.state = plan, state

    def check(self, input: SetSessionInput, now: datetime, cycle_over: bool) -> None:
        plan = self.plan.session(input.number)
        if plan is None:
            raise Refusal(f"Séance inconnue : {input.number} (la campagne en compte {len(self.plan.sessions)}).")
        if cycle_over:
            raise Refusal("Le cycle est terminé : les séances ne peuvent plus être modifiées.")
        current = self.state.sessions.get(input.number)
        if current is not None and current.starts_at <= now:
            raise Refusal(f"La séance {input.number} a déjà commencé : elle ne peut plus être déplacée.")
        if input.starts_at <= now:
            raise Refusal("La date de la séance doit être dans le futur.")
        if not plan.window_start <= input.starts_at < plan.window_end:
            raise Refusal(f"La séance {input.number} est publiée pour le mois {plan.month} : choisissez une date dans ce mois.")
        before = self.state.sessions.get(input.number - 1)
        after = self.state.sessions.get(input.number + 1)
        if before and input.starts_at < before.ends_at:
            raise Refusal(f"La séance {input.number} doit suivre la séance {before.number}.")
        if after and input.starts_at + self.plan.session_duration > after.starts_at:
            raise Refusal(f"La séance {input.number} doit précéder la séance {after.number}.")

    def set(self, input: SetSessionInput) -> ScheduledSession:
        """Record the new date; a moved session keeps its theme and gets the next sequence."""
        plan = self.plan.sessions[input.number - 1]
        previous = self.state.sessions.get(input.number)
        session = ScheduledSession(
            number=input.number,
            theme=input.theme or (previous.theme if previous else plan.theme),
            place=input.place,
            starts_at=input.starts_at,
            ends_at=input.starts_at + self.plan.session_duration,
            sequence=previous.sequence + 1 if previous else 0,
        )
        self.state.sessions[input.number] = session
        return session

    def first_start(self) -> datetime:
        """When the waitlist ends: the first session's start, or the end of its month while undated."""
        first = self.plan.sessions[0]
        scheduled = self.state.sessions.get(first.number)
        return scheduled.starts_at if scheduled else first.window_end

    def capitalisation_at(self) -> datetime | None:
        last = self.state.sessions.get(self.plan.sessions[-1].number)
        return last.ends_at + self.plan.capitalisation_delay if last else None

    def next_undated_alert(self) -> tuple[datetime, int] | None:
        """The next session still without a date whose alert is due `session_alert_lead` before its month."""
        pending = sorted(
            (p.window_start - self.plan.session_alert_lead, p.number)
            for p in self.plan.sessions
            if p.number not in self.state.sessions and p.number not in self.state.alerted
        )
        return pending[0] if pending else None

    def version(self) -> tuple[tuple[int, int], ...]:
        return tuple(sorted((s.number, s.sequence) for s in self.state.sessions.values()))
