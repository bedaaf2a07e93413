"""Issue 7 — the cycle: sessions that move, reminders, absences, withdrawals, capitalisation, history size."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from email.message import EmailMessage

import pytest
from icalendar import Calendar
from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from ami.mail.sink import EmlWriter
from ami.ops import Coordination, Refused, start_campaign
from ami.settings import Settings
from models.campaign import SessionPlan
from models.messages import Decision
from tests.cohort import (
    cohort,
    eventually,
    expected_id,
    read_mails,
)
from tests.scenario import binome, marks, plan_starting, skip_to
from worker import build_worker
from workflows.campaign import campaign_workflow_id
from workflows.candidature import candidature_workflow_id

# Temporal warns at 10,240 events (or 10 MB) in one history and terminates at 51,200 (50 MB).
HISTORY_WARNING = 10_240


def on_day(session: SessionPlan, day: int, hour: int = 14) -> datetime:
    """`day` of the session's published month at `hour` (on the shifted calendar)."""
    return session.window_start + timedelta(days=day - 1, hours=hour)


def ics_of(message: EmailMessage) -> tuple[str, int, datetime]:
    """(UID, SEQUENCE, DTSTART) of the `.ics` attached to an invitation."""
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            event = Calendar.from_ical(part.get_content()).walk("VEVENT")[0]
            return str(event["UID"]), int(str(event["SEQUENCE"])), event.decoded("DTSTART")
    raise AssertionError("pas de fichier .ics joint")


async def refused(action: object, message: str) -> None:
    with pytest.raises(Refused) as caught:
        await action  # type: ignore[misc]
    assert str(caught.value) == message, str(caught.value)


