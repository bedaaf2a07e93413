"""`ami demo`: one whole campaign, in compressed time, on the bundled candidatures.

Everything is embedded: the Temporal dev server with its Web UI, an SMTP sink writing `.eml` files,
an SQLite store and a worker. The script below plays the coordinators and the jury through the same
`Coordination` calls as the `ami` commands, at the published dates of the 2024 call mapped onto a
few minutes, so that every branch of the lifecycle is walked.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ami.codec import codec_from_settings, data_converter, new_key_entry
from ami.codec_server import CodecServer
from ami.codec_settings import CodecSettings
from ami.demo_output import Dossier, forwarding_runtime, quiet_logs, write_index
from ami.documents.addressee import full_name
from ami.documents.form_docx import blank_form_docx
from ami.examples import example
from ami.mail.sink import start_sink
from ami.ops import Coordination, Refused, start_campaign
from ami.portal.embedded import PORTAL_JUROR, PORTAL_STEMS, EmbeddedPortal, with_portal
from ami.privacy import notice
from ami.private_files import private_dir, write_private
from ami.settings import Settings
from ami.store import store_for
from models.campaign import load_campaign
from models.campaign_messages import CampaignStatus
from models.campaign_plan import CampaignPlan, TimeMap
from models.candidature import CandidatureFile
from models.lifecycle import FINAL_STATES, State
from models.values import Decision
from workflows.candidature import candidature_workflow_id

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_DAY_SECONDS = 0.4  # one published day lasts this long: the calendar (about 280 days) fits in 2 minutes
DEMO_CAPACITY, DEMO_WAITLIST = 7, 3  # smaller than the call's ten, so that every decision branch occurs
# The sink refuses this address (550), as a mistyped one would be: the bounce path runs for real.
BOUNCING_ADDRESS = "technique.abbeville@example.org"

# Jury marks (0-5) per example: the ranking they produce walks every decision.
MARKS = {
    "01-henin-carvin": 5,
    "02-mel": 5,
    "03-libercourt": 4,
    "04-lomme": 4,
    "05-arras": 4,
    "06-saint-quentinois": 4,
    "07-laon": 3,
    "08-beauvaisis": 3,
    "09-compiegne": 3,
    "10-amiens": 2,
    "11-abbeville": 2,
}
PLACES = [
    "Lille, Maison de l'économie solidaire",
    "Arras, tiers-lieu de la Citadelle",
    "Amiens, Maison des associations",
    "Lens, Louvre-Lens Vallée",
    "Beauvais, Quadrilatère",
    "Lille, Maison de l'économie solidaire",
]


@dataclass
class DemoRun:
    console: Console
    coord: Coordination
    plan: CampaignPlan
    time_map: TimeMap
    out_dir: Path
    database_url: str
    identifiers: dict[str, str] = field(default_factory=dict)  # example stem -> SIREN/INSEE
    forms: dict[str, CandidatureFile] = field(default_factory=dict)
    portal: EmbeddedPortal | None = None  # some actions go through the portal over HTTP (ami/portal/embedded.py)

    def published(self, year: int, month: int, day: int, hour: int = 10) -> datetime:
        return datetime(year, month, day, hour, tzinfo=PARIS)

    async def at(self, year: int, month: int, day: int, hour: int = 10) -> None:
        target = self.time_map.to_plan(self.published(year, month, day, hour))
        delay = (target - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    def say(self, day: str, message: str) -> None:
        self.console.print(f"[dim]{day:>10}[/]  {message}", soft_wrap=True)

    async def act(self, action: Awaitable[object], day: str) -> bool:
        """Run a coordinator action; a refusal by the workflow is shown, never a crash."""
        try:
            await action
        except Refused as refusal:
            self.say(day, f"[yellow]refusé[/] : {escape(str(refusal))}")
            return False
        return True

    async def wait_state(self, key: str, states: set[str], limit: float = 30.0) -> str:
        """Activities take real time even when the calendar is compressed: wait for the workflow."""
        deadline = time.monotonic() + limit
        while True:
            state = (await self.coord.candidature_status(key)).state
            if state in states or time.monotonic() > deadline:
                return state
            await asyncio.sleep(0.05)

    async def submit(self, stem: str, day: str, note: str = "") -> None:
        form = example(stem)
        web = self.portal is not None and stem in PORTAL_STEMS
        try:
            if web and self.portal is not None:
                receipt, kind = await self.portal.submit(form), "dépôt sur le portail"
            else:
                result = await self.coord.submit(form)
                receipt, kind = result.receipt_number, "correction" if result.correction else "dépôt"
        except Refused as refusal:
            self.say(day, f"[yellow]refusée[/] {escape(form.collectivite.name)} : {escape(str(refusal))}")
            return
        key = form.collectivite.identifier
        self.identifiers[stem.removesuffix("-incomplet")] = key
        self.forms[key] = form
        self.say(day, f"{kind} {receipt} — {escape(form.collectivite.name)} {note}")

    async def state_of(self, key: str) -> tuple[str, Decision | None]:
        status = await self.coord.candidature_status(key)
        return status.state, status.decision


async def _play(run: DemoRun) -> None:
    c = run.coord
    await run.at(2024, 7, 12)
    for stem in ("01-henin-carvin", "02-mel", "03-libercourt", "04-lomme"):
        await run.submit(stem, "12 juil.")
    await run.at(2024, 7, 20)
    await run.submit("07-laon-incomplet", "20 juil.", "[dim](sans référent technique ni objectif)[/]")
    await run.submit("13-reims", "20 juil.", "[dim](hors région)[/]")
    await run.at(2024, 8, 2)
    for stem in ("05-arras", "06-saint-quentinois", "08-beauvaisis", "09-compiegne", "10-amiens", "11-abbeville"):
        await run.submit(stem, "2 août")
    await run.at(2024, 8, 20)
    await run.submit("02-mel-doublon", "20 août", "[dim](second envoi)[/]")
    await run.submit("07-laon", "20 août", "[dim](formulaire complété)[/]")
    await run.at(2024, 9, 9, 12)
    await run.submit("12-hellemmes", "9 sept.", "[dim](après la date limite)[/]")

    # The jury: four members score every eligible candidature; one declares a conflict.
    await run.at(2024, 9, 10)
    status = await c.status()
    eligible = {e.key: e.receipt_number for e in status.candidatures if e.state is State.ELIGIBILITY_CHECKED}
    stems = {key: stem for stem, key in run.identifiers.items()}
    lomme = eligible.get(run.identifiers["04-lomme"])
    if lomme:
        await c.declare_conflict("reseau", lomme, "élu de la même intercommunalité")
        run.say("10 sept.", f"conflit d'intérêts déclaré : membre « reseau » sur {lomme}")
    # Temporal caps the updates in flight on one workflow (10 by default): score in small batches.
    for key, receipt in sorted(eligible.items(), key=lambda kv: kv[1]):
        scoring = []
        base = MARKS.get(stems.get(key, ""), 3)
        for n, member in enumerate(("apes", "cress", "chercheur", "reseau")):
            if member == "reseau" and receipt == lomme:
                continue
            marks = {cr.id: max(0, min(5, base - (n % 2) + (1 if cr.id == "binome" else 0))) for cr in run.plan.criteria}
            if run.portal and member == PORTAL_JUROR:
                run.portal.score_later(member, receipt, marks)  # through the juror's page, beside the others
            else:
                scoring.append(c.score(member, receipt, marks))
        await asyncio.gather(*scoring)
    if run.portal:
        await run.portal.drain()
    run.say("10 sept.", f"jury : {len(eligible)} candidatures éligibles notées par 4 membres{_BY_PORTAL_JUROR if run.portal else ''}")
    grid = _write_jury_grid(run)
    run.say("10 sept.", f"grille du jury (toutes les réponses et les colonnes de notation) : {grid}")
    await run.at(2024, 9, 12)
    result = await c.deliberate("coordination")
    counts = {d: sum(1 for r in result.ranking if r.decision is d) for d in Decision}
    run.say(
        "12 sept.",
        f"délibération : {counts[Decision.SELECTED]} retenues, {counts[Decision.WAITLISTED]} en liste d'attente, "
        f"{counts[Decision.NOT_SELECTED]} non retenues — décisions gardées jusqu'au 15 septembre",
    )

    ranked = [r for r in result.ranking if r.decision is Decision.SELECTED]
    receipt_key = {e.receipt_number: e.key for e in status.candidatures}
    selected = [receipt_key[r.receipt_number] for r in ranked]
    waitlist = [
        receipt_key[r.receipt_number]
        for r in sorted(result.ranking, key=lambda r: r.waitlist_position or 0)
        if r.decision is Decision.WAITLISTED
    ]
    unconfirmed, withdrawing, absent, partial, mid_cycle = selected[-1], selected[-2], selected[0], selected[1], selected[2]

    # Session dates are set right after the deliberation: the campaign sends them to each
    # collectivité as soon as it confirms its binôme.
    dates = [tuple(map(int, session.month.split("-"))) for session in run.plan.sessions]
    await asyncio.gather(
        *(c.set_session(n + 1, run.time_map.to_plan(run.published(y, m, 15, 14)), PLACES[n]) for n, (y, m) in enumerate(dates))
    )
    run.say("12 sept.", "les six séances ont une date (le 15 de chaque mois à 14 h)")

    async def confirm(key: str) -> None:
        # Each selected collectivité answers as soon as its decision arrives on the 15th.
        await run.wait_state(key, {State.NOTIFIED.value})
        form = run.forms[key]
        assert form.political_referent and form.technical_referent
        await run.act(c.confirm_binome(key, form.political_referent, form.technical_referent), "16 sept.")

    await asyncio.gather(*(confirm(key) for key in selected if key != unconfirmed))
    run.say(
        "16 sept.",
        f"décisions envoyées le 15 ; {len(selected) - 1} binômes confirmés, invitations .ics envoyées ; "
        f"{run.forms[unconfirmed].collectivite.name} ne répond pas",
    )

    await run.at(2024, 9, 20)
    await run.act(c.withdraw(withdrawing, "La collectivité renonce : calendrier électoral incompatible."), "20 sept.")
    run.say("20 sept.", f"retrait de {run.forms[withdrawing].collectivite.name} : la première en liste d'attente est promue")
    await _confirm_promoted(run, waitlist[0], "21 sept.", by_portal=True)
    await run.at(2024, 9, 25, 12)
    run.say("25 sept.", f"{run.forms[unconfirmed].collectivite.name} n'a pas confirmé : place libérée, promotion suivante")
    await _confirm_promoted(run, waitlist[1], "25 sept.")

    # Session 2 moves twice: the invitation is re-sent with the same UID and a higher SEQUENCE.
    await run.at(2024, 10, 5)
    if await run.act(c.set_session(2, run.time_map.to_plan(run.published(2024, 11, 19, 9)), "Arras, tiers-lieu de la Citadelle"), "5 oct."):
        run.say("5 oct.", "séance 2 déplacée au 19 novembre (9 h) : invitation mise à jour (même UID, SEQUENCE 1)")
    await run.at(2024, 10, 12)
    if await run.act(c.set_session(2, run.time_map.to_plan(run.published(2024, 11, 26, 14)), "Arras, Maison de l'habitat"), "12 oct."):
        run.say("12 oct.", "séance 2 déplacée à nouveau au 26 novembre (14 h), autre lieu (SEQUENCE 2)")

    for plan in run.plan.sessions:
        session = next(s for s in (await c.status()).sessions if s.number == plan.number)
        after = session.ends_at + (session.ends_at - session.starts_at)
        await asyncio.sleep(max(0.0, (after - datetime.now(UTC)).total_seconds()))
        enrolled = [e.key for e in (await c.status()).candidatures if e.state in (State.ENROLLED, State.SESSION_TRACKED)]

        async def attend(key: str, number: int, month: str) -> None:
            elected = not (key == absent and number == 3)
            technician = elected and not (key == partial and number == 4)
            if not await run.act(c.record_attendance(key, number, elected, technician, others=1 if number == 1 else 0), month):
                return
            if elected:
                comment = "Séance très concrète, les retours d'expérience « de terrain » nous ont aidés."
                await run.act(c.record_feedback(key, number, 4 + (number % 2), comment), month)
            if number == 6:
                experiment = "Lancer avec une SCIC locale une plateforme d'échanges de biens et services entre habitants."
                await run.act(c.record_experiment(key, experiment), month)

        await asyncio.gather(*(attend(key, plan.number, plan.month) for key in enrolled))
        notes = {3: " — une absence (courriel de relance)", 4: " — un binôme incomplet"}.get(plan.number, "")
        run.say(
            _month(plan.month), f"séance {plan.number} : présences et questionnaires enregistrés pour {len(enrolled)} collectivités{notes}"
        )
        if plan.number == 2 and mid_cycle in enrolled:
            await run.act(c.withdraw(mid_cycle, "Départ du technicien référent, la collectivité se retire du cycle."), plan.month)
            run.say(_month(plan.month), f"retrait en cours de cycle : {run.forms[mid_cycle].collectivite.name}")


async def _confirm_promoted(run: DemoRun, key: str, day: str, by_portal: bool = False) -> None:
    """Wait for the campaign to promote `key` (the next on the waitlist), then confirm its binôme."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = await run.coord.candidature_status(key)
        if any(t.trigger == "promote" for t in status.transitions):
            form = run.forms[key]
            assert form.political_referent and form.technical_referent
            web = run.portal if by_portal else None  # on its dossier page, as its promotion email invites it to
            confirming = web.confirm_binome if web else run.coord.confirm_binome
            if await run.act(confirming(key, form.political_referent, form.technical_referent), day):
                where = " (binôme confirmé sur son espace dossier du portail)" if web else ""
                run.say(day, f"promue depuis la liste d'attente et confirmée : {form.collectivite.name}{where}")
            return
        await asyncio.sleep(0.02)
    run.say(day, f"[yellow]{key} n'a pas été promue[/] ({status.state})")


