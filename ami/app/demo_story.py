"""The story `ami demo` plays: the steps of the 2024 call as data (`STORY`: a published date, the
story's date column, an action), and `play`, which waits for each date on the compressed calendar
and runs its action. The coordinators and the jury act through the same `Coordination` calls as the
`ami` commands, some collectivités and one juror through the portal's pages, so that every branch of
the lifecycle is walked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from rich.console import Console
from rich.markup import escape

from ami.app.demo_output import write_jury_grid
from ami.app.examples import example
from ami.app.ops import Coordination, Refused
from ami.app.portal.embedded import PORTAL_JUROR, PORTAL_STEMS, EmbeddedPortal
from ami.app.scenario import binome, sleep_until, wait_state
from ami.models.campaign_plan import CampaignPlan, TimeMap
from ami.models.candidature import CandidatureFile
from ami.models.lifecycle import State
from ami.models.values import Decision

PARIS = ZoneInfo("Europe/Paris")
DEMO_CAPACITY, DEMO_WAITLIST = 7, 3  # smaller than the call's ten, so that every decision branch occurs

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
JURY = ("apes", "cress", "chercheur", "reseau")
PLACES = [
    "Lille, Maison de l'économie solidaire",
    "Arras, tiers-lieu de la Citadelle",
    "Amiens, Maison des associations",
    "Lens, Louvre-Lens Vallée",
    "Beauvais, Quadrilatère",
    "Lille, Maison de l'économie solidaire",
]
_BY_PORTAL_JUROR = f" (dont « {PORTAL_JUROR} » sur le portail)"


@dataclass
class DemoRun:
    """What the steps share: the campaign, who is who, and the parts the deliberation handed out."""

    console: Console
    coord: Coordination
    plan: CampaignPlan
    time_map: TimeMap
    out_dir: Path
    database_url: str
    identifiers: dict[str, str] = field(default_factory=dict)  # example stem -> SIREN/INSEE
    forms: dict[str, CandidatureFile] = field(default_factory=dict)
    portal: EmbeddedPortal | None = None  # some actions go through the portal over HTTP (ami/app/portal/embedded.py)
    selected: list[str] = field(default_factory=list)  # SIREN/INSEE, in ranking order
    waitlist: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # a part in the rest of the story -> SIREN/INSEE

    def published(self, year: int, month: int, day: int, hour: int = 10) -> datetime:
        return datetime(year, month, day, hour, tzinfo=PARIS)

    async def at(self, year: int, month: int, day: int, hour: int = 10) -> None:
        await sleep_until(self.time_map.to_plan(self.published(year, month, day, hour)))

    def say(self, day: str, message: str) -> None:
        self.console.print(f"[dim]{day:>10}[/]  {message}", soft_wrap=True)

    def name(self, key: str) -> str:
        return self.forms[key].collectivite.name

    async def act(self, action: Awaitable[object], day: str) -> bool:
        """Run a coordinator action; a refusal by the workflow is shown, never a crash."""
        try:
            await action
        except Refused as refusal:
            self.say(day, f"[yellow]refusé[/] : {escape(str(refusal))}")
            return False
        return True

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

    async def confirm_promoted(self, key: str, day: str, by_portal: bool = False) -> None:
        """Wait for the campaign to promote `key` (the next on the waitlist), then confirm its binôme."""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = await self.coord.candidature_status(key)
            if any(t.trigger == "promote" for t in status.transitions):
                web = self.portal if by_portal else None  # on its dossier page, as its promotion email invites it to
                confirming = web.confirm_binome if web else self.coord.confirm_binome
                if await self.act(confirming(key, *binome(self.forms[key])), day):
                    where = " (binôme confirmé sur son espace dossier du portail)" if web else ""
                    self.say(day, f"promue depuis la liste d'attente et confirmée : {self.name(key)}{where}")
                return
            await asyncio.sleep(0.02)
        self.say(day, f"[yellow]{key} n'a pas été promue[/] ({status.state})")


Action = Callable[[DemoRun, str], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    at: tuple[int, ...] | None  # the published date it waits for (year, month, day[, hour]); None: right after the previous
    day: str  # the story's date column
    action: Action


def send(*forms: str | tuple[str, str]) -> Action:
    """Forms submitted in turn: an example's stem, or (its stem, what the story notes about it)."""

    async def action(run: DemoRun, day: str) -> None:
        for form in forms:
            stem, note = form if isinstance(form, tuple) else (form, "")
            await run.submit(stem, day, f"[dim]({note})[/]" if note else "")

    return action