async def test_full_cycle(time_env: WorkflowEnvironment, settings: Settings, sink: EmlWriter) -> None:
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="cycle")
    s1, s2 = plan.sessions[0], plan.sessions[1]
    forms = cohort(15)
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

        await eventually(all_eligible, what="éligibilité des 15 candidatures")
        receipts = [e.receipt_number for e in (await coord.status()).candidatures]
        for n, receipt in enumerate(receipts):
            for member in ("apes", "cress"):
                await coord.score(member, receipt, marks(5 if n < 10 else 3))
        result = await coord.deliberate()
        assert [r.decision for r in result.ranking] == [Decision.SELECTED] * 10 + [Decision.WAITLISTED] * 5
        # Session 1 is dated right away (its « undated » alert must not fire); session 2 is not.
        await coord.set_session(1, on_day(s1, 10), "Lille, Maison de l'ESS")

        # --- decisions, confirmations, a missed confirmation ---------------------------------------
        await skip_to(env, plan.response_at + timedelta(hours=1))
        selected, silent, waitlisted = keys[:9], keys[9], keys[10:]
        for key, form in zip(selected, forms, strict=False):
            await coord.confirm_binome(key, *binome(form))
        await skip_to(env, plan.response_at + plan.confirmation_window / 2 + timedelta(hours=1))
        await eventually(lambda: sent(silent, "binome_reminder"), what="relance de confirmation")
        assert (await coord.candidature_status(silent)).state == "notified"
        await skip_to(env, plan.response_at + plan.confirmation_window + timedelta(hours=1))

        async def withdrawn_and_promoted() -> bool:
            return (await coord.candidature_status(silent)).state == "closed" and sent(waitlisted[0], "promoted")

        await eventually(withdrawn_and_promoted, what="retrait faute de confirmation et promotion")
        assert sent(silent, "withdrawn_unconfirmed")
        late = await coord.candidature_status(silent)
        assert late.transitions[-1].trigger == "withdraw" and late.transitions[-1].justification == "binôme non confirmé dans le délai"
        assert (await coord.candidature_status(waitlisted[1])).decision is Decision.WAITLISTED
        await coord.confirm_binome(waitlisted[0], *binome(forms[10]))
        enrolled = [*selected, waitlisted[0]]

        # --- session 1 moves twice: same UID, higher SEQUENCE; the stale reminders never fire -------
        await skip_to(env, on_day(s1, 2, 0))
        await coord.set_session(1, on_day(s1, 17), "Lille, Maison de l'ESS")
        await skip_to(env, on_day(s1, 5, 0))
        moved = await coord.set_session(1, on_day(s1, 15), "Arras, Citadelle")
        assert moved.sequence == 2

        # --- session 2 still undated 21 days before its month: coordinators alerted ----------------
        await skip_to(env, s2.window_start - plan.session_alert_lead + timedelta(hours=12))
        await eventually(
            lambda: expected_id(settings, campaign_wf, "coord_session_undated", "2") in mails(), what="alerte séance 2 sans date"
        )
        assert expected_id(settings, campaign_wf, "coord_session_undated", "1") not in mails()
        first = enrolled[0]
        await refused(
            coord.record_attendance(first, 2, True, True), "La séance 2 n'a pas encore de date : impossible d'y enregistrer une présence."
        )
        await refused(coord.record_attendance(first, 1, True, True), "La séance 1 n'a pas encore eu lieu.")
        await refused(coord.record_feedback(first, 1, 4), "Aucune présence enregistrée pour la séance 1 : enregistrez-la d'abord.")
        for session in plan.sessions[1:]:
            await coord.set_session(session.number, on_day(session, 15), "Lille, Maison de l'ESS")

        # --- session 1 is held; one collectivité is absent ------------------------------------------
        absent = enrolled[1]
        await skip_to(env, on_day(s1, 15, 19))
        for key in enrolled:
            await coord.record_attendance(key, 1, key != absent, key != absent, others=1)
            if key != absent:
                await coord.record_feedback(key, 1, 4, "Des échanges très concrets.")
        await eventually(lambda: sent(absent, "absence_followup", "1"), what="courriel de suivi d'absence")
        assert not sent(first, "absence_followup", "1")

        invitations = [
            mails()[expected_id(settings, wf[first], p, f"1-{seq}")]
            for seq, p in enumerate(["session_invitation", "session_updated", "session_updated"])
        ]
        calendars = [ics_of(m) for m in invitations]
        assert len({uid for uid, _, _ in calendars}) == 1
        assert [seq for _, seq, _ in calendars] == [0, 1, 2]
        assert calendars[2][2] == plan.published(on_day(s1, 15))  # the .ics carries the published instant
        assert "Changement" in str(invitations[2]["Subject"])
        for occurrence in ("1-0-0", "1-0-1", "1-1-0", "1-1-1"):
            assert not sent(first, "session_reminder", occurrence), occurrence
        assert sent(first, "session_reminder", "1-2-0") and sent(first, "session_reminder", "1-2-1")

        # --- a withdrawal in mid-cycle: it closes, the others go on, nobody is promoted -------------
        leaving = enrolled[2]
        st = await coord.withdraw(leaving, "Changement d'exécutif : la collectivité se retire du cycle.")
        assert st.state == "closed"
        for key in waitlisted[1:]:
            assert (await coord.candidature_status(key)).state == "closed"
            assert not sent(key, "promoted") and sent(key, "waitlist_closed")
        staying = [k for k in enrolled if k != leaving]

        for session in plan.sessions[1:]:
            await skip_to(env, on_day(session, 15, 19))
            for key in staying:
                await coord.record_attendance(key, session.number, True, key != absent)
                await coord.record_feedback(key, session.number, 5 if session.number % 2 else 4)
        for key in staying[:3]:
            await coord.record_experiment(key, "Une plateforme coopérative de livraison à vélo avec une SCIC locale.")

        final = await handle.result()
        assert final.phase == "done"
        states = {e.key: e.state for e in final.candidatures}
        assert {k for k, s in states.items() if s == "capitalised"} == set(staying)
        done = await coord.candidature_status(first)
        assert done.state == "capitalised"
        kinds = [d.kind for d in done.documents]
        assert "certificate" in kinds and "collectivite_report" in kinds, kinds
        assert sent(first, "certificate")
        assert (await coord.candidature_status(leaving)).state == "closed"
        report = mails()[expected_id(settings, campaign_wf, "coord_campaign_report")]
        pdfs = [p for p in report.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1 and pdfs[0].get_content().startswith(b"%PDF")
        # Issue 21: session 1 counts the collectivité that withdrew after it (10 invited, 9 present,
        # 9 complete binômes); session 2 does not (9 invited, 9 present, 8 complete). Region by name.
        pages = PdfReader(io.BytesIO(pdfs[0].get_content())).pages
        report_text = " ".join(" ".join((page.extract_text() or "").replace("\u202f", " ").split()) for page in pages)
        assert "Région Hauts-de-France" in report_text and "32" not in report_text.split("Chiffres clés")[0]
        assert "10 9 9 (100 %)" in report_text and "9 9 8 (89 %)" in report_text, report_text

        # --- history sizes --------------------------------------------------------------------------
        candidature_events = len((await coord.candidature(first).fetch_history()).events)
        campaign_events = len((await handle.fetch_history()).events)
        print(f"\nhistorique d'une candidature (cycle complet, 6 séances) : {candidature_events} événements")
        print(f"historique de la campagne (15 candidatures) : {campaign_events} événements")
        assert candidature_events < HISTORY_WARNING // 10
        assert campaign_events < HISTORY_WARNING // 4