def _write_jury_grid(run: DemoRun) -> str:
    """The jury's grid, read back from the store like `ami export` does, in XLSX and CSV."""
    from ami.cli.cmd_export import grid_rows
    from ami.documents.jury_grid import jury_grid_csv, jury_grid_xlsx

    rows = grid_rows(store_for(run.database_url).candidatures(run.plan.id))
    criteria = [(c.id, c.label) for c in run.plan.criteria]
    xlsx = run.out_dir / "grille-jury.xlsx"
    write_private(xlsx, jury_grid_xlsx(rows, criteria, run.plan.timezone))
    write_private(run.out_dir / "grille-jury.csv", jury_grid_csv(rows, criteria, run.plan.timezone).encode("utf-8-sig"))
    return f"{xlsx.name} et grille-jury.csv, {len(rows)} lignes"


def _summary_table(status: CampaignStatus, paths: dict[str, list[str]], names: dict[str, str]) -> Table:
    table = Table(title="Parcours de chaque candidature", show_lines=False)
    for column in ("Dossier", "Collectivité", "Décision", "État final", "Parcours"):
        table.add_column(column)
    for entry in status.candidatures:
        table.add_row(
            entry.receipt_number,
            names.get(entry.key, entry.key),
            _DECISIONS[entry.decision] if entry.decision else "—",
            entry.state,
            " → ".join(paths.get(entry.key, [])),
        )
    return table


