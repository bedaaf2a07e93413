"""The cycle end to end: a freed seat, an absence, a withdrawal, capitalisation, the report, history size."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from ami.app.ops import Coordination, Refused, start_campaign
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings
from ami.models.campaign_plan import SessionPlan
from ami.models.values import Decision
from ami.worker.runner import build_worker
from ami.workflows.campaign import campaign_workflow_id
from ami.workflows.candidature import candidature_workflow_id
from tests.cohort import (
    cohort,
    eventually,
    expected_id,
    read_mails,
)
from tests.scenario import binome, marks, plan_starting, skip_to

# Temporal warns at 10,240 events (or 10 MB) in one history and terminates at 51,200 (50 MB).
HISTORY_WARNING = 10_240


def on_day(session: SessionPlan, day: int, hour: int = 14) -> datetime:
    """`day` of the session's published month at `hour` (on the shifted calendar)."""
    return session.window_start + timedelta(days=day - 1, hours=hour)


async def refused(action: object, message: str) -> None:
    with pytest.raises(Refused) as caught:
        await action  # type: ignore[misc]
    assert str(caught.value) == message, str(caught.value)


async def test_full_cycle(time_env: WorkflowEnvironment, settings: Settings, sink: EmlWriter) -> None:
    """Six sessions on the real worker, for what only the whole house shows: a seat freed by a missed
    confirmation goes to the waitlist, an absence and a withdrawal in mid-cycle reach the campaign
    report's figures, and the histories stay small. Moved sessions, reminders and refusals of each
    workflow are in tests/workflows/ (fast, with fake activities)."""
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="cycle", capacity=4, waitlist_size=2)
    s1 = plan.sessions[0]
    forms = cohort(6)
    keys = [f.collectivite.identifier for f in forms]
    wf = {k: candidature_workflow_id(plan.id, k) for k in keys}
    campaign_wf = campaign_workflow_id(plan.id)

    def mails() -> dict[str, EmailMessage]:
        return read_mails(sink.out_dir)

    def sent(key: str, purpose: str, occurrence: str = "1") -> bool:
        return expected_id(settings, wf[key], purpose, occurrence) in mails()

    async with build_worker(env.client, settings):
        handle = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        for form in forms:
            await coord.submit(form)
        await skip_to(env, plan.deadline_at + timedelta(hours=1))

        async def all_eligible() -> bool:
            return all(e.state == "eligibility_checked" for e in (await coord.status()).candidatures)

        await eventually(all_eligible, what="éligibilité des 6 candidatures")
        receipts = [e.receipt_number for e in (await coord.status()).candidatures]
        for n, receipt in enumerate(receipts):
            for member in ("apes", "cress"):
                await coord.score(member, receipt, marks(5 if n < 4 else 3))
        result = await coord.deliberate()
        assert [r.decision for r in result.ranking] == [Decision.SELECTED] * 4 + [Decision.WAITLISTED] * 2
        for session in plan.sessions:  # dated at once: no « séance sans date » alert
            await coord.set_session(session.number, on_day(session, 15), "Lille, Maison de l'ESS")

        # --- decisions, confirmations, a missed confirmation frees a seat -----------------------------
        await skip_to(env, plan.response_at + timedelta(hours=1))
        selected, silent, waitlisted = keys[:3], keys[3], keys[4:]
        for key, form in zip(selected, forms, strict=False):
            await coord.confirm_binome(key, *binome(form))
        await skip_to(env, plan.response_at + plan.confirmation_window + timedelta(hours=1))

        async def withdrawn_and_promoted() -> bool:
            return (await coord.candidature_status(silent)).state == "closed" and sent(waitlisted[0], "promoted")

        await eventually(withdrawn_and_promoted, what="retrait faute de confirmation et promotion")
        assert sent(silent, "binome_reminder") and sent(silent, "withdrawn_unconfirmed")
        await coord.confirm_binome(waitlisted[0], *binome(forms[4]))
        enrolled = [*selected, waitlisted[0]]
        await refused(coord.record_feedback(enrolled[0], 1, 4), "Aucune présence enregistrée pour la séance 1 : enregistrez-la d'abord.")

        # --- session 1 is held; one collectivité is absent ------------------------------------------
        absent = enrolled[1]
        await skip_to(env, on_day(s1, 15, 19))
        for key in enrolled:
            await coord.record_attendance(key, 1, key != absent, key != absent, others=1)
            if key != absent:
                await coord.record_feedback(key, 1, 4, "Des échanges très concrets.")
        await eventually(lambda: sent(absent, "absence_followup", "1"), what="courriel de suivi d'absence")

        # --- a withdrawal in mid-cycle: it closes, the others go on, nobody is promoted -------------
        leaving = enrolled[2]
        st = await coord.withdraw(leaving, "Changement d'exécutif : la collectivité se retire du cycle.")
        assert st.state == "closed"
        assert (await coord.candidature_status(waitlisted[1])).state == "closed"  # the first session ended the waitlist
        assert not sent(waitlisted[1], "promoted") and sent(waitlisted[1], "waitlist_closed")
        staying = [k for k in enrolled if k != leaving]

        for session in plan.sessions[1:]:
            await skip_to(env, on_day(session, 15, 19))
            for key in staying:
                await coord.record_attendance(key, session.number, True, key != absent)
                await coord.record_feedback(key, session.number, 5 if session.number % 2 else 4)
        for key in staying[:2]:
            await coord.record_experiment(key, "Une plateforme coopérative de livraison à vélo avec une SCIC locale.")

        final = await handle.result()
        assert final.phase == "done"
        states = {e.key: e.state for e in final.candidatures}
        assert {k for k, s in states.items() if s == "capitalised"} == set(staying)
        first = enrolled[0]
        done = await coord.candidature_status(first)
        kinds = [d.kind for d in done.documents]
        assert "certificate" in kinds and "collectivite_report" in kinds, kinds
        assert sent(first, "certificate")
        report = mails()[expected_id(settings, campaign_wf, "coord_campaign_report")]
        pdfs = [p for p in report.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")
        # Each session as it happened: session 1 counts the collectivité that withdrew after it (4 invited, 3 present,
        # 3 complete binômes); session 2 does not (3 invited, 3 present, 2 complete). Region by name.
        pages = PdfReader(io.BytesIO(pdfs[0].get_content())).pages
        report_text = " ".join(" ".join((page.extract_text() or "").replace("\u202f", " ").split()) for page in pages)
        assert "Région Hauts-de-France" in report_text and "32" not in report_text.split("Chiffres clés")[0]
        assert "4 3 3 (100 %)" in report_text and "3 3 2 (67 %)" in report_text, report_text

        # --- history sizes --------------------------------------------------------------------------
        candidature_events = len((await coord.candidature(first).fetch_history()).events)
        campaign_events = len((await handle.fetch_history()).events)
        print(f"\nhistorique d'une candidature (cycle complet, 6 séances) : {candidature_events} événements")
        print(f"historique de la campagne (6 candidatures) : {campaign_events} événements")
        assert candidature_events < HISTORY_WARNING // 10
        assert campaign_events < HISTORY_WARNING // 10
