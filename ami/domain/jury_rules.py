"""The jury's rules over the campaign's state, pure and tested without a server: who may score
which candidature, conflicts of interest, the quorum, and the deliberation."""

from __future__ import annotations

from datetime import datetime

from ami.domain.refusal import Refusal
from ami.models.campaign_messages import CampaignEntry, ConflictInput, DeliberateInput, DeliberationResult, RankedCandidature, ScoreInput
from ami.models.campaign_plan import CampaignPlan
from ami.models.campaign_state import CampaignState, Deliberation
from ami.models.jury import rank
from ami.models.lifecycle import State
from ami.models.values import Decision


class Jury:
    def __init__(self, plan: CampaignPlan, state: CampaignState) -> None:
        self.plan, self.state = plan, state
        self._criteria = [c.id for c in plan.criteria]

    # --- scores and conflicts ------------------------------------------------------------------

    def check_score(self, input: ScoreInput) -> None:
        self._check_member_and_candidature(input.member_id, input.receipt_number)
        if input.member_id in self.state.conflicts.get(input.receipt_number, []):
            raise Refusal(
                f"Le membre {input.member_id} a déclaré un conflit d'intérêts sur {input.receipt_number} : il ne peut pas la noter."
            )
        criteria = set(self._criteria)
        unknown = sorted(set(input.scores) - criteria)
        if unknown:
            raise Refusal(f"Critère(s) inconnu(s) : {', '.join(unknown)} (critères de la campagne : {', '.join(sorted(criteria))}).")
        missing = sorted(criteria - set(input.scores))
        if missing:
            raise Refusal(f"Note manquante pour : {', '.join(missing)}.")
        wrong = {c: v for c, v in input.scores.items() if not 0 <= v <= 5}
        if wrong:
            raise Refusal("Notes hors de l'échelle 0 à 5 : " + ", ".join(f"{c}={v}" for c, v in wrong.items()) + ".")

    def record_score(self, input: ScoreInput) -> None:
        self.state.reviews.setdefault(input.receipt_number, {})[input.member_id] = "".join(str(input.scores[c]) for c in self._criteria)

    def check_conflict(self, input: ConflictInput) -> None:
        self._check_member_and_candidature(input.member_id, input.receipt_number)

    def record_conflict(self, input: ConflictInput) -> None:
        conflicted = self.state.conflicts.setdefault(input.receipt_number, [])
        if input.member_id not in conflicted:
            conflicted.append(input.member_id)
        # A score given before the declaration no longer counts (the store keeps the trail).
        self.state.reviews.get(input.receipt_number, {}).pop(input.member_id, None)

    def counted(self, receipt: str) -> int:
        conflicted = self.state.conflicts.get(receipt, [])
        return sum(1 for m in self.state.reviews.get(receipt, {}) if m not in conflicted)

    def scores(self) -> dict[str, dict[str, dict[str, int]]]:
        """The marks as the coordinators read them: receipt -> member -> criterion -> mark."""
        return {
            receipt: {member: {c: int(mark) for c, mark in zip(self._criteria, marks, strict=True)} for member, marks in members.items()}
            for receipt, members in self.state.reviews.items()
        }

    # --- deliberation --------------------------------------------------------------------------

    def awaiting(self) -> list[CampaignEntry]:
        """Eligible candidatures waiting for the jury (one found closed under the campaign is not)."""
        return [e for e in self.state.entries.values() if e.state is State.ELIGIBILITY_CHECKED and not e.ended]

    def check_deliberation(self, input: DeliberateInput, now: datetime) -> None:
        if self.state.deliberation is not None:
            raise Refusal("Le jury a déjà délibéré pour cette campagne.")
        if now < self.plan.deadline_at:
            raise Refusal("Le jury ne délibère qu'après la date limite de dépôt.")
        pending = [e.receipt_number for e in self.state.entries.values() if e.state is State.SUBMITTED and not e.ended]
        if pending:
            raise Refusal(f"Vérification d'éligibilité en cours pour : {', '.join(sorted(pending))}. Réessayez dans un instant.")
        short = [
            f"{e.receipt_number} ({self.counted(e.receipt_number)}/{self.plan.quorum})"
            for e in self.awaiting()
            if self.counted(e.receipt_number) < self.plan.quorum
        ]
        if short:
            raise Refusal("Quorum non atteint pour : " + ", ".join(sorted(short)) + ".")
        eligible = {e.receipt_number for e in self.awaiting()}
        for override in input.overrides:
            if override.receipt_number not in eligible:
                raise Refusal(f"Dérogation impossible : {override.receipt_number} n'est pas une candidature éligible en attente du jury.")

    def deliberate(self, input: DeliberateInput, now: datetime) -> DeliberationResult:
        """Rank, and write each one's decision into its entry. The caller sends the decisions."""
        awaiting = self.awaiting()
        reviews = self._counted_reviews()
        ranking = rank(
            {e.receipt_number: e.received_at for e in awaiting},
            reviews,
            self.plan.criterion_weights(),
            self.plan.capacity,
            self.plan.waitlist_size,
            input.overrides,
        )
        by_receipt = {e.receipt_number: e for e in awaiting}
        for ranked in ranking:
            entry = by_receipt[ranked.receipt_number]
            entry.decision, entry.rank, entry.score = ranked.decision, ranked.rank, ranked.score
            entry.waitlist_position = ranked.waitlist_position
        self.state.deliberation = Deliberation(decided_at=now, actor=input.actor, overrides=input.overrides)
        return DeliberationResult(decided_at=now, actor=input.actor, ranking=ranking, overrides=input.overrides)

    def result(self) -> DeliberationResult | None:
        """The deliberation as it was returned, rebuilt from the entries (not carried twice)."""
        done = self.state.deliberation
        if done is None:
            return None
        forced = {o.receipt_number for o in done.overrides}
        ranked = sorted((e for e in self.state.entries.values() if e.rank is not None), key=lambda e: e.rank or 0)
        ranking = [
            RankedCandidature(
                receipt_number=e.receipt_number,
                score=e.score,
                rank=e.rank or 0,
                decision=Decision.WAITLISTED if e.promoted or e.decision is None else e.decision,
                waitlist_position=e.waitlist_position,
                overridden=e.receipt_number in forced,
            )
            for e in ranked
        ]
        return DeliberationResult(decided_at=done.decided_at, actor=done.actor, ranking=ranking, overrides=done.overrides)

    def next_waitlisted(self) -> CampaignEntry | None:
        """The first waitlisted candidature still waiting for a seat."""
        waiting = [e for e in self.state.entries.values() if e.waitlist_position is not None and not e.promoted and not e.final]
        return min(waiting, key=lambda e: e.waitlist_position or 0, default=None)

    # --- plumbing ------------------------------------------------------------------------------

    def _counted_reviews(self) -> dict[str, dict[str, dict[str, int]]]:
        scores = self.scores()
        return {
            receipt: {m: marks for m, marks in members.items() if m not in self.state.conflicts.get(receipt, [])}
            for receipt, members in scores.items()
        }

    def _check_member_and_candidature(self, member_id: str, receipt: str) -> None:
        if member_id not in {m.id for m in self.plan.jury}:
            raise Refusal(f"Membre du jury inconnu : {member_id}.")
        if self.state.deliberation is not None:
            raise Refusal("Le jury a déjà délibéré : les notes sont closes.")
        entry = self.state.by_receipt(receipt)
        if entry is None:
            raise Refusal(f"Candidature inconnue : {receipt}.")
        if entry.state is not State.ELIGIBILITY_CHECKED or entry.ended:
            raise Refusal(
                f"La candidature {receipt} n'est pas en attente du jury (état {entry.state.value}) : elle ne peut pas être notée."
            )