async def run_demo(
    out_dir: Path, keep: bool, day_seconds: float, console: Console, ui_port: int = 8233, port: int = 7233, portal_port: int | None = None
) -> int:
    from ami.devserver import start_dev_server
    from worker import build_worker

    started = time.monotonic()
    private_dir(out_dir)
    mail_dir = out_dir / "mail"
    controller, _sink = start_sink(mail_dir, port=_free_port(), refuse={BOUNCING_ADDRESS})
    settings = Settings(
        data_dir=out_dir,
        database_url=f"sqlite:///{out_dir / 'ami.db'}",
        smtp_port=controller.port,
        task_queue="ami-demo",
        temporal_address=f"localhost:{port}",
        demo=True,  # emails and documents marked, discreetly, as a demonstration
    )
    settings = with_portal(settings, portal_port or _free_port())  # emails carry the portal's signed links
    console.print(
        f"[bold]ami demo[/] — serveur Temporal et interface sur [link]http://localhost:{ui_port}[/link], courriels dans {mail_dir}"
    )
    # Payloads are encrypted with a key made for this run; the UI decodes them through the codec
    # server (its token in the path), exactly as in production.
    codec_settings = CodecSettings(
        codec_keys=new_key_entry("demo"),
        codec_server_token=secrets.token_urlsafe(32),
        codec_cors_origins=f"http://localhost:{ui_port},http://127.0.0.1:{ui_port}",
    )

    # The data keys (one per workflow, crypto-shredding) live in the demo's own database.
    store_for(settings.resolved_database_url())
    codec = codec_from_settings(codec_settings, database_url=settings.resolved_database_url())
    assert codec is not None
    token = codec_settings.codec_server_token.get_secret_value()
    codec_server = CodecServer(codec, token, codec_settings.cors_origins(), port=0).start()
    env = await start_dev_server(
        port=port,
        ui_port=ui_port,
        data_converter=data_converter(codec_settings, database_url=settings.resolved_database_url()),
        ui_codec_endpoint=codec_server.ui_endpoint,
        runtime=forwarding_runtime(),
    )
    logs = contextlib.ExitStack()
    portal: EmbeddedPortal | None = None
    try:
        # Worker and SDK log lines go to a file; the story gets one French line where it matters.
        log_file = logs.enter_context(
            quiet_logs(out_dir, lambda note: console.print(f"[dim]{'':>10}[/]  [yellow]note[/] : {note}", soft_wrap=True))
        )
        file_plan = load_campaign("ami-2024").plan()
        factor = day_seconds / 86400
        plan = file_plan.compressed(datetime.now(UTC) + timedelta(seconds=2), factor).model_copy(
            update={"capacity": DEMO_CAPACITY, "waitlist_size": DEMO_WAITLIST, "id": f"ami-2024-demo-{datetime.now(UTC):%H%M%S}"}
        )
        assert plan.time_map is not None
        async with build_worker(env.client, settings):
            handle = await start_campaign(env.client, plan, settings.task_queue)
            coord = Coordination(env.client, plan.id)
            console.print(
                f"Campagne [bold]{plan.id}[/] : un jour du calendrier publié dure {day_seconds:.2f} s "
                f"(capacité ramenée à {DEMO_CAPACITY} + {DEMO_WAITLIST} en attente pour parcourir toutes les branches)."
            )
            portal = await EmbeddedPortal.start(settings, env.client, plan.id, plan=plan)
            console.print(f"Portail des collectivités et du jury : [link]{portal.url}[/link]")
            run = DemoRun(
                console=console,
                coord=coord,
                plan=plan,
                time_map=plan.time_map,
                out_dir=out_dir,
                database_url=settings.resolved_database_url(),
                portal=portal,
            )
            (out_dir / "formulaire-candidature.docx").write_bytes(blank_form_docx(plan.name, notice(plan.id, settings.campaigns_dir) or ()))
            console.print(f"Formulaire de candidature vierge : {out_dir / 'formulaire-candidature.docx'}")
            await _play(run)
            console.print("Capitalisation : attestations, rapports par collectivité et rapport de campagne…")
            final = await handle.result()
            paths, names = {}, {}
            for entry in final.candidatures:
                cs = await coord.candidature_status(entry.key)
                paths[entry.key] = _compact(["promue" if t.trigger == "promote" else _SHORT.get(t.dest, t.dest) for t in cs.transitions])
                if cs.transitions and cs.transitions[-1].trigger in _ENDINGS:
                    paths[entry.key][-1] += f" ({_ENDINGS[cs.transitions[-1].trigger]})"
                form = run.forms.get(entry.key)
                view = cs.verdict.collectivite if cs.verdict else None
                names[entry.key] = full_name(view.name, view.kind) if view else (form.collectivite.name if form else entry.key)
            console.print(_summary_table(final, paths, names))
            dossiers = [
                Dossier(
                    e.receipt_number,
                    names[e.key],
                    _DECISIONS[e.decision] if e.decision else "—",
                    e.state,
                    " → ".join(paths.get(e.key, [])),
                    candidature_workflow_id(plan.id, e.key),
                )
                for e in final.candidatures
            ]
            index = write_index(out_dir, store_for(settings.resolved_database_url()), handle.id, plan.name, dossiers)
            emails = len(list(mail_dir.glob("*.eml")))
            documents = len(list((out_dir / "documents").rglob("*.pdf")))
            all_final = all(State(e.state) in FINAL_STATES for e in final.candidatures)
            sent = store_for(settings.resolved_database_url()).emails()
            purposes = sorted({e.purpose for e in sent})
            bounces = sum(1 for e in sent if e.purpose == "coord_bounce")
            console.print(
                f"{len(final.candidatures)} candidatures, {emails} courriels (.eml) et {documents} documents PDF sous {out_dir}, "
                f"base {out_dir / 'ami.db'} — {time.monotonic() - started:.0f} s.",
                soft_wrap=True,
            )
            console.print(
                f"{len(purposes)} sortes de courriels envoyées ; {bounces} adresse(s) refusée(s) par le serveur ({BOUNCING_ADDRESS}) "
                "signalée(s) aux coordinateurs, le dossier suivant son cours.",
                soft_wrap=True,
            )
            console.print(f"Index de la démonstration (dossiers, courriels, documents) : {index} ; journal technique : {log_file}")
            if keep:
                console.print(
                    f"--keep : l'interface reste ouverte sur http://localhost:{ui_port}, le portail sur {portal.url} (Ctrl-C pour arrêter)."
                )
                await asyncio.Event().wait()
            return 0 if all_final else 1
    finally:
        if portal is not None:
            await portal.stop()
        await env.shutdown()
        codec_server.stop()
        controller.stop()
        logs.close()


_ENDINGS = {"withdraw": "retrait", "expire": "date limite"}
_BY_PORTAL_JUROR = f" (dont « {PORTAL_JUROR} » sur le portail)"
_DECISIONS = {Decision.SELECTED: "retenue", Decision.WAITLISTED: "liste d'attente", Decision.NOT_SELECTED: "non retenue"}
_SHORT = {
    "submitted": "reçue",
    "ineligible": "inéligible",
    "eligibility_checked": "éligible",
    "jury_reviewed": "jury",
    "notified": "notifiée",
    "enrolled": "inscrite",
    "session_tracked": "séance",
    "capitalised": "capitalisée",
    "closed": "close",
}


def _month(month: str) -> str:
    """« 2024-10 » as the story's date column shows it: « oct. 2024 »."""
    return str(format_date(datetime.strptime(month, "%Y-%m").date(), "MMM y", locale="fr_FR"))


def _compact(states: list[str]) -> list[str]:
    """session_tracked × 6 reads better as one step."""
    result: list[str] = []
    for state in states:
        if result and result[-1].startswith(state):
            count = int(result[-1].split("×")[1]) + 1 if "×" in result[-1] else 2
            result[-1] = f"{state}×{count}"
        else:
            result.append(state)
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