def move(number: int, when: tuple[int, int, int, int], place: str) -> Action:
    """A session moved: its invitation is re-sent with the same UID and a higher SEQUENCE."""

    async def action(run: DemoRun, day: str) -> None:
        moment = run.published(*when)
        if await run.act(run.coord.set_session(number, run.time_map.to_plan(moment), place), day):
            date = format_date(moment.date(), "d MMMM", locale="fr_FR")
            run.say(
                day, f"séance {number} déplacée au {date} ({moment.hour} h), {place} : invitation mise à jour (même UID, SEQUENCE suivante)"
            )

    return action


async def jury(run: DemoRun, day: str) -> None:
    """Four members score every eligible candidature; one declares a conflict of interest."""
    c = run.coord
    eligible = {e.key: e.receipt_number for e in (await c.status()).candidatures if e.state == State.ELIGIBILITY_CHECKED}
    stems = {key: stem for stem, key in run.identifiers.items()}
    lomme = eligible.get(run.identifiers["04-lomme"])
    if lomme:
        await c.declare_conflict("reseau", lomme, "élu de la même intercommunalité")
        run.say(day, f"conflit d'intérêts déclaré : membre « reseau » sur {lomme}")
    # Temporal caps the updates in flight on one workflow (10 by default): score in small batches.
    for key, receipt in sorted(eligible.items(), key=lambda kv: kv[1]):
        scoring = []
        base = MARKS.get(stems.get(key, ""), 3)
        for n, member in enumerate(JURY):
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
    run.say(day, f"jury : {len(eligible)} candidatures éligibles notées par 4 membres{_BY_PORTAL_JUROR if run.portal else ''}")
    grid = write_jury_grid(run.database_url, run.plan, run.out_dir)
    run.say(day, f"grille du jury (toutes les réponses et les colonnes de notation) : {grid}")


async def deliberate(run: DemoRun, day: str) -> None:
    """The ranking, the parts it hands out, and the session dates, set right after: the campaign
    sends them to each collectivité as soon as it confirms its binôme."""
    c = run.coord
    result = await c.deliberate("coordination")
    counts = {d: sum(1 for r in result.ranking if r.decision is d) for d in Decision}
    run.say(
        day,
        f"délibération : {counts[Decision.SELECTED]} retenues, {counts[Decision.WAITLISTED]} en liste d'attente, "
        f"{counts[Decision.NOT_SELECTED]} non retenues — décisions gardées jusqu'au 15 septembre",
    )
    receipt_key = {e.receipt_number: e.key for e in (await c.status()).candidatures}
    run.selected = [receipt_key[r.receipt_number] for r in result.ranking if r.decision is Decision.SELECTED]
    waiting = sorted((r for r in result.ranking if r.decision is Decision.WAITLISTED), key=lambda r: r.waitlist_position or 0)
    run.waitlist = [receipt_key[r.receipt_number] for r in waiting]
    s = run.selected
    run.roles = {"unconfirmed": s[-1], "withdrawing": s[-2], "absent": s[0], "partial": s[1], "mid_cycle": s[2]}
    dates = [tuple(map(int, session.month.split("-"))) for session in run.plan.sessions]
    await asyncio.gather(
        *(c.set_session(n + 1, run.time_map.to_plan(run.published(y, m, 15, 14)), PLACES[n]) for n, (y, m) in enumerate(dates))
    )
    run.say(day, "les six séances ont une date (le 15 de chaque mois à 14 h)")


