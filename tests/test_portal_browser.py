"""Browser scenarios on the portal, in the real Chromium, over real HTTP (uvicorn), with a real
worker on the time-skipping server and the emails read from the SMTP sink. axe-core checks every
page and every error state met on the way: no violation of serious or critical impact.

- a collectivité fills in the form (an error first), submits it, gets its receipt with the link,
  corrects its ineligible dossier, confirms its binôme (an error first) and answers a questionnaire;
- a juror scores two candidatures (an error first) and declares a conflict;
- an expired, altered or foreign link is refused with a clear page.

Skipped without Chromium, chromedriver or axe-core, except under CI (CI=true), where that fails.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.app.portal.app import create_app, serving
from ami.infra.links import Audience, Role
from ami.infra.mail.portal_links import juror_path
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings
from ami.worker.runner import build_worker
from tests.cohort import terminate_all
from tests.conftest import free_port
from tests.portal_browser import Browser, require_browser
from tests.portal_helpers import Clock, emails, form_fields, link_in, make_portal, portal_settings
from tests.scenario import FULL_MARKS, plan_starting, skip_to

LAON, HENIN, LIBERCOURT = "210203873", "246200299", "216209072"
TYPED = ("collectivite.name", "collectivite.siren", "collectivite.email")


async def _until(probe: object, what: str) -> None:
    for _ in range(300):
        if await probe():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(what)


async def test_portal_in_a_real_browser(own_time_env: WorkflowEnvironment, settings: Settings, sink: EmlWriter, tmp_path: Path) -> None:
    require_browser()
    env = own_time_env  # a clock near the real one: the emails' links are signed with the real clock
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = portal_settings(settings, base_url=base)
    plan = plan_starting(await env.get_current_time(), id="navigateur", capacity=1, quorum=1)
    clock = Clock()
    async with build_worker(env.client, settings):
        await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        portal = make_portal(settings, env.client, plan.id, clock)
        await _until(lambda: asyncio.to_thread(lambda: portal.window() is not None), "la campagne n'est pas enregistrée")
        await skip_to(env, plan.opens_at + timedelta(days=1))
        clock.now = await env.get_current_time()

        async def state(key: str, wanted: str) -> None:
            async def probe() -> bool:
                return (await coord.candidature_status(key)).state == wanted

            await _until(probe, f"{key} n'atteint pas {wanted}")

        def mail(needle: str) -> str:
            found = [m for m in emails(sink) if needle in str(m["Subject"])]
            assert found, f"aucun courriel « {needle} »"
            return link_in(found[-1], base=base)

        async with serving(create_app(portal), "127.0.0.1", port):
            browser = await asyncio.to_thread(Browser, base, tmp_path / "profile")
            try:
                # --- the collectivité: the call, the form (an error first), the receipt ---------------
                def apply() -> str:
                    b = browser
                    b.open("/")
                    b.audit("page de l'appel")
                    assert "Les critères du jury" in b.text()
                    b.click("Déposer une candidature")
                    b.audit("formulaire vide")
                    fields = form_fields(example("07-laon-incomplet"))
                    b.fill({**fields, "collectivite.siren": "210203874"}, TYPED)
                    b.click("Déposer la candidature")
                    text = b.text()
                    assert "erreur" in text and "Luhn" in text, text[:1500]
                    b.audit("formulaire en erreur")
                    b.fill({"collectivite.siren": LAON}, TYPED)
                    b.click("Déposer la candidature")
                    text = b.text()
                    assert "NAVIGATEUR-0001" in text, text[:1500]
                    b.audit("accusé de réception")
                    return text

                await asyncio.to_thread(apply)
                await state(LAON, "ineligible")

                async def campaign_knows() -> bool:
                    return [e.state for e in (await coord.status()).candidatures] == ["ineligible"]

                await _until(campaign_knows, "la campagne n'a pas reçu le verdict")
                dossier = mail("Accusé de réception")

                def correct() -> None:
                    b = browser
                    b.open(dossier)
                    assert "inéligible" in b.text()
                    b.audit("dossier inéligible")
                    b.click("Corriger la candidature")
                    b.audit("formulaire de correction")
                    full = form_fields(example("07-laon"))
                    b.fill({k: v for k, v in full.items() if k.startswith("technical_referent") or k == "letter.objective"})
                    b.click("Envoyer la correction")
                    assert "correction est enregistrée" in b.text()
                    b.audit("dossier corrigé")

                await asyncio.to_thread(correct)
                await state(LAON, "eligibility_checked")
                await coord.submit(example("01-henin-carvin"))
                await coord.submit(example("03-libercourt"))
                for key in (HENIN, LIBERCOURT):
                    await state(key, "eligibility_checked")

                async def all_eligible() -> bool:
                    return all(e.state == "eligibility_checked" for e in (await coord.status()).candidatures)

                await _until(all_eligible, "la campagne n'a pas reçu les verdicts")
                jury = juror_path(portal.signer, plan.id, "apes", portal.link_lifetime, clock.now)

                # --- the juror: two candidatures scored (an error first), one conflict ---------------
                def score() -> None:
                    b = browser
                    b.open(jury)
                    assert "0 dossier traité sur 3" in b.text()
                    b.audit("espace jury")
                    for receipt, mark in (("NAVIGATEUR-0001", "5"), ("NAVIGATEUR-0002", "2")):
                        b.open(f"{jury}/dossier/{receipt}")
                        b.audit(f"dossier {receipt} pour le jury")
                        if receipt == "NAVIGATEUR-0001":
                            b.click("Enregistrer mes notes")
                            assert "Choisissez une note de 0 à 5" in b.text()
                            b.audit("notes en erreur")
                        for criterion in FULL_MARKS:
                            b.select(f"note-{criterion}", mark)
                        b.click("Enregistrer mes notes")
                        assert "Vos notes sont enregistrées" in b.text()
                    b.open(f"{jury}/dossier/NAVIGATEUR-0003")
                    b.fill({"reason": "Conseillère municipale de cette commune"})
                    b.click("Déclarer un conflit d'intérêts")
                    assert "conflit d'intérêts est enregistré" in b.text()
                    b.open(jury)
                    assert "3 dossiers traités sur 3" in b.text()

                await asyncio.to_thread(score)
                status = await coord.status()
                assert status.scores["NAVIGATEUR-0001"]["apes"] == dict.fromkeys(FULL_MARKS, 5)
                assert status.conflicts["NAVIGATEUR-0003"] == ["apes"]
                await coord.score("cress", "NAVIGATEUR-0003", dict.fromkeys(FULL_MARKS, 1))

                await skip_to(env, plan.deadline_at + timedelta(hours=1))
                await coord.deliberate()
                await skip_to(env, plan.response_at + timedelta(hours=1))
                clock.now = await env.get_current_time()
                await state(LAON, "notified")
                decision = mail("est retenue")

                # --- the binôme (an error first), then a session's questionnaire ---------------------
                def confirm() -> None:
                    b = browser
                    b.open(decision)
                    b.audit("dossier retenu")
                    people = {
                        "political.name": "Marie Lenoir",
                        "political.role": "Adjointe au numérique",
                        "political.email": "elue@laon.example.org",
                        "technical.name": "Jean Petit",
                        "technical.role": "Chargé de mission",
                    }
                    b.fill(people, tuple(people))
                    b.click("Confirmer le binôme")
                    assert "Indiquez le courriel." in b.text()
                    b.audit("binôme en erreur")
                    b.fill({"technical.email": "technicien@laon.example.org"}, ("technical.email",))
                    b.click("Confirmer le binôme")
                    assert "Votre binôme est confirmé" in b.text()

                await asyncio.to_thread(confirm)
                await state(LAON, "enrolled")
                first = plan.sessions[0]
                await coord.set_session(1, first.window_start + timedelta(days=10, hours=14), "Laon, Maison des associations")
                await skip_to(env, first.window_start + timedelta(days=10, hours=19))
                clock.now = await env.get_current_time()
                await coord.record_attendance(LAON, 1, True, True)

                def questionnaire() -> None:
                    b = browser
                    b.open(decision)
                    b.audit("dossier pendant le cycle")
                    b.click("Envoyer ma réponse")
                    assert "Choisissez une note de 1 à 5" in b.text()
                    b.audit("questionnaire en erreur")
                    b.click("Retirer la candidature")
                    assert "Cochez la case pour confirmer le retrait" in b.text()
                    b.audit("retrait en erreur")
                    b.check("q-satisfaction-4")
                    b.fill({"comment": "Des échanges très concrets"})
                    b.click("Envoyer ma réponse")
                    assert "réponse au questionnaire est enregistrée" in b.text()

                await asyncio.to_thread(questionnaire)
                assert [f.satisfaction for f in (await coord.candidature_status(LAON)).feedback] == [4]

                # --- refused links: expired, altered, foreign -----------------------------------------
                expired = portal.signer.sign(
                    Audience.DOSSIER, plan.id, LAON, Role.COLLECTIVITE, timedelta(days=1), clock.now - timedelta(days=3)
                )
                payload, key, mac = dossier.removeprefix("/dossier/").split(".")
                refusals = {
                    f"/dossier/{expired}": "expiré",
                    f"/dossier/{payload}.{key}.{mac[:-3]}AAA": "modifié",
                    jury.replace("/jury/", "/dossier/"): "ne donne pas accès",
                }

                def refused() -> None:
                    for path, needle in refusals.items():
                        browser.open(path)
                        text = browser.text()
                        assert "Lien refusé" in text and needle in text, text
                        browser.audit(f"lien refusé ({needle})")

                def closed_form() -> None:
                    browser.open("/candidature")
                    assert "date limite de dépôt est passée" in browser.text()
                    browser.audit("dépôt fermé")

                def draft_and_broken_page() -> None:
                    b = browser
                    b.open("/candidature")
                    b.fill({"collectivite.name": "Commune de Chauny"}, TYPED)
                    b.click("Enregistrer le brouillon")
                    assert "Brouillon enregistré" in b.text() and b.path.startswith("/brouillon/")
                    b.audit("brouillon")
                    b.open("/nulle-part")
                    b.audit("page introuvable")
                    # The check itself can fail: a field without a label is a critical violation.
                    b.driver.get("data:text/html;charset=utf-8,<html><body><input type=text></body></html>")
                    try:
                        b.audit("page témoin sans étiquette")
                    except AssertionError as error:
                        assert "label" in str(error)
                    else:
                        raise AssertionError("axe n'a rien trouvé sur une page fautive")

                await asyncio.to_thread(refused)
                await asyncio.to_thread(closed_form)
                clock.now = plan.opens_at + timedelta(days=2)  # the portal's clock only: back while the call is open
                await asyncio.to_thread(draft_and_broken_page)
                assert len(browser.audited) >= 22, browser.audited
            finally:
                await asyncio.to_thread(browser.quit)
        await terminate_all(coord)
