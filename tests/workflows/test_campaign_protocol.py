"""The campaign <-> candidature protocol under at-least-once, late and out-of-order delivery, and
with targets that have ended: one test per failure a review reproduced on the previous engine."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Refused
from ami.models.campaign_messages import CandidatureReport
from ami.models.lifecycle import State
from ami.models.values import Decision
from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import CandidatureWorkflow
from tests.fakes import FakeActivities
from tests.scenario import binome
from tests.workflows.protocol_harness import campaign, eventually


async def test_a_form_registered_while_a_session_is_set(time_env: WorkflowEnvironment) -> None:
    """1. Handlers never walk the entries across an await: a submission during `set_session` is fine."""
    async with campaign(time_env, capacity=2) as run:
        receipts = await run.submit_all(ELIGIBLE[:2])
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        session = run.plan.sessions[0]
        starts = session.window_start + timedelta(days=10)
        scheduled, late = await asyncio.gather(run.coord.set_session(1, starts, "Lille"), run.coord.submit(example("05-arras")))
        assert scheduled.number == 1 and late.receipt_number.endswith("0003")
        await run.score_and_deliberate(receipts)
        status = await run.coord.status()
        assert status.phase == "decisions" and len(status.candidatures) == 3


ELIGIBLE = ["01-henin-carvin", "02-mel", "03-libercourt", "05-arras", "06-saint-quentinois"]


async def test_a_terminated_waitlisted_one_does_not_fail_the_campaign(time_env: WorkflowEnvironment) -> None:
    """2. A waitlisted candidature terminated from the UI, then the selected one withdraws: the
    campaign records the ended one, alerts the coordinators and promotes the next."""
    async with campaign(time_env, capacity=1, waitlist_size=2) as run:
        receipts = await run.submit_all(ELIGIBLE[:3])
        selected, first_waiting, second_waiting = receipts
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.score_and_deliberate(receipts)
        await run.at(run.plan.response_at + timedelta(hours=1))
        await run.until_candidature(second_waiting, lambda s: s.state == "notified", "liste d'attente notifiée")
        await run.terminate(run.wf(first_waiting))  # as from the Web UI
        await run.coord.withdraw(selected, "La collectivité renonce.")
        promoted = await run.until_candidature(second_waiting, lambda s: s.decision is Decision.SELECTED, "promotion de la suivante")
        assert promoted.transitions[-1].trigger == "promote"
        status = await run.until_campaign(lambda s: first_waiting in s.ended, "dossier terminé constaté")
        assert await run.execution_status(run.handle.id) is WorkflowExecutionStatus.RUNNING
        assert "coord_candidature_ended" in run.fakes.sent(run.handle.id)
        assert status.phase == "decisions"


async def test_a_candidature_terminated_before_the_jury_does_not_block_it(time_env: WorkflowEnvironment) -> None:
    """2. Decisions reach every other candidature; the ended one is neither awaited nor scored."""
    async with campaign(time_env, capacity=1, waitlist_size=1) as run:
        receipts = await run.submit_all(ELIGIBLE[:3])
        gone = list(receipts)[1]
        await run.until_campaign(lambda s: all(e.state == "eligibility_checked" for e in s.candidatures), "éligibles")
        await run.terminate(run.wf(gone))  # as from the Web UI
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.until_campaign(lambda s: gone in s.ended, "dossier terminé constaté à la date limite")
        await run.score_and_deliberate({k: r for k, r in receipts.items() if k != gone})
        await run.at(run.plan.response_at + timedelta(hours=1))
        for key in receipts:
            if key != gone:
                await run.until_candidature(key, lambda s: s.state in ("notified", "closed"), "décision envoyée")


async def test_stale_and_repeated_reports_are_ignored(time_env: WorkflowEnvironment) -> None:
    """3. A report older than the last one applied (a late task, a redelivery) never wins."""
    async with campaign(time_env) as run:
        receipts = await run.submit_all(ELIGIBLE[:1])
        [(key, receipt)] = receipts.items()
        status = await run.until_campaign(lambda s: s.candidatures[0].state == "eligibility_checked", "éligible")
        current = status.candidatures[0].sequence
        stale = CandidatureReport(receipt_number=receipt, key=key, state=State.SUBMITTED, sequence=current - 1)
        repeated = CandidatureReport(receipt_number=receipt, key=key, state=State.ELIGIBILITY_CHECKED, sequence=current)
        for report in (stale, repeated, stale):
            await run.handle.signal(CampaignWorkflow.report, report)
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.coord.score("apes", receipt, {c.id: 3 for c in run.plan.criteria})
        entry = (await run.coord.status()).candidatures[0]
        assert entry.state is State.ELIGIBILITY_CHECKED and entry.sequence == current


async def test_the_candidature_decides_its_correction(time_env: WorkflowEnvironment) -> None:
    """3. `submit` answers what the candidature decided, and the campaign never sets the state itself."""
    async with campaign(time_env) as run:
        first = await run.coord.submit(example("07-laon-incomplet"))
        key = example("07-laon").collectivite.identifier
        await run.until_campaign(lambda s: s.candidatures[0].state == "ineligible", "inéligible, vu de la campagne")
        corrected = await run.coord.submit(example("07-laon"))
        assert corrected.correction and corrected.receipt_number == first.receipt_number
        await run.until_campaign(lambda s: s.candidatures[0].state == "eligibility_checked", "corrigée puis éligible")
        # The same correction again, once eligible: refused by the campaign, the state untouched.
        with pytest.raises(Refused, match="une seule candidature"):
            await run.coord.submit(example("07-laon"))
        # A correction signal delivered late, after the dossier moved on: the candidature refuses it.
        await run.coord.candidature(key).signal(
            CandidatureWorkflow.correct,
            __import__("ami.models.candidature_messages", fromlist=["CorrectionInput"]).CorrectionInput(
                form=example("07-laon"), received_at=run.plan.opens_at, request_id="en-retard"
            ),
        )
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        assert (await run.status(key)).state == "eligibility_checked"


async def test_registration_after_the_deliberation_is_refused(time_env: WorkflowEnvironment) -> None:
    """4. It could never get a decision: refused with a French message, nothing started."""
    async with campaign(time_env) as run:
        receipts = await run.submit_all(ELIGIBLE[:1])
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.score_and_deliberate(receipts)
        with pytest.raises(Refused, match="Le jury a déjà délibéré"):
            await run.coord.submit(example("02-mel"), received_at=run.plan.deadline_at - timedelta(days=1))
        assert len((await run.coord.status()).candidatures) == 1


async def test_a_failed_child_start_is_rolled_back(time_env: WorkflowEnvironment) -> None:
    """5. The campaign restarted while its candidatures still run: the submission is refused, and
    nothing stays `submitted` to block the deliberation."""
    from ami.app.ops import start_campaign

    async with campaign(time_env) as run:
        form = example("01-henin-carvin")
        await run.coord.submit(form)
        await run.until_candidature(form.collectivite.identifier, lambda s: s.state == "eligibility_checked", "éligible")
        await run.terminate(run.handle.id)  # the campaign restarted: its candidature runs on (abandoned)
        run.handle = await start_campaign(time_env.client, run.plan, f"protocol-{run.plan.id}", search_attributes=False)
        with pytest.raises(Refused, match="n'a pas pu être enregistrée"):
            await run.coord.submit(form)
        assert (await run.coord.status()).candidatures == []
        second = await run.coord.submit(example("02-mel"))
        assert second.receipt_number.endswith("-0001")  # the number was not used
        await run.terminate(run.wf(form.collectivite.identifier))


async def test_a_new_execution_under_a_reused_id_sends_its_own_mail(time_env: WorkflowEnvironment) -> None:
    """6. The outbox key carries the first run id of the chain."""
    fakes = FakeActivities()
    reused = f"reuse-{id(fakes):x}"
    async with campaign(time_env, fakes, id=reused) as run:
        form = example("01-henin-carvin")
        wf = run.wf(form.collectivite.identifier)
        await run.coord.submit(form)
        await run.until_candidature(form.collectivite.identifier, lambda s: s.state == "eligibility_checked", "éligible")
        first_run = (await time_env.client.get_workflow_handle(wf).describe()).run_id
        await run.terminate(wf)
    async with campaign(time_env, fakes, id=reused) as again:
        again_wf = again.wf(form.collectivite.identifier)
        await again.coord.submit(form)
        await again.until_candidature(form.collectivite.identifier, lambda s: s.state == "eligibility_checked", "éligible")
        second_run = (await time_env.client.get_workflow_handle(again_wf).describe()).run_id
    receipts = [e for e in fakes.emails if e.purpose == "receipt"]
    assert [e.run_id for e in receipts] == [first_run, second_run] and first_run != second_run


async def test_the_binome_is_confirmed_only_once_the_letter_is_sent(time_env: WorkflowEnvironment) -> None:
    """8. `notified` is published once the letter and the email exist; a confirmation while they are
    pending is refused, and a confirmed binôme goes on to capitalisation without a reminder."""
    fakes = FakeActivities()
    async with campaign(time_env, fakes, capacity=1, waitlist_size=0) as run:
        receipts = await run.submit_all(ELIGIBLE[:1])
        [key] = receipts
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.score_and_deliberate(receipts)
        fakes.hold("decision_selected")
        await run.at(run.plan.response_at + timedelta(seconds=1))
        await eventually(lambda: _ready(fakes.waiting.get("decision_selected", 0)), bool, "courriel de décision en cours")
        assert (await run.status(key)).state == "jury_reviewed"
        with pytest.raises(Refused, match="impossible"):
            await run.coord.confirm_binome(key, *binome(example(ELIGIBLE[0])))
        fakes.release("decision_selected")
        await run.until_candidature(key, lambda s: s.state == "notified", "décision envoyée")
        await run.coord.confirm_binome(key, *binome(example(ELIGIBLE[0])))
        session = run.plan.sessions[0]
        scheduled = await run.coord.set_session(1, session.window_start + timedelta(days=3), "Amiens")
        await run.at(scheduled.ends_at + timedelta(hours=1))
        await run.coord.record_attendance(key, 1, True, True)
        await run.at(scheduled.ends_at + run.plan.capitalisation_delay + timedelta(days=1))
        await run.until_candidature(key, lambda s: s.state == "capitalised", "capitalisée")
        assert "binome_reminder" not in fakes.sent(run.wf(key))
        result = await asyncio.wait_for(run.handle.result(), timeout=30)
        assert result.phase == "done"


async def _ready(value: int) -> bool:
    return value > 0


async def test_a_late_deliberation_after_the_first_session_closes_the_waitlist(time_env: WorkflowEnvironment) -> None:
    """8. Deliberating after the first session started: the waitlisted are closed, never left waiting."""
    async with campaign(time_env, capacity=1, waitlist_size=1) as run:
        receipts = await run.submit_all(ELIGIBLE[:2])
        selected, waiting = receipts
        session = run.plan.sessions[0]
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        scheduled = await run.coord.set_session(1, session.window_start + timedelta(days=2), "Arras")
        await run.at(scheduled.starts_at + timedelta(hours=1))
        await run.score_and_deliberate(receipts)
        closed = await run.until_candidature(waiting, lambda s: s.state == "closed", "liste d'attente close")
        assert closed.decision is Decision.WAITLISTED
        assert run.fakes.sent(run.wf(waiting))[-2:] == ["decision_waitlisted", "waitlist_closed"]


async def test_a_candidature_goes_on_when_its_campaign_has_ended(own_time_env: WorkflowEnvironment) -> None:
    """8. Reports to a campaign that no longer runs are dropped; the candidature ends normally.
    On a server of its own: the test server keeps a lock after this (docs/testing.md)."""
    async with campaign(own_time_env) as run:
        receipts = await run.submit_all(ELIGIBLE[:1])
        [key] = receipts
        await run.until_candidature(key, lambda s: s.state == "eligibility_checked", "éligible")
        await run.terminate(run.handle.id)  # the campaign stopped
        await run.coord.withdraw(key, "La collectivité renonce.")
        await eventually(lambda: run.execution_status(run.wf(key)), lambda s: s is WorkflowExecutionStatus.COMPLETED, "fin normale")


async def test_a_late_form_gets_only_the_closing_email(time_env: WorkflowEnvironment) -> None:
    """9. No « corrigez avant le … » with a date already past."""
    async with campaign(time_env) as run:
        await run.at(run.plan.deadline_at + timedelta(hours=2))
        form = example("02-mel")
        await run.coord.submit(form)
        await run.until_candidature(form.collectivite.identifier, lambda s: s.state == "closed", "close")
        assert run.fakes.sent(run.wf(form.collectivite.identifier)) == ["receipt", "coord_new_candidature", "closed_ineligible"]


async def test_promoted_before_the_response_date_gets_one_letter(time_env: WorkflowEnvironment) -> None:
    """9. The selected letter, not the waitlist letter followed at once by the promotion."""
    async with campaign(time_env, capacity=1, waitlist_size=1) as run:
        receipts = await run.submit_all(ELIGIBLE[:2])
        selected, waiting = receipts
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.score_and_deliberate(receipts)
        await run.until_candidature(selected, lambda s: s.state == "jury_reviewed", "décision reçue")
        await run.coord.withdraw(selected, "La collectivité renonce avant la réponse.")
        await run.at(run.plan.response_at + timedelta(hours=1))
        status = await run.until_candidature(waiting, lambda s: s.state == "notified", "notifiée")
        assert status.decision is Decision.SELECTED
        sent = run.fakes.sent(run.wf(waiting))
        assert "decision_selected" in sent and "decision_waitlisted" not in sent and "promoted" not in sent
        await run.coord.confirm_binome(waiting, *binome(example(ELIGIBLE[1])))


async def test_a_withdrawal_during_the_letter_sends_no_decision(time_env: WorkflowEnvironment) -> None:
    """9. Withdrawn while the decision letter is being made: no decision email follows."""
    fakes = FakeActivities()
    async with campaign(time_env, fakes, capacity=1, waitlist_size=0) as run:
        receipts = await run.submit_all(ELIGIBLE[:1])
        [key] = receipts
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.score_and_deliberate(receipts)
        fakes.hold("decision_letter")
        await run.at(run.plan.response_at + timedelta(seconds=1))
        await eventually(lambda: _ready(fakes.waiting.get("decision_letter", 0)), bool, "lettre en cours")
        await run.coord.withdraw(key, "La collectivité renonce.")
        fakes.release("decision_letter")
        await eventually(lambda: run.execution_status(run.wf(key)), lambda s: s is WorkflowExecutionStatus.COMPLETED, "fin")
        sent = run.fakes.sent(run.wf(key))
        assert "withdrawn" in sent and not [p for p in sent if p.startswith("decision_")]


async def test_everything_at_once_ends_with_every_candidature_final(time_env: WorkflowEnvironment) -> None:
    """Terminated, withdrawn, corrected and registered late in one campaign: all final, campaign done."""
    async with campaign(time_env, capacity=2, waitlist_size=1) as run:
        receipts = await run.submit_all(ELIGIBLE[:4])
        await run.coord.submit(example("07-laon-incomplet"))
        laon = example("07-laon").collectivite.identifier
        await run.until_campaign(lambda s: any(e.key == laon and e.state == "ineligible" for e in s.candidatures), "inéligible")
        receipts[laon] = (await run.coord.submit(example("07-laon"))).receipt_number
        a, b, c, d = list(receipts)[:4]
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        late = example("08-beauvaisis")
        await run.coord.submit(late)
        await run.score_and_deliberate(receipts, order=[a, b, c, d, laon])
        await run.at(run.plan.response_at + timedelta(hours=1))
        await run.until_candidature(c, lambda s: s.state == "notified", "c notifiée")
        await run.terminate(run.wf(c))  # the waitlisted one, as from the Web UI
        await run.coord.withdraw(b, "La collectivité renonce.")
        await run.coord.confirm_binome(a, *binome(example(ELIGIBLE[0])))
        session = run.plan.sessions[0]
        scheduled = await run.coord.set_session(1, session.window_start + timedelta(days=3), "Lille")
        await run.at(scheduled.ends_at + timedelta(hours=1))
        await run.coord.record_attendance(a, 1, True, False)
        await run.at(scheduled.ends_at + run.plan.capitalisation_delay + timedelta(days=2))
        result = await asyncio.wait_for(run.handle.result(), timeout=60)
        assert result.phase == "done"
        assert all(e.final for e in result.candidatures), result.candidatures
        assert result.ended == [c]
        states = {e.key: e.state.value for e in result.candidatures}
        assert states[a] == "capitalised" and states[b] == "closed" and states[late.collectivite.identifier] == "closed"


async def test_updates_keep_coming_while_the_campaign_continues_as_new(time_env: WorkflowEnvironment) -> None:
    """7. A stream of updates never starves continue-as-new: while it renews, the campaign refuses
    new updates for an instant and the client retries them; nothing is lost or doubled."""
    async with campaign(time_env, continue_as_new_at=40, capacity=2) as run:
        forms = [example(stem) for stem in ELIGIBLE]
        results = await asyncio.gather(*(run.coord.submit(form) for form in forms))
        assert sorted(r.receipt_number[-4:] for r in results) == ["0001", "0002", "0003", "0004", "0005"]
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.until_campaign(lambda s: all(e.state == "eligibility_checked" for e in s.candidatures), "éligibles")
        members = [m.id for m in run.plan.jury][:3]
        await asyncio.gather(
            *(run.coord.score(m, r.receipt_number, {c.id: 3 for c in run.plan.criteria}) for r in results for m in members)
        )
        status = await run.coord.status()
        assert all(len(marks) == len(members) for marks in status.scores.values()) and len(status.scores) == len(forms)
        described = await run.handle.describe()
        assert described.run_id != run.handle.first_execution_run_id, "la campagne aurait dû continuer comme nouvelle"


async def test_a_template_that_cannot_render_alerts_the_coordinators_once(time_env: WorkflowEnvironment) -> None:
    """A template error is not retried: the dossier goes on, the coordinators get one alert."""
    fakes = FakeActivities(broken_templates={"receipt"})
    async with campaign(time_env, fakes) as run:
        receipts = await run.submit_all(ELIGIBLE[:1])
        [key] = receipts
        status = await run.until_candidature(key, lambda s: s.state == "eligibility_checked", "éligible malgré le modèle")
        assert status.bounces and status.bounces[0].startswith("receipt:")
        assert run.fakes.sent(run.wf(key), "coord_bounce") == ["coord_bounce"]
