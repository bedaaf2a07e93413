"""The jury: scores, conflicts of interest, ties, overrides, late deliberation, refusals."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, Refused, start_campaign
from ami.infra.mail.filters import date_fr
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.campaign_messages import Override
from ami.models.tables import ReviewRow
from ami.models.values import Decision
from ami.worker.runner import build_worker
from ami.workflows.campaign import campaign_workflow_id
from ami.workflows.candidature import candidature_workflow_id
from tests.cohort import (
    body_text,
    cohort,
    eventually,
    expected_id,
    read_mails,
    terminate_all,
)
from tests.scenario import binome, marks, plan_starting, skip_to

MEMBERS = ["apes", "cress", "chercheur", "reseau"]


async def refused(action: object, message: str) -> None:
    """The action is refused with exactly this French message."""
    with pytest.raises(Refused) as caught:
        await action  # type: ignore[misc]
    assert str(caught.value) == message, str(caught.value)


async def test_the_jury_through_the_campaign_and_its_journal(time_env: WorkflowEnvironment, settings: Settings) -> None:
    """The jury's updates on the real worker: refusals come back to the coordinator in French, a
    conflict and a second score land in the store's journal, an override takes a seat and is shown
    with its author. The rules themselves (ties, quorum, every refusal) are in tests/domain/test_jury.py."""
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="jury", capacity=1, waitlist_size=1)
    forms = cohort(3)
    async with build_worker(env.client, settings):
        await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        receipts = [(await coord.submit(form)).receipt_number for form in forms]
        await refused(coord.deliberate(), "Le jury ne délibère qu'après la date limite de dépôt.")
        await skip_to(env, plan.deadline_at + timedelta(hours=1))

        async def settled() -> bool:
            return all(e.state == "eligibility_checked" for e in (await coord.status()).candidatures)

        await eventually(settled, what="éligibilité des 3 candidatures")
        twice, conflicted, low = receipts
        await refused(coord.score("apes", twice, {**marks(3), "motivation": 6}), "Notes hors de l'échelle 0 à 5 : motivation=6.")

        # A conflict of interest: the earlier score no longer counts, the member is excluded.
        await coord.score("reseau", conflicted, marks(0))
        await coord.declare_conflict("reseau", conflicted, "Élu de la même intercommunalité")
        st = await coord.status()
        assert "reseau" not in st.scores[conflicted] and st.conflicts[conflicted] == ["reseau"]
        await refused(
            coord.score("reseau", conflicted, marks(5)),
            f"Le membre reseau a déclaré un conflit d'intérêts sur {conflicted} : il ne peut pas la noter.",
        )
        # A member scoring twice: the last score counts, the journal keeps both.
        await coord.score("apes", twice, marks(1))
        for receipt, base in ((twice, 4), (conflicted, 5), (low, 0)):
            for member in ("apes", "cress"):
                await coord.score(member, receipt, marks(base))
        assert (await coord.status()).scores[twice]["apes"] == marks(4)

        justification = "Seule candidature d'un territoire rural du sud de l'Aisne : équilibre territorial du groupe."
        result = await coord.deliberate(
            "Claire Duval", [Override(receipt_number=low, decision=Decision.SELECTED, justification=justification)]
        )
        decisions = {r.receipt_number: (r.decision, r.overridden) for r in result.ranking}
        assert decisions == {
            conflicted: (Decision.WAITLISTED, False),
            twice: (Decision.NOT_SELECTED, False),
            low: (Decision.SELECTED, True),
        }
        deliberation = (await coord.status()).deliberation
        assert deliberation is not None and deliberation.actor == "Claire Duval"
        assert [(o.receipt_number, o.justification) for o in deliberation.overrides] == [(low, justification)]
        await refused(coord.deliberate(), "Le jury a déjà délibéré pour cette campagne.")

        # The journal in the store: both scores of `twice` by apes, the second marked as a replacement.
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
    plan = plan_starting(await env.get_current_time(), id="promo", capacity=1, waitlist_size=2)
    forms = cohort(4)
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
        await coord.withdraw(keys[0], "Le conseil communautaire n'a pas validé la participation.")
        first_waitlisted = keys[1]

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
        # The second waitlisted stays on the list; the one not selected is closed.
        second = await coord.candidature_status(keys[2])
        assert second.decision is Decision.WAITLISTED and second.state == "notified"
        assert (await coord.candidature_status(keys[3])).state == "closed"
        confirmed = await coord.confirm_binome(first_waitlisted, *binome(forms[1]))
        assert confirmed.state == "enrolled"
        await terminate_all(coord)
