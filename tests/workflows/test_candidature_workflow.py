"""`CandidatureWorkflow` alone: fake activities, a stand-in campaign, and for each path exactly
which activities it calls, with which inputs, in which order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.models.campaign_messages import CorrectionAnswer
from ami.models.candidature_messages import ConfirmBinomeInput, CorrectionInput, RecordAttendanceInput, WithdrawInput
from ami.models.values import Decision, ScheduledSession
from ami.workflows.candidature import CandidatureWorkflow
from tests.fakes import FakeActivities
from tests.journal_history import JOURNAL_PATCH, history_activities
from tests.scenario import binome
from tests.workflows.alone import dossier
from tests.workflows.protocol_harness import eventually
from tests.workflows.stand_ins import CampaignStandIn

INTAKE = [
    ("transition", "submit"),
    ("document", "summary"),
    ("email", "receipt"),
    ("email", "coord_new_candidature"),
    ("eligibility", "246200299"),
]


async def test_selected_confirmed_through_a_session_to_the_certificate(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env) as run:
        await run.until("eligibility_checked")
        assert run.fakes.calls == [*INTAKE, ("transition", "declare_eligible")]
        [check] = run.fakes.checks
        assert check.form == run.form and check.rules.deadline_at == run.plan.deadline_at and check.rules.region == "32"
        receipt, coordinators = run.fakes.emails
        assert receipt.to == run.form.recipients() and [a.kind for a in receipt.attachments] == ["summary"]
        assert coordinators.to == run.plan.coordinators and receipt.occurrence == coordinators.occurrence == "1"

        # The decision is held until the response date: nothing is sent before it.
        await run.decide(Decision.SELECTED)
        await run.until("jury_reviewed")
        assert run.fakes.of("email") == ["receipt", "coord_new_candidature"]
        await run.at(run.plan.response_at + timedelta(hours=1))
        notified = await run.until("notified")
        letter = run.fakes.documents[-1]
        assert letter.kind == "decision_letter" and letter.data.model_dump(mode="json")["decision"] == "selected"
        assert (
            letter.data.model_dump(mode="json")["confirmation_deadline"]
            == run.plan.published(run.plan.response_at + run.plan.confirmation_window).date().isoformat()
        )
        decision = run.fakes.emails[-1]
        assert decision.purpose == "decision_selected" and [a.kind for a in decision.attachments] == ["decision_letter"]
        assert notified.next_deadline_label == "confirmation du binôme"

        political, technical = binome(run.form)
        await run.handle.execute_update(
            CandidatureWorkflow.confirm_binome, ConfirmBinomeInput(political_referent=political, technical_referent=technical)
        )
        session = run.plan.sessions[0]
        starts = session.window_start + timedelta(days=3, hours=14)
        await run.schedule(
            ScheduledSession(number=1, theme=session.theme, place="Lille", starts_at=starts, ends_at=starts + timedelta(hours=4))
        )
        await run.at(starts + timedelta(hours=5))
        await eventually(lambda: _count(run.fakes.of("email"), "feedback_request"), bool, "demande de questionnaire")
        invitation = next(e for e in run.fakes.emails if e.purpose == "session_invitation")
        assert invitation.occurrence == "1-0" and invitation.context["calendar"]["sequence"] == 0
        assert [e.occurrence for e in run.fakes.emails if e.purpose == "session_reminder"] == ["1-0-0", "1-0-1"]
        await run.handle.execute_update(
            CandidatureWorkflow.record_attendance, RecordAttendanceInput(session_number=1, elected_present=True, technician_present=True)
        )
        await run.handle.signal(CandidatureWorkflow.capitalise)
        final = await run.result()
        reports = await run.reports()
        history = history_activities(await run.handle.fetch_history())

    assert final.state == "capitalised" and final.bounces == []
    assert run.fakes.of("email") == [
        "receipt",
        "coord_new_candidature",
        "decision_selected",
        "binome_confirmed",
        "session_invitation",
        "session_reminder",
        "session_reminder",
        "feedback_request",
        "certificate",
    ]
    assert run.fakes.of("document") == ["summary", "decision_letter", "certificate", "collectivite_report"]
    assert run.fakes.of("transition") == [
        "submit",
        "declare_eligible",
        "deliberate",
        "notify",
        "confirm_binome",
        "record_attendance",
        "capitalise",
    ]
    assert run.fakes.of("fact") == ["attendance"]
    # The journal is written by local activities: a marker each, none scheduled on the server.
    journal = [{"transition": "record_transition", "fact": "record_fact"}[k] for k, _ in run.fakes.calls if k in ("transition", "fact")]
    assert history.local == journal and history.journal_scheduled == [] and JOURNAL_PATCH in history.patches
    assert "send_email" in history.scheduled and "make_document" in history.scheduled
    certificate = run.fakes.emails[-1]
    assert [a.kind for a in certificate.attachments] == ["certificate", "collectivite_report"]
    assert [s["present"] for s in run.fakes.documents[2].data.model_dump(mode="json")["sessions"]] == [True]
    # The campaign hears of the transitions that matter to it, numbered, and of the cycle's summary.
    assert reports == [("eligibility_checked", 2), ("notified", 4), ("enrolled", 5), ("capitalised", 8)]


async def test_ineligible_and_not_corrected_closes_at_the_deadline(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env, "07-laon-incomplet") as run:
        status = await eventually(run.status, lambda s: s.state == "ineligible" and s.next_deadline is not None, "inéligible")
        assert status.next_deadline == run.plan.deadline_at and status.verdict is not None and status.verdict.reasons
        assert run.fakes.of("email") == ["receipt", "coord_new_candidature", "ineligible"]
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        final = await run.result()
        reports = await run.reports()
    assert final.state == "closed"
    assert run.fakes.of("email") == ["receipt", "coord_new_candidature", "ineligible", "closed_ineligible"]
    assert run.fakes.of("transition") == ["submit", "declare_ineligible", "expire"]
    assert run.fakes.of("document") == ["summary"]
    assert reports == [("ineligible", 2), ("closed", 3)]


async def test_a_correction_in_time_is_answered_and_checked_again(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env, "07-laon-incomplet") as run:
        await run.until("ineligible")
        correction = CorrectionInput(form=example("07-laon"), received_at=await time_env.get_current_time(), request_id="demande-1")
        await run.handle.signal(CandidatureWorkflow.correct, correction)
        await run.until("eligibility_checked")
        await run.handle.signal(CandidatureWorkflow.correct, correction)  # delivered twice: the same answer
        late = correction.model_copy(update={"request_id": "demande-2"})
        await run.handle.signal(CandidatureWorkflow.correct, late)  # eligible now: nothing to correct
        answers = await eventually(lambda: run.campaign.query(CampaignStandIn.answers), lambda a: len(a) == 3, "trois réponses")
    key = example("07-laon").collectivite.identifier
    assert answers == [
        CorrectionAnswer(key=key, request_id="demande-1", accepted=True),
        CorrectionAnswer(key=key, request_id="demande-1", accepted=True),
        CorrectionAnswer(key=key, request_id="demande-2", accepted=False),
    ]
    assert [c.form for c in run.fakes.checks] == [example("07-laon-incomplet"), example("07-laon")]
    assert run.fakes.of("document") == ["summary", "summary"]
    assert [(e.purpose, e.occurrence) for e in run.fakes.emails] == [
        ("receipt", "1"),
        ("coord_new_candidature", "1"),
        ("ineligible", "1"),
        ("receipt", "2"),
    ]
    assert run.fakes.of("transition") == ["submit", "declare_ineligible", "correct", "declare_eligible"]


async def test_not_selected_gets_its_letter_and_closes(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env) as run:
        await run.until("eligibility_checked")
        await run.decide(Decision.NOT_SELECTED)
        await run.at(run.plan.response_at + timedelta(hours=1))
        final = await run.result()
    assert final.state == "closed" and final.decision is Decision.NOT_SELECTED
    letter = run.fakes.documents[-1]
    assert (
        letter.kind == "decision_letter"
        and letter.data.model_dump(mode="json")["decision"] == "not_selected"
        and letter.data.model_dump(mode="json")["confirmation_deadline"] is None
    )
    assert run.fakes.of("email")[2:] == ["decision_not_selected"]
    assert run.fakes.of("transition")[2:] == ["deliberate", "notify", "close"]


async def test_waitlisted_then_closed_at_the_first_session(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env) as run:
        await run.until("eligibility_checked")
        await run.decide(Decision.WAITLISTED, waitlist_position=2)
        await run.at(run.plan.response_at + timedelta(hours=1))
        await run.until("notified")
        assert run.fakes.documents[-1].data.model_dump(mode="json")["waitlist_position"] == 2
        await run.handle.signal(CandidatureWorkflow.close_waitlist)
        final = await run.result()
    assert final.state == "closed" and final.decision is Decision.WAITLISTED
    assert run.fakes.of("email")[2:] == ["decision_waitlisted", "waitlist_closed"]
    assert run.fakes.of("transition")[2:] == ["deliberate", "notify", "close"]


async def test_promoted_but_never_confirmed_is_reminded_then_withdrawn(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env) as run:
        await run.until("eligibility_checked")
        await run.decide(Decision.WAITLISTED, waitlist_position=1)
        await run.at(run.plan.response_at + timedelta(hours=1))
        await run.until("notified")
        await run.handle.signal(CandidatureWorkflow.promote)
        promoted = await eventually(run.status, lambda s: s.decision is Decision.SELECTED and s.next_deadline is not None, "promue")
        assert promoted.next_deadline is not None
        await run.at(promoted.next_deadline + timedelta(hours=1))
        final = await run.result()
    assert final.state == "closed"
    assert run.fakes.of("email")[2:] == ["decision_waitlisted", "promoted", "binome_reminder", "withdrawn_unconfirmed"]
    assert run.fakes.of("transition")[2:] == ["deliberate", "notify", "promote", "withdraw"]
    assert run.fakes.transitions[-1].justification == "binôme non confirmé dans le délai"


async def test_a_withdrawal_ends_the_dossier_with_one_email(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env) as run:
        await run.until("eligibility_checked")
        await run.handle.execute_update(CandidatureWorkflow.withdraw, WithdrawInput(reason="La collectivité renonce.", actor="Claire"))
        final = await run.result()
        reports = await eventually(run.reports, lambda r: len(r) == 2, "deux rapports")
    assert final.state == "closed"
    assert run.fakes.of("email") == ["receipt", "coord_new_candidature", "withdrawn"]
    withdrawal = run.fakes.transitions[-1]
    assert (withdrawal.trigger, withdrawal.actor, withdrawal.justification) == ("withdraw", "Claire", "La collectivité renonce.")
    assert reports == [("eligibility_checked", 2), ("closed", 3)]


async def test_a_refused_recipient_is_recorded_and_the_coordinators_told(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env, fakes=FakeActivities(refused={"receipt"})) as run:
        status = await run.until("eligibility_checked")
    assert status.bounces == ["receipt: 550 destinataire inconnu"]
    assert run.fakes.of("email") == ["receipt", "coord_bounce", "coord_new_candidature"]
    alert = run.fakes.emails[1]
    assert alert.to == run.plan.coordinators and alert.occurrence == "receipt-1" and alert.context["bounced_purpose"] == "receipt"


async def test_a_moved_session_is_announced_again_and_only_its_last_dates_remind(time_env: WorkflowEnvironment) -> None:
    async with dossier(time_env) as run:
        await run.until("eligibility_checked")
        await run.decide(Decision.SELECTED)
        await run.at(run.plan.response_at + timedelta(hours=1))
        await run.until("notified")
        political, technical = binome(run.form)
        await run.handle.execute_update(
            CandidatureWorkflow.confirm_binome, ConfirmBinomeInput(political_referent=political, technical_referent=technical)
        )
        plan = run.plan.sessions[0]

        def version(day: int, sequence: int, place: str) -> ScheduledSession:
            starts = plan.window_start + timedelta(days=day, hours=14)
            return ScheduledSession(
                number=1, theme=plan.theme, place=place, starts_at=starts, ends_at=starts + timedelta(hours=4), sequence=sequence
            )

        await run.schedule(version(16, 0, "Lille"))
        await run.at(plan.window_start + timedelta(days=7))  # before any reminder of the first date
        await run.schedule(version(20, 1, "Lille"))
        await run.schedule(version(18, 2, "Arras"))
        await run.schedule(version(16, 0, "Lille"))  # a stale schedule arriving late changes nothing
        held = version(18, 2, "Arras")
        with pytest.raises(WorkflowUpdateFailedError) as early:
            await run.handle.execute_update(
                CandidatureWorkflow.record_attendance,
                RecordAttendanceInput(session_number=1, elected_present=True, technician_present=True),
            )
        assert getattr(early.value.cause, "message", None) == "La séance 1 n'a pas encore eu lieu."
        with pytest.raises(WorkflowUpdateFailedError) as undated:
            await run.handle.execute_update(
                CandidatureWorkflow.record_attendance,
                RecordAttendanceInput(session_number=2, elected_present=True, technician_present=True),
            )
        assert (
            getattr(undated.value.cause, "message", None) == "La séance 2 n'a pas encore de date : impossible d'y enregistrer une présence."
        )
        await run.at(held.ends_at + timedelta(hours=1))
        await eventually(lambda: _count(run.fakes.of("email"), "feedback_request"), bool, "demande de questionnaire")
        await run.handle.execute_update(
            CandidatureWorkflow.record_attendance, RecordAttendanceInput(session_number=1, elected_present=False, technician_present=False)
        )
        status = await run.status()

    assert [(e.purpose, e.occurrence) for e in run.fakes.emails[4:]] == [
        ("session_invitation", "1-0"),
        ("session_updated", "1-1"),
        ("session_updated", "1-2"),
        ("session_reminder", "1-2-0"),
        ("session_reminder", "1-2-1"),
        ("feedback_request", "1"),
        ("absence_followup", "1"),
    ]
    moved = run.fakes.emails[6]
    assert moved.context["calendar"]["sequence"] == 2 and moved.context["session"]["place"] == "Arras"
    assert moved.context["calendar"]["uid"] == run.fakes.emails[4].context["calendar"]["uid"]
    assert [(s.sequence, s.place) for s in status.sessions] == [(2, "Arras")]
    assert run.fakes.of("transition")[-1] == "record_attendance" and run.fakes.of("fact") == ["attendance"]


async def _count(items: list[str], value: str) -> int:
    return items.count(value)
