"""Issue 6 — the jury: scores, conflicts of interest, ties, overrides, late deliberation, refusals."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from ami.examples import example
from ami.mail.filters import date_fr
from ami.mail.sink import EmlWriter
from ami.ops import Coordination, Refused, start_campaign
from ami.settings import Settings
from ami.store import store_for
from models.messages import Decision, Override
from models.tables import ReviewRow
from tests.cohort import (
    body_text,
    cohort,
    eventually,
    expected_id,
    read_mails,
    terminate_all,
)
from tests.scenario import binome, marks, plan_starting, skip_to
from worker import build_worker
from workflows.campaign import campaign_workflow_id
from workflows.candidature import candidature_workflow_id

MEMBERS = ["apes", "cress", "chercheur", "reseau"]


async def refused(action: object, message: str) -> None:
    """The action is refused with exactly this French message."""
    with pytest.raises(Refused) as caught:
        await action  # type: ignore[misc]
    assert str(caught.value) == message, str(caught.value)


async def test_jury_scores_conflict_tie_override_and_refusals(time_env: WorkflowEnvironment, settings: Settings) -> None:
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="jury")
    forms = cohort(15)
    async with build_worker(env.client, settings):
        await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=2))
        t0 = plan.opens_at + timedelta(days=1)
        receipts: list[str] = []
        for n, form in enumerate(forms):
            # The second form is registered after the first but was received earlier (a letter
            # opened late): on a tie, the earlier receipt wins, not the receipt number.
            received = t0 + timedelta(minutes={0: 10, 1: 5}.get(n, 20 + n))
            receipts.append((await coord.submit(form, received_at=received)).receipt_number)
        outside = (await coord.submit(example("13-reims"))).receipt_number
        assert len(set(receipts)) == 15

        await refused(coord.deliberate(), "Le jury ne délibère qu'après la date limite de dépôt.")
        await skip_to(env, plan.deadline_at + timedelta(hours=1))

        async def settled() -> bool:
            states = {e.receipt_number: e.state for e in (await coord.status()).candidatures}
            return all(states[r] == "eligibility_checked" for r in receipts) and states[outside] == "closed"

        await eventually(settled, what="éligibilité des 15 candidatures")
        tie_first, tie_second, conflicted, twice, low = receipts[0], receipts[1], receipts[2], receipts[3], receipts[14]

        # --- refusals of a score ----------------------------------------------------------------
        await refused(coord.score("inconnu", tie_first, marks(3)), "Membre du jury inconnu : inconnu.")
        await refused(coord.score("apes", tie_first, {**marks(3), "motivation": 6}), "Notes hors de l'échelle 0 à 5 : motivation=6.")
        await refused(
            coord.score("apes", tie_first, {**marks(3), "charisme": 3}),
            "Critère(s) inconnu(s) : charisme (critères de la campagne : adaptabilite, apport, binome, motivation, numerique, posture).",
        )
        partial = {k: v for k, v in marks(3).items() if k != "apport"}
        await refused(coord.score("apes", tie_first, partial), "Note manquante pour : apport.")
        await refused(
            coord.score("apes", outside, marks(3)),
            f"La candidature {outside} n'est pas en attente du jury (état closed) : elle ne peut pas être notée.",
        )

        # --- a conflict of interest: the earlier score no longer counts, the member is excluded -
        await coord.score("reseau", conflicted, marks(0))
        await coord.declare_conflict("reseau", conflicted, "Élu de la même intercommunalité")
        st = await coord.status()
        assert "reseau" not in st.scores[conflicted]
        assert st.conflicts[conflicted] == ["reseau"]
        await refused(
            coord.score("reseau", conflicted, marks(5)),
            f"Le membre reseau a déclaré un conflit d'intérêts sur {conflicted} : il ne peut pas la noter.",
        )

        # --- a member scoring twice: the last score counts, the trace keeps both ----------------
        await coord.score("apes", twice, marks(1))
        await coord.score("apes", twice, marks(4))
        assert (await coord.status()).scores[twice]["apes"] == marks(4)

        # Quorum: every eligible candidature needs two reviews by non-conflicted members.
        with pytest.raises(Refused) as caught:
            await coord.deliberate()
        assert str(caught.value).startswith("Quorum non atteint pour : "), caught.value
        assert f"{conflicted} (0/2)" in str(caught.value) and f"{twice} (1/2)" in str(caught.value)

        # Scores: the tie pair share 4, the conflicted one gets 5 from apes and cress (the 0 from
        # reseau would have pulled it down), the rest decreasing so that `low` is last.
        for n, receipt in enumerate(receipts):
            base = {0: 4, 1: 4, 2: 5, 3: 4}.get(n, 3 if n < 14 else 0)
            for member in ("apes", "cress"):
                if receipt == twice and member == "apes":
                    continue
                await coord.score(member, receipt, marks(base))

        justification = "Seule candidature d'un territoire rural du sud de l'Aisne : équilibre territorial du groupe."
        await refused(
            coord.deliberate("Claire Duval", [Override(receipt_number=outside, decision=Decision.SELECTED, justification=justification)]),
            f"Dérogation impossible : {outside} n'est pas une candidature éligible en attente du jury.",
        )
        result = await coord.deliberate(
            "Claire Duval", [Override(receipt_number=low, decision=Decision.SELECTED, justification=justification)]
        )
        ranking = {r.receipt_number: r for r in result.ranking}
        assert result.ranking[0].receipt_number == conflicted and result.ranking[0].score == 5.0
        # The tie: same score, the one received earlier (registered second) ranks first.
        assert ranking[tie_first].score == ranking[tie_second].score
        assert ranking[tie_second].rank < ranking[tie_first].rank
        assert ranking[low].overridden and ranking[low].decision is Decision.SELECTED and ranking[low].rank == 15
        counts = {d: sum(1 for r in result.ranking if r.decision is d) for d in Decision}
        assert counts == {Decision.SELECTED: 10, Decision.WAITLISTED: 5, Decision.NOT_SELECTED: 0}
        assert [r.waitlist_position for r in result.ranking if r.decision is Decision.WAITLISTED] == [1, 2, 3, 4, 5]

        # The override is in the status query, with its author and its justification.
        deliberation = (await coord.status()).deliberation
        assert deliberation is not None and deliberation.actor == "Claire Duval"
        assert [(o.receipt_number, o.decision, o.justification) for o in deliberation.overrides] == [
            (low, Decision.SELECTED, justification)
        ]

        # --- after the deliberation ---------------------------------------------------------------
        await refused(coord.deliberate(), "Le jury a déjà délibéré pour cette campagne.")
        await refused(coord.score("chercheur", tie_first, marks(2)), "Le jury a déjà délibéré : les notes sont closes.")
        await refused(coord.declare_conflict("chercheur", tie_first), "Le jury a déjà délibéré : les notes sont closes.")

        # The trace: both scores of `twice` by apes are in the store, the second marked as a replacement.
        store = store_for(settings.resolved_database_url())
        reviews = [r for r in store.facts(ReviewRow, plan.id) if isinstance(r, ReviewRow)]
        rows = [r for r in reviews if r.receipt_number == twice and r.member_id == "apes"]
        assert [(r.scores, r.replaces) for r in rows] == [(marks(1), False), (marks(4), True)]
        trail = [(r.kind, r.scores) for r in reviews if r.receipt_number == conflicted and r.member_id == "reseau"]
        assert trail == [("score", marks(0)), ("conflict", None)]
        await terminate_all(coord)


async def test_late_deliberation_alerts_and_holds_the_decisions(time_env: WorkflowEnvironment, settings: Settings, sink: EmlWriter) -> None:
    """No deliberation by the eve of the response date: coordinators alerted, nothing sent until it."""
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="late", capacity=1, waitlist_size=1)
    forms = [example(s) for s in ("01-henin-carvin", "02-mel", "03-libercourt")]
    campaign_id = campaign_workflow_id(plan.id)
    async with build_worker(env.client, settings):
        await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        receipts = [(await coord.submit(f)).receipt_number for f in forms]
        await skip_to(env, plan.deadline_at + timedelta(hours=1))
        for n, receipt in enumerate(receipts):
            for member in ("apes", "cress"):
                await coord.score(member, receipt, marks(5 - n))
        await skip_to(env, plan.response_at + timedelta(hours=6))
        alert = expected_id(settings, campaign_id, "coord_jury_late")
        await eventually(lambda: alert in read_mails(sink.out_dir), what="alerte coord_jury_late")
        mails = read_mails(sink.out_dir)
        assert "n'a pas délibéré" in str(mails[alert]["Subject"])
        for form in forms:
            wf = candidature_workflow_id(plan.id, form.collectivite.identifier)
            assert not {expected_id(settings, wf, f"decision_{d.value}") for d in Decision} & set(mails)
        for form in forms:
            st = await coord.candidature_status(form.collectivite.identifier)
            assert st.state == "eligibility_checked" and st.decision is None, st.state

        deliberated_at = await env.get_current_time()
        result = await coord.deliberate()
        assert [r.decision for r in result.ranking] == [Decision.SELECTED, Decision.WAITLISTED, Decision.NOT_SELECTED]

        def decision_ids() -> dict[str, str]:  # read from the outbox once queued
            return {
                f.collectivite.identifier: expected_id(
                    settings, candidature_workflow_id(plan.id, f.collectivite.identifier), f"decision_{r.decision.value}"
                )
                for f, r in zip(forms, result.ranking, strict=True)
            }

        await eventually(
            lambda: set(decision_ids().values()) <= set(read_mails(sink.out_dir)), what="envoi des décisions après la délibération"
        )
        ids = decision_ids()
        selected = forms[0].collectivite.identifier

        async def notified() -> bool:  # published right after the email: `notified` means it was sent
            return (await coord.candidature_status(selected)).state == "notified"

        await eventually(notified, what="état notified publié après le courriel")
        st = await coord.candidature_status(selected)
        assert st.next_deadline_label == "confirmation du binôme"
        # The collectivité is given the whole confirmation window from the moment it is told.
        assert st.next_deadline is not None and st.next_deadline >= deliberated_at + plan.confirmation_window
        letter = read_mails(sink.out_dir)[ids[selected]]
        day = date_fr(plan.published(st.next_deadline), plan.timezone)
        assert day in body_text(letter), body_text(letter)
        pdf = next(p for p in letter.iter_attachments() if p.get_content_type() == "application/pdf")
        pdf_text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
        assert day in pdf_text, pdf_text
        await terminate_all(coord)


async def test_withdrawal_before_first_session_promotes_and_asks_confirmation(
    time_env: WorkflowEnvironment, settings: Settings, sink: EmlWriter
) -> None:
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="promo", capacity=2, waitlist_size=2)
    forms = cohort(5)
    async with build_worker(env.client, settings):
        await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        receipts = [(await coord.submit(f)).receipt_number for f in forms]
        await skip_to(env, plan.deadline_at + timedelta(hours=1))
        for n, receipt in enumerate(receipts):
            for member in ("chercheur", "reseau"):
                await coord.score(member, receipt, marks(5 - n))
        await coord.deliberate()
        await skip_to(env, plan.response_at + timedelta(hours=1))
        keys = [f.collectivite.identifier for f in forms]
        await coord.confirm_binome(keys[0], *binome(forms[0]))
        await coord.withdraw(keys[1], "Le conseil communautaire n'a pas validé la participation.")
        first_waitlisted = keys[2]

        async def promoted() -> bool:
            return "promote" in [t.trigger for t in (await coord.candidature_status(first_waitlisted)).transitions]

        await eventually(promoted, what="promotion du premier de la liste d'attente")
        st = await coord.candidature_status(first_waitlisted)
        assert st.decision is Decision.SELECTED and st.state == "notified"
        assert st.next_deadline_label == "confirmation du binôme" and st.next_deadline is not None
        promoted_wf = candidature_workflow_id(plan.id, first_waitlisted)
        await eventually(lambda: expected_id(settings, promoted_wf, "promoted") in read_mails(sink.out_dir), what="courriel de promotion")
        mail_id = expected_id(settings, promoted_wf, "promoted")
        text = body_text(read_mails(sink.out_dir)[mail_id])
        assert "confirmer votre participation" in text and date_fr(plan.published(st.next_deadline), plan.timezone) in text, text
        # The second waitlisted stays on the list.
        second = await coord.candidature_status(keys[3])
        assert second.decision is Decision.WAITLISTED and second.state == "notified"
        await coord.confirm_binome(first_waitlisted, *binome(forms[2]))
        await terminate_all(coord)