async def confirm_selected(run: DemoRun, day: str) -> None:
    """Each selected collectivité answers as soon as its decision arrives on the 15th; one never does."""

    async def confirm(key: str) -> None:
        await wait_state(run.coord, key, {State.NOTIFIED})
        await run.act(run.coord.confirm_binome(key, *binome(run.forms[key])), day)

    unconfirmed = run.roles["unconfirmed"]
    await asyncio.gather(*(confirm(key) for key in run.selected if key != unconfirmed))
    run.say(
        day,
        f"décisions envoyées le 15 ; {len(run.selected) - 1} binômes confirmés, invitations .ics envoyées ; "
        f"{run.name(unconfirmed)} ne répond pas",
    )


async def withdraw_before_cycle(run: DemoRun, day: str) -> None:
    withdrawing = run.roles["withdrawing"]
    await run.act(run.coord.withdraw(withdrawing, "La collectivité renonce : calendrier électoral incompatible."), day)
    run.say(day, f"retrait de {run.name(withdrawing)} : la première en liste d'attente est promue")
    await run.confirm_promoted(run.waitlist[0], "21 sept.", by_portal=True)


async def release_unconfirmed(run: DemoRun, day: str) -> None:
    run.say(day, f"{run.name(run.roles['unconfirmed'])} n'a pas confirmé : place libérée, promotion suivante")
    await run.confirm_promoted(run.waitlist[1], day)


async def sessions(run: DemoRun, _day: str) -> None:
    """Each session, once over: attendance (one absence, one incomplete binôme), questionnaires,
    the experiments at the last one, and a withdrawal in the middle of the cycle."""
    c = run.coord
    for plan in run.plan.sessions:
        session = next(s for s in (await c.status()).sessions if s.number == plan.number)
        await sleep_until(session.ends_at + (session.ends_at - session.starts_at))
        enrolled = [e.key for e in (await c.status()).candidatures if e.state in (State.ENROLLED, State.SESSION_TRACKED)]

        async def attend(key: str, number: int, month: str) -> None:
            elected = not (key == run.roles["absent"] and number == 3)
            technician = elected and not (key == run.roles["partial"] and number == 4)
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
        month = _month(plan.month)
        run.say(month, f"séance {plan.number} : présences et questionnaires enregistrés pour {len(enrolled)} collectivités{notes}")
        mid_cycle = run.roles["mid_cycle"]
        if plan.number == 2 and mid_cycle in enrolled:
            await run.act(c.withdraw(mid_cycle, "Départ du technicien référent, la collectivité se retire du cycle."), plan.month)
            run.say(month, f"retrait en cours de cycle : {run.name(mid_cycle)}")


STORY = (
    Step((2024, 7, 12), "12 juil.", send("01-henin-carvin", "02-mel", "03-libercourt", "04-lomme")),
    Step((2024, 7, 20), "20 juil.", send(("07-laon-incomplet", "sans référent technique ni objectif"), ("13-reims", "hors région"))),
    Step((2024, 8, 2), "2 août", send("05-arras", "06-saint-quentinois", "08-beauvaisis", "09-compiegne", "10-amiens", "11-abbeville")),
    Step((2024, 8, 20), "20 août", send(("02-mel-doublon", "second envoi"), ("07-laon", "formulaire complété"))),
    Step((2024, 9, 9, 12), "9 sept.", send(("12-hellemmes", "après la date limite"))),
    Step((2024, 9, 10), "10 sept.", jury),
    Step((2024, 9, 12), "12 sept.", deliberate),
    Step(None, "16 sept.", confirm_selected),
    Step((2024, 9, 20), "20 sept.", withdraw_before_cycle),
    Step((2024, 9, 25, 12), "25 sept.", release_unconfirmed),
    Step((2024, 10, 5), "5 oct.", move(2, (2024, 11, 19, 9), "Arras, tiers-lieu de la Citadelle")),
    Step((2024, 10, 12), "12 oct.", move(2, (2024, 11, 26, 14), "Arras, Maison de l'habitat")),
    Step(None, "", sessions),
)


async def play(run: DemoRun) -> None:
    for step in STORY:
        if step.at is not None:
            await run.at(*step.at)
        await step.action(run, step.day)


def _month(month: str) -> str:
    """« 2024-10 » as the story's date column shows it: « oct. 2024 »."""
    return str(format_date(datetime.strptime(month, "%Y-%m").date(), "MMM y", locale="fr_FR"))
