"""The portal against a real worker on the time-skipping server: a collectivité goes from the online
form to its questionnaire through the portal alone, a juror scores and declares a conflict, and
every refusal is the workflow's French message on the page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.app.portal import csrf
from ami.infra.mail.portal_links import juror_path
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings
from ami.worker.runner import build_worker
from tests.cohort import terminate_all
from tests.portal_helpers import (
    Clock,
    csrf_all,
    csrf_of,
    emails,
    field_errors,
    form_fields,
    http,
    link_in,
    make_portal,
    portal_settings,
    summary_errors,
)
from tests.scenario import FULL_MARKS, plan_starting, skip_to
from tests.test_portal_units import PDF

LAON, HENIN = "210203873", "246200299"


async def _state(coord: Coordination, key: str, wanted: str) -> None:
    for _ in range(200):
        if (await coord.candidature_status(key)).state == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} n'atteint pas l'état {wanted}")


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition jamais remplie")


async def _mail_with(sink: EmlWriter, needle: str) -> object:
    for _ in range(200):
        found = [m for m in emails(sink) if needle in str(m["Subject"])]
        if found:
            return found[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"aucun courriel « {needle} »")


async def test_collectivite_and_juror_act_through_the_portal(
    own_time_env: WorkflowEnvironment, settings: Settings, sink: EmlWriter, tmp_path: Path
) -> None:
    env = own_time_env  # a clock near the real one: the emails' links are signed with the real clock
    settings = portal_settings(settings)
    plan = plan_starting(await env.get_current_time(), id="portail", capacity=1, quorum=1)
    clock = Clock()
    async with build_worker(env.client, settings):
        await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        portal = make_portal(settings, env.client, plan.id, clock)
        async with http(portal) as web:
            # Before the opening, the form says so and accepts nothing.
            await _until(lambda: portal.window() is not None)
            clock.now = await env.get_current_time()
            page = await web.get("/candidature")
            assert "pas encore ouvert" in page.text and 'name="csrf"' not in page.text

            await skip_to(env, plan.opens_at + timedelta(days=1))
            clock.now = await env.get_current_time()
            # An incomplete form (Laon: no technical referent) is registered, then declared ineligible.
            page = await web.get("/candidature")
            fields = form_fields(example("07-laon-incomplet"))
            done = await web.post("/candidature", data={**fields, "csrf": csrf_of(page.text), "action": "deposer"})
            assert done.status_code == 200, done.text
            assert "PORTAIL-0001" in done.text
            receipt = await _mail_with(sink, "Accusé de réception")
            dossier = link_in(receipt)
            await _state(coord, LAON, "ineligible")
            for _ in range(200):  # the campaign learns the verdict by a signal; until then it refuses a correction
                if [e.state for e in (await coord.status()).candidatures] == ["ineligible"]:
                    break
                await asyncio.sleep(0.05)

            page = await web.get(dossier)
            assert "inéligible" in page.text and "/correction" in page.text
            correction = await web.get(dossier + "/correction")
            full = form_fields(example("07-laon"))
            # A correction keeps the dossier's identifier: another SIREN is refused on its field.
            wrong = await web.post(
                dossier + "/correction",
                data={**full, "collectivite.siren": HENIN, "csrf": csrf_of(correction.text), "action": "deposer"},
            )
            assert wrong.status_code == 400
            assert "identifiant" in field_errors(wrong.text)["f-collectivite-siren"]
            fixed = await web.post(dossier + "/correction", data={**full, "csrf": csrf_of(wrong.text), "action": "deposer"})
            assert fixed.status_code == 303, fixed.text
            await _state(coord, LAON, "eligibility_checked")

            # A second collectivité applies through a draft first, resumed by its link.
            page = await web.get("/candidature")
            henin = form_fields(example("01-henin-carvin"))
            draft = await web.post(
                "/candidature",
                data={"collectivite.name": henin["collectivite.name"], "csrf": csrf_of(page.text), "action": "brouillon"},
                files=[("pieces", ("lettre-signée.pdf", PDF, "application/pdf"))],
            )
            assert draft.status_code == 303
            resumed = await web.get(draft.headers["location"])
            assert henin["collectivite.name"].replace("'", "&#39;") in resumed.text
            sent = await web.post(draft.headers["location"], data={**henin, "csrf": csrf_of(resumed.text), "action": "deposer"})
            assert "PORTAIL-0002" in sent.text
            await _state(coord, HENIN, "eligibility_checked")

            # The juror: both candidatures listed; marks for one, a conflict on the other.
            for _ in range(200):  # the campaign learns each verdict by a signal
                if [e.state for e in (await coord.status()).candidatures] == ["eligibility_checked"] * 2:
                    break
                await asyncio.sleep(0.05)
            jury = juror_path(portal.signer, plan.id, "apes", portal.link_lifetime, clock.now)
            listing = await web.get(jury)
            assert "PORTAIL-0001" in listing.text and "PORTAIL-0002" in listing.text and "0 dossier traité sur 2" in listing.text
            item = await web.get(f"{jury}/dossier/PORTAIL-0002")
            assert "coefficient 2" in item.text and "Hénin" in item.text
            piece = re.search(r'href="([^"]+/pieces/[0-9a-f]{64})"', item.text)
            assert piece, "la pièce jointe n'est pas proposée au jury"
            download = await web.get(piece.group(1))
            assert download.content == PDF and download.headers["content-type"] == "application/pdf"
            incomplete = await web.post(f"{jury}/dossier/PORTAIL-0002/notes", data={"csrf": csrf_of(item.text), "note-motivation": "9"})
            assert incomplete.status_code == 400 and "0 à 5" in field_errors(incomplete.text)["note-motivation"]
            marks = {f"note-{k}": str(v) for k, v in FULL_MARKS.items()}
            scored = await web.post(
                f"{jury}/dossier/PORTAIL-0002/notes", data={**marks, "csrf": csrf_of(incomplete.text), "comment": "Solide"}
            )
            assert scored.status_code == 303
            item = await web.get(f"{jury}/dossier/PORTAIL-0001")
            notes_token, conflict_token = csrf_all(item.text)
            conflict = await web.post(f"{jury}/dossier/PORTAIL-0001/conflit", data={"csrf": conflict_token, "reason": "Ancien élu"})
            assert conflict.status_code == 303
            status = await coord.status()
            assert status.scores["PORTAIL-0002"]["apes"] == FULL_MARKS
            assert status.conflicts["PORTAIL-0001"] == ["apes"]
            # The workflow's refusal, in French, on the page: a conflicted member cannot score (from a stale page).
            refused = await web.post(f"{jury}/dossier/PORTAIL-0001/notes", data={**marks, "csrf": notes_token})
            assert refused.status_code == 400 and "conflit d'intérêts" in summary_errors(refused.text)[0]

            await coord.score("cress", "PORTAIL-0001", {k: 1 for k in FULL_MARKS})
            await skip_to(env, plan.deadline_at + timedelta(hours=1))
            await coord.deliberate()
            clock.now = await env.get_current_time()
            assert "plus modifiables" in (await web.get(jury)).text
            closed = await web.get(f"{jury}/dossier/PORTAIL-0002")  # read-only: the marks given, no form
            assert closed.status_code == 200 and "Vos notes" in closed.text and 'name="csrf"' not in closed.text
            stale = csrf.issue(portal.signer, web.cookies[csrf.COOKIE], "jury-notes", clock.now)  # a form kept open since
            scored_again = await web.post(f"{jury}/dossier/PORTAIL-0002/notes", data={**marks, "csrf": stale})
            assert scored_again.status_code == 400 and "déjà délibéré" in summary_errors(scored_again.text)[0]
            await skip_to(env, plan.response_at + timedelta(hours=1))
            decision = await _mail_with(sink, "est retenue")
            dossier = link_in(decision)
            page = await web.get(dossier)
            assert "Confirmer votre binôme" in page.text
            # The binôme: a missing email is refused on its field, then the confirmation goes through.
            person = {"political.name": "Marie Lenoir", "political.role": "Vice-présidente", "political.email": "elue@example.org"}
            tech = {"technical.name": "Jean Petit", "technical.role": "Chargé de mission", "technical.email": ""}
            bad = await web.post(dossier + "/binome", data={**person, **tech, "csrf": csrf_of(page.text)})
            assert bad.status_code == 400 and "courriel" in field_errors(bad.text)["technical-email"]
            tech["technical.email"] = "technicien@example.org"
            ok = await web.post(dossier + "/binome", data={**person, **tech, "csrf": csrf_of(bad.text)})
            assert ok.status_code == 303
            await _state(coord, HENIN, "enrolled")

            first = plan.sessions[0]
            await coord.set_session(1, first.window_start + timedelta(days=10, hours=14), "Lille")
            page = await web.get(dossier)  # a session with a date, no attendance yet
            assert page.status_code == 200 and "Lille" in page.text and "Questionnaire" not in page.text
            await skip_to(env, first.window_start + timedelta(days=10, hours=19))
            await coord.record_attendance(HENIN, 1, True, True)
            page = await web.get(dossier)
            answered = await web.post(
                dossier + "/questionnaire", data={"session": "1", "satisfaction": "5", "comment": "Très utile", "csrf": csrf_of(page.text)}
            )
            assert answered.status_code == 303
            page = await web.get(dossier)
            tokens = csrf_all(page.text)  # the experiment's form, then the withdrawal's
            done = await web.post(dossier + "/experimentation", data={"experiment": "Une plateforme de circuits courts", "csrf": tokens[0]})
            assert done.status_code == 303
            cs = await coord.candidature_status(HENIN)
            assert [f.satisfaction for f in cs.feedback] == [5]
            # A replayed form is refused, never run twice.
            replay = await web.post(dossier + "/experimentation", data={"experiment": "Une autre", "csrf": tokens[0]})
            assert replay.status_code == 409 and "déjà été envoyé" in replay.text
            # The documents of the dossier (its summary, its decision letter) are downloadable.
            summary = await web.get(dossier + "/documents/0")
            assert summary.status_code == 200 and summary.content.startswith(b"%PDF")
            assert (await web.get(dossier + "/documents/99")).status_code == 404
            # The withdrawal, with its reason.
            withdrawn = await web.post(dossier + "/retrait", data={"reason": "Élections anticipées", "confirm": "oui", "csrf": tokens[1]})
            assert withdrawn.status_code == 303
            await _state(coord, HENIN, "closed")
        await terminate_all(coord)
