"""The jury's rules (`ami/domain/jury_rules.py`, `ami/models/jury.py`) without a server: the refusals a
coordinator reads, ties, overrides, the waitlist, and the deliberation rebuilt after promotions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ami.domain.jury_rules import Jury
from ami.domain.refusal import Refusal
from ami.models.campaign import load_campaign
from ami.models.campaign_messages import CampaignEntry, ConflictInput, DeliberateInput, Override, ScoreInput
from ami.models.campaign_phase import Phase
from ami.models.campaign_state import CampaignState
from ami.models.jury import candidature_score, rank
from ami.models.lifecycle import State
from ami.models.values import Decision

PLAN = load_campaign("ami-2024").plan().model_copy(update={"capacity": 2, "waitlist_size": 2, "quorum": 2})
AFTER_DEADLINE = PLAN.deadline_at + timedelta(hours=1)
MEMBERS = [m.id for m in PLAN.jury]


def receipt(n: int) -> str:
    return f"AMI-2024-{n:04d}"


def entry(n: int, state: State = State.ELIGIBILITY_CHECKED, minutes: int | None = None) -> CampaignEntry:
    received = PLAN.opens_at + timedelta(minutes=n if minutes is None else minutes)
    return CampaignEntry(receipt_number=receipt(n), key=f"{200000000 + n}", state=state, received_at=received)


def jury_of(*entries: CampaignEntry) -> Jury:
    return Jury(PLAN, CampaignState(phase=Phase.JURY, entries={e.key: e for e in entries}))


def marks(value: int) -> dict[str, int]:
    return {c.id: value for c in PLAN.criteria}


def scored(jury: Jury, n: int, value: int, members: list[str] = MEMBERS[:2]) -> None:
    for member in members:
        jury.record_score(ScoreInput(member_id=member, receipt_number=receipt(n), scores=marks(value)))


def refusal(check: object, *args: object) -> str:
    with pytest.raises(Refusal) as caught:
        check(*args)  # type: ignore[operator]
    return caught.value.message


def test_the_refusals_name_what_is_wrong() -> None:
    jury = jury_of(entry(1), entry(2, State.CLOSED))
    score = ScoreInput(member_id=MEMBERS[0], receipt_number=receipt(1), scores={**marks(3), "charisme": 3})
    criteria = ", ".join(sorted(c.id for c in PLAN.criteria))
    assert refusal(jury.check_score, score) == f"Critère(s) inconnu(s) : charisme (critères de la campagne : {criteria})."
    closed = ScoreInput(member_id=MEMBERS[0], receipt_number=receipt(2), scores=marks(3))
    assert refusal(jury.check_score, closed) == (
        f"La candidature {receipt(2)} n'est pas en attente du jury (état closed) : elle ne peut pas être notée."
    )
    assert (
        refusal(jury.check_conflict, ConflictInput(member_id="personne", receipt_number=receipt(1))) == "Membre du jury inconnu : personne."
    )


def test_an_ended_candidature_is_neither_scored_nor_awaited() -> None:
    ended = entry(2)
    ended.ended = True
    jury = jury_of(entry(1), ended)
    assert "n'est pas en attente du jury" in refusal(
        jury.check_score, ScoreInput(member_id=MEMBERS[0], receipt_number=receipt(2), scores=marks(3))
    )
    assert [e.receipt_number for e in jury.awaiting()] == [receipt(1)]


def test_a_second_score_replaces_the_first_and_a_conflict_is_kept_once() -> None:
    jury = jury_of(entry(1))
    jury.record_score(ScoreInput(member_id=MEMBERS[0], receipt_number=receipt(1), scores=marks(1)))
    jury.record_score(ScoreInput(member_id=MEMBERS[0], receipt_number=receipt(1), scores=marks(4)))
    assert jury.scores() == {receipt(1): {MEMBERS[0]: marks(4)}} and jury.counted(receipt(1)) == 1
    for _ in range(2):
        jury.record_conflict(ConflictInput(member_id=MEMBERS[1], receipt_number=receipt(1)))
    assert jury.state.conflicts == {receipt(1): [MEMBERS[1]]}
    quorum = refusal(jury.check_deliberation, DeliberateInput(), AFTER_DEADLINE)
    assert quorum == f"Quorum non atteint pour : {receipt(1)} (1/2)."


def test_a_tie_goes_to_the_earlier_receipt_not_the_lower_number() -> None:
    jury = jury_of(entry(1, minutes=20), entry(2, minutes=5), entry(3))
    for n, value in ((1, 4), (2, 4), (3, 2)):
        scored(jury, n, value)
    result = jury.deliberate(DeliberateInput(), AFTER_DEADLINE)
    assert [r.receipt_number for r in result.ranking] == [receipt(2), receipt(1), receipt(3)]
    assert result.ranking[0].score == result.ranking[1].score == 4.0


def test_a_conflicted_members_score_does_not_count_in_the_ranking() -> None:
    jury = jury_of(entry(1), entry(2))
    scored(jury, 1, 5, MEMBERS[:2])
    jury.record_score(ScoreInput(member_id=MEMBERS[2], receipt_number=receipt(1), scores=marks(0)))
    jury.record_conflict(ConflictInput(member_id=MEMBERS[2], receipt_number=receipt(1)))
    scored(jury, 2, 4, MEMBERS[:2])
    ranking = jury.deliberate(DeliberateInput(), AFTER_DEADLINE).ranking
    assert (ranking[0].receipt_number, ranking[0].score) == (receipt(1), 5.0)


def test_an_override_takes_a_seat_and_the_rest_fill_in_rank_order() -> None:
    jury = jury_of(*(entry(n) for n in range(1, 7)))
    for n in range(1, 7):
        scored(jury, n, 6 - n)
    why = "Seule candidature d'un territoire rural : équilibre territorial du groupe."
    forced = Override(receipt_number=receipt(6), decision=Decision.SELECTED, justification=why)
    jury.check_deliberation(DeliberateInput(overrides=[forced]), AFTER_DEADLINE)
    result = jury.deliberate(DeliberateInput(actor="Claire Duval", overrides=[forced]), AFTER_DEADLINE)
    decisions = [(r.receipt_number, r.decision, r.waitlist_position, r.overridden) for r in result.ranking]
    assert decisions == [
        (receipt(1), Decision.SELECTED, None, False),
        (receipt(2), Decision.WAITLISTED, 1, False),
        (receipt(3), Decision.WAITLISTED, 2, False),
        (receipt(4), Decision.NOT_SELECTED, None, False),
        (receipt(5), Decision.NOT_SELECTED, None, False),
        (receipt(6), Decision.SELECTED, None, True),
    ]
    entry_6 = jury.state.by_receipt(receipt(6))
    assert entry_6 is not None and (entry_6.decision, entry_6.rank) == (Decision.SELECTED, 6)


def test_after_the_deliberation_scores_are_closed_and_it_is_not_run_twice() -> None:
    jury = jury_of(entry(1))
    scored(jury, 1, 3)
    jury.deliberate(DeliberateInput(), AFTER_DEADLINE)
    closed = "Le jury a déjà délibéré : les notes sont closes."
    assert refusal(jury.check_score, ScoreInput(member_id=MEMBERS[2], receipt_number=receipt(1), scores=marks(2))) == closed
    assert refusal(jury.check_conflict, ConflictInput(member_id=MEMBERS[2], receipt_number=receipt(1))) == closed
    assert refusal(jury.check_deliberation, DeliberateInput(), AFTER_DEADLINE) == "Le jury a déjà délibéré pour cette campagne."


def test_the_waitlist_moves_on_and_the_result_still_shows_the_deliberation() -> None:
    jury = jury_of(*(entry(n) for n in range(1, 5)))
    for n in range(1, 5):
        scored(jury, n, 5 - n)
    decided = jury.deliberate(DeliberateInput(), AFTER_DEADLINE)
    first = jury.next_waitlisted()
    assert first is not None and first.receipt_number == receipt(3)
    first.promoted, first.decision = True, Decision.SELECTED  # what the campaign does when a seat frees
    second = jury.next_waitlisted()
    assert second is not None and second.receipt_number == receipt(4)
    second.state = State.CLOSED
    assert jury.next_waitlisted() is None
    rebuilt = jury.result()
    assert rebuilt is not None and [r.decision for r in rebuilt.ranking] == [r.decision for r in decided.ranking]


def test_scores_are_weighted_means_averaged_over_members() -> None:
    weights = {"a": 2.0, "b": 1.0}
    assert candidature_score({"m1": {"a": 5, "b": 2}, "m2": {"a": 2, "b": 5}}, weights) == 3.5
    assert candidature_score({}, weights) is None
    unscored = rank({receipt(1): PLAN.opens_at}, {}, weights, 0, 0, [])
    assert [(r.score, r.decision) for r in unscored] == [(None, Decision.NOT_SELECTED)]
