"""The campaign's pure parts, without a server: its phases, the jury's rules, the sessions'
calendar, and the size of the state it carries across continue-as-new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ami.domain.jury_rules import Jury
from ami.domain.refusal import Refusal
from ami.domain.session_rules import SessionCalendar
from ami.models.campaign import load_campaign
from ami.models.campaign_messages import CampaignEntry, ConflictInput, DeliberateInput, Override, ScoreInput, SetSessionInput
from ami.models.campaign_phase import PHASE_TRANSITIONS, IllegalPhaseTransition, Phase, PhaseTrigger, next_phase, phase_diagram
from ami.models.campaign_state import CampaignInput, CampaignState, ChildSignal, Deliberation, PendingSignal
from ami.models.lifecycle import State
from ami.models.values import Decision

README = Path(__file__).resolve().parent.parent / "README.md"
PLAN = load_campaign("ami-2024").plan()
AFTER_DEADLINE = PLAN.deadline_at + timedelta(hours=1)


def entry(n: int, state: State = State.ELIGIBILITY_CHECKED) -> CampaignEntry:
    return CampaignEntry(
        receipt_number=f"AMI-2024-{n:04d}", key=f"{200000000 + n}", state=state, received_at=PLAN.opens_at + timedelta(minutes=n)
    )


def state_with(*entries: CampaignEntry) -> CampaignState:
    return CampaignState(phase=Phase.JURY, entries={e.key: e for e in entries})


def marks(value: int) -> dict[str, int]:
    return {c.id: value for c in PLAN.criteria}


# --- phases -------------------------------------------------------------------------------------


def test_the_phases_follow_their_table() -> None:
    phase = Phase.BEFORE_OPENING
    for trigger, source, dest in PHASE_TRANSITIONS:
        assert phase is source
        phase = next_phase(phase, trigger)
        assert phase is dest
    assert phase is Phase.DONE
    with pytest.raises(IllegalPhaseTransition, match="impossible"):
        next_phase(Phase.OPEN, PhaseTrigger.DELIBERATE)


def test_readme_shows_the_campaign_diagram() -> None:
    assert phase_diagram() in README.read_text(encoding="utf-8"), "regenerate it with `ami diagram --campaign`"


# --- the jury -----------------------------------------------------------------------------------


def test_scores_are_checked_and_kept_compact() -> None:
    state = state_with(entry(1))
    jury = Jury(PLAN, state)
    member = PLAN.jury[0].id
    with pytest.raises(Refusal, match="Membre du jury inconnu"):
        jury.check_score(ScoreInput(member_id="personne", receipt_number="AMI-2024-0001", scores=marks(3)))
    with pytest.raises(Refusal, match="Candidature inconnue"):
        jury.check_score(ScoreInput(member_id=member, receipt_number="AMI-2024-0099", scores=marks(3)))
    with pytest.raises(Refusal, match="hors de l'échelle"):
        jury.check_score(ScoreInput(member_id=member, receipt_number="AMI-2024-0001", scores=marks(6)))
    with pytest.raises(Refusal, match="Note manquante"):
        jury.check_score(ScoreInput(member_id=member, receipt_number="AMI-2024-0001", scores={}))
    score = ScoreInput(member_id=member, receipt_number="AMI-2024-0001", scores=marks(4))
    jury.check_score(score)
    jury.record_score(score)
    assert state.reviews == {"AMI-2024-0001": {member: "4" * len(PLAN.criteria)}}
    assert jury.scores() == {"AMI-2024-0001": {member: marks(4)}}


def test_a_conflict_drops_the_members_score_and_refuses_the_next() -> None:
    state = state_with(entry(1))
    jury = Jury(PLAN, state)
    member = PLAN.jury[0].id
    jury.record_score(ScoreInput(member_id=member, receipt_number="AMI-2024-0001", scores=marks(4)))
    jury.record_conflict(ConflictInput(member_id=member, receipt_number="AMI-2024-0001"))
    assert jury.counted("AMI-2024-0001") == 0
    with pytest.raises(Refusal, match="conflit d'intérêts"):
        jury.check_score(ScoreInput(member_id=member, receipt_number="AMI-2024-0001", scores=marks(4)))


def test_deliberation_needs_the_deadline_the_quorum_and_no_pending_check() -> None:
    state = state_with(entry(1), entry(2, State.SUBMITTED))
    jury = Jury(PLAN, state)
    with pytest.raises(Refusal, match="après la date limite"):
        jury.check_deliberation(DeliberateInput(), PLAN.deadline_at - timedelta(hours=1))
    with pytest.raises(Refusal, match="Vérification d'éligibilité en cours pour : AMI-2024-0002"):
        jury.check_deliberation(DeliberateInput(), AFTER_DEADLINE)
    state.entries[entry(2).key].ended = True  # terminated from outside: awaited no more
    with pytest.raises(Refusal, match="Quorum non atteint pour : AMI-2024-0001"):
        jury.check_deliberation(DeliberateInput(), AFTER_DEADLINE)
    with pytest.raises(Refusal, match="Dérogation impossible"):
        for member in PLAN.jury[: PLAN.quorum]:
            jury.record_score(ScoreInput(member_id=member.id, receipt_number="AMI-2024-0001", scores=marks(3)))
        override = Override(receipt_number="AMI-2024-0002", decision=Decision.SELECTED, justification="Une raison suffisante.")
        jury.check_deliberation(DeliberateInput(overrides=[override]), AFTER_DEADLINE)
    jury.check_deliberation(DeliberateInput(), AFTER_DEADLINE)


def test_deliberation_writes_each_decision_into_its_entry_and_the_result_is_rebuilt() -> None:
    entries = [entry(n) for n in range(1, 14)]
    state = state_with(*entries)
    jury = Jury(PLAN, state)
    for n, e in enumerate(entries):
        for member in PLAN.jury[: PLAN.quorum]:
            jury.record_score(ScoreInput(member_id=member.id, receipt_number=e.receipt_number, scores=marks(5 - n % 6)))
    result = jury.deliberate(DeliberateInput(actor="Claire"), AFTER_DEADLINE)
    assert sum(r.decision is Decision.SELECTED for r in result.ranking) == PLAN.capacity
    rebuilt = jury.result()
    assert rebuilt is not None and rebuilt.ranking == result.ranking
    waiting = jury.next_waitlisted()
    assert waiting is not None and waiting.waitlist_position == 1


# --- the sessions -------------------------------------------------------------------------------


def test_sessions_are_set_in_their_month_and_in_order() -> None:
    state = CampaignState()
    calendar = SessionCalendar(PLAN, state)
    first, second = PLAN.sessions[0], PLAN.sessions[1]
    now = PLAN.response_at
    with pytest.raises(Refusal, match="Séance inconnue"):
        calendar.check(SetSessionInput(number=99, starts_at=first.window_start, place="Lille"), now, False)
    with pytest.raises(Refusal, match="choisissez une date dans ce mois"):
        calendar.check(SetSessionInput(number=1, starts_at=second.window_start, place="Lille"), now, False)
    with pytest.raises(Refusal, match="Le cycle est terminé"):
        calendar.check(SetSessionInput(number=1, starts_at=first.window_start, place="Lille"), now, True)
    set_second = SetSessionInput(number=2, starts_at=second.window_start + timedelta(days=1), place="Lille")
    calendar.set(set_second)
    late_first = SetSessionInput(number=1, starts_at=first.window_end - timedelta(hours=1), place="Lille")
    calendar.check(late_first, now, False)
    moved = calendar.set(SetSessionInput(number=2, starts_at=second.window_start + timedelta(days=2), place="Arras"))
    assert moved.sequence == 1 and moved.theme == second.theme
    assert calendar.first_start() == first.window_end  # undated first session: end of its month
    assert calendar.next_undated_alert() == (first.window_start - PLAN.session_alert_lead, 1)


# --- the carried state --------------------------------------------------------------------------


def region_state(count: int = 3872) -> CampaignState:
    """The whole of Hauts-de-France in one campaign: every entry decided, two reviews each."""
    state = CampaignState(phase=Phase.DECISIONS)
    members = [m.id for m in PLAN.jury][:2]
    for n in range(1, count + 1):
        e = entry(n, State.NOTIFIED)
        e.decision, e.rank, e.score, e.departement = Decision.NOT_SELECTED, n, 3.1667, "62"
        e.sequence = 5
        state.entries[e.key] = e
        state.reviews[e.receipt_number] = {m: "342531" for m in members}
    state.outbox = [PendingSignal(kind=ChildSignal.DECIDE, key=e.key) for e in list(state.entries.values())[:1000]]
    return state


def test_the_whole_region_carries_in_under_half_the_payload_limit() -> None:
    """Temporal refuses payloads over 2 MB: the largest carry (the jury's marks still held, the
    decisions being sent) stays under half of it."""
    before = region_state()
    for e in before.entries.values():
        e.decision = e.rank = e.score = None
        e.state = State.ELIGIBILITY_CHECKED
    after = region_state()
    after.deliberation = Deliberation(decided_at=AFTER_DEADLINE, actor="coordination")
    for state in (before, after):
        carry = CampaignInput(plan=PLAN, carried=state.to_carry()).model_dump_json()
        assert len(carry) < 1_000_000, f"{len(carry)} octets"
        reloaded = CampaignInput.model_validate_json(carry).carried
        assert reloaded is not None and reloaded.entries == state.entries


def test_an_older_carry_still_loads() -> None:
    older = {
        "phase": "jury",
        "entries": {
            "200000001": {
                "receipt_number": "AMI-2024-0001",
                "key": "200000001",
                "received_at": datetime(2024, 8, 1, tzinfo=UTC).isoformat(),
            }
        },
    }
    state = CampaignState.model_validate(older)
    assert state.entries["200000001"].state is State.SUBMITTED and state.outbox == [] and not state.waitlist_closed


def test_a_child_start_input_holds_what_it_needs() -> None:
    assert len(PLAN.for_candidature().model_dump_json()) < len(PLAN.model_dump_json()) / 4
