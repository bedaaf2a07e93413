"""One chaos run: start the processes, play the campaign while the faults hit, check, print figures."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from ami.app.examples import example
from ami.app.ops import start_campaign
from ami.domain.register import load_register
from ami.infra.client import connect
from ami.infra.settings import Settings
from ami.infra.store import Store, upgrade
from ami.models.campaign import load_campaign
from ami.models.candidature import CandidatureFile
from chaos import checks
from chaos.cluster import Cluster, FaultLog
from chaos.drive import Driver, published


@dataclass(frozen=True)
class Scenario:
    name: str
    candidatures: int
    day_seconds: float  # one published day lasts this long
    full: bool  # the whole cycle to capitalisation, or the decisions only
    kill_every: tuple[float, float]  # a worker SIGKILLed every uniform(a, b) seconds
    relay_outage: float
    store_outage: float | None = None
    temporal_outage: float | None = None
    capacity: int = 10
    waitlist: int = 5
    confirmation_days: int = 25  # published days; wider than the call's 10 so that one relay outage stays small beside it


FULL = Scenario("complète", 30, 4.0, True, (8.0, 16.0), 60.0, store_outage=30.0, temporal_outage=10.0)
SHORT = Scenario("courte", 12, 1.0, False, (4.0, 10.0), 15.0, capacity=6, waitlist=3, confirmation_days=400)


def forms(count: int) -> list[CandidatureFile]:
    """`count - 1` distinct eligible forms (07-laon left out: it comes incomplete, then corrected)."""
    stems = ["01-henin-carvin", "02-mel", "03-libercourt", "05-arras", "06-saint-quentinois", "08-beauvaisis", "09-compiegne", "10-amiens"]
    found = [example(stem) for stem in stems]
    used = {f.collectivite.identifier for f in found} | {example("07-laon").collectivite.identifier}
    base = found[0]
    for entry in sorted(load_register().in_region("32"), key=lambda e: e.siren or ""):
        if entry.kind in ("CA", "CU", "METRO", "CC") and entry.siren and entry.siren not in used:
            found.append(
                base.model_copy(update={"collectivite": base.collectivite.model_copy(update={"siren": entry.siren, "name": entry.name})})
            )
    return found[: count - 1]


async def _connect(address: str) -> Client:
    end = time.monotonic() + 120
    while True:
        try:
            return await connect(Settings(temporal_address=address))
        except RuntimeError:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(1)


async def _killer(cluster: Cluster, scenario: Scenario, stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), random.uniform(*scenario.kill_every))
        if not stop.is_set():
            await cluster.kill_worker()


async def _supervisor(cluster: Cluster, stop: asyncio.Event) -> None:
    while not stop.is_set():
        cluster.supervise()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def _after(instant: datetime, fault: Awaitable[None]) -> None:
    """Inject `fault` at a compressed instant of the plan."""
    await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))
    await fault


async def _story(driver: Driver, cluster: Cluster, scenario: Scenario) -> None:
    plan = driver.plan
    await driver.submissions()
    await driver.jury()
    if scenario.full:
        await driver.set_sessions()
    # The relay is down across the response date: every decision letter waits for it.
    factor = scenario.day_seconds / 86400
    outage = asyncio.create_task(
        _after(plan.response_at - timedelta(days=5) * factor, cluster.relay_down(scenario.relay_outage, "date de réponse"))
    )
    await driver.terminate_one()
    if not scenario.full:
        await outage
        await driver.wait_states(driver.keys, {"notified", "closed"}, 240)
        return
    await driver.confirmations()
    await outage
    # Down again during a wave of session invitations: a session moves, every enrolled one is told.
    wave = asyncio.create_task(cluster.relay_down(scenario.relay_outage, "vague d'invitations (séance déplacée)"))
    await asyncio.sleep(1.0)
    await driver.move_a_session()
    await wave
    faults = []
    if scenario.store_outage:
        faults.append(asyncio.create_task(_after(driver.time_map.to_plan(published(11, 17)), cluster.store_down(scenario.store_outage))))
    if scenario.temporal_outage:
        faults.append(
            asyncio.create_task(
                _after(driver.time_map.to_plan(published(1, 20, 10, 2025)), cluster.temporal_restart(scenario.temporal_outage))
            )
        )
    for session in plan.sessions:
        count = await driver.attendance(session.number)
        cluster.faults.log("attendance_recorded", session=session.number, candidatures=count)
    await asyncio.gather(*faults)


async def run(scenario: Scenario, out: Path, database_url: str, seed: int | None = None) -> checks.Figures:
    random.seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    faults = FaultLog(out / "faults.jsonl", started)
    await asyncio.to_thread(upgrade, database_url)
    stamp = datetime.now(UTC).strftime("%H%M%S")
    cluster = Cluster(out, database_url, faults, task_queue=f"ami-chaos-{stamp}")
    print(
        f"Chaos ({scenario.name}) : {scenario.candidatures} candidatures, un jour publié = {scenario.day_seconds} s, sortie {out}",
        flush=True,
    )
    cluster.start()
    stop = asyncio.Event()
    background: list[asyncio.Task[None]] = []
    try:
        client = await _connect(cluster.address)
        factor = scenario.day_seconds / 86400
        plan = (
            load_campaign("ami-2024")
            .plan()
            .compressed(datetime.now(UTC) + timedelta(seconds=5), factor)
            .model_copy(
                update={
                    "id": f"chaos-{stamp}",
                    "capacity": scenario.capacity,
                    "waitlist_size": scenario.waitlist,
                    "confirmation_window": timedelta(days=scenario.confirmation_days) * factor,
                }
            )
        )
        handle = await start_campaign(client, plan, cluster.task_queue)
        faults.log("campaign_started", id=plan.id)
        driver = Driver(client, plan, faults, forms(scenario.candidatures))
        background = [asyncio.create_task(_killer(cluster, scenario, stop)), asyncio.create_task(_supervisor(cluster, stop))]
        interrupted = None
        try:
            await _story(driver, cluster, scenario)
            if scenario.full:
                capitalised = plan.sessions[-1].window_end + plan.capitalisation_delay
                limit = max(0.0, (capitalised - datetime.now(UTC)).total_seconds()) + 300
                await driver.call("fin de campagne", lambda: asyncio.wait_for(handle.result(), limit), limit=limit + 60)
        except Exception as error:  # the figures still say what held and what did not
            traceback.print_exc()
            interrupted = f"{type(error).__name__}: {str(error)[:200]}"
            faults.log("story_interrupted", error=interrupted)
        stop.set()
        await asyncio.gather(*background)
        faults.log("faults_over", kills=faults.count("worker_sigkill"))
        await _settle(driver, cluster, scenario)
        figures = await _check(cluster, driver, scenario, client)
        if interrupted:
            figures.add("scénario interrompu", interrupted, False)
        if not scenario.full:  # the cycle is not played: end what still runs, as the test's own act
            await _end(driver, client)
        return figures
    finally:
        stop.set()
        for task in background:
            task.cancel()
        cluster.stop()


async def _until(end: float, done: Callable[[], Awaitable[bool]]) -> bool:
    """Ask `done()` every second until it says yes (True) or the monotonic instant `end` comes (False)."""
    while time.monotonic() < end:
        if await done():
            return True
        await asyncio.sleep(1.0)
    return False


async def _settle(driver: Driver, cluster: Cluster, scenario: Scenario, limit: float = 180) -> None:
    """Once the faults are over, give the engine time to reach what the checks expect (the short run
    stops before the end of the story): each candidature at its expected state, the outbox drained,
    no activity left pending."""
    end = time.monotonic() + limit
    running = [k for k in driver.keys if driver.coord.candidature(k).id not in driver.terminated]

    async def at_expected_states() -> bool:
        return all([await driver.state(k) in driver.expected_states(k, scenario.full) for k in running])

    await _until(end, at_expected_states)
    store = Store(cluster.database_url)
    ours = {driver.coord.candidature(k).id for k in driver.keys} | {driver.coord.campaign.id}

    async def outbox_drained() -> bool:
        return not [r for r in store.emails() if r.workflow_id in ours and r.status == "pending"]

    try:
        await _until(end, outbox_drained)
    finally:
        store.engine.dispose()
    # An activity lost with the last worker killed is run again only after its timeout and its retry
    # policy's wait: the recovery check counts it as never resumed unless that next attempt has come.
    handles = [driver.coord.campaign] + [driver.coord.candidature(k) for k in running]

    async def pending_activities() -> int:
        pending = 0
        for handle in handles:
            try:
                pending += len((await handle.describe()).raw_description.pending_activities)
            except RPCError as error:
                if error.status is not RPCStatusCode.NOT_FOUND:  # gone is nothing pending; anything else, ask again
                    pending += 1
        return pending

    async def nothing_pending() -> bool:
        return await pending_activities() == 0

    settled = await _until(end, nothing_pending)
    left = 0 if settled else await pending_activities()
    cluster.faults.log("settled", seconds=round(limit - (end - time.monotonic())), pending_activities=left)


async def _check(cluster: Cluster, driver: Driver, scenario: Scenario, client: Client) -> checks.Figures:
    figures = checks.Figures()
    faults = cluster.faults
    figures.add("durée", f"{time.time() - faults.started:.0f} s")
    figures.add(
        "pannes injectées",
        ", ".join(
            f"{kind} {faults.count(kind)}"
            for kind in ("worker_sigkill", "relay_down", "store_down", "temporal_stopped", "candidature_terminated", "update_sent_twice")
        ),
    )
    busy = sum(1 for e in faults.entries if e["kind"] == "worker_sigkill" and int(str(e["holding"])) > 0)
    figures.add("SIGKILL d'un travailleur qui tenait des tâches", busy, busy > 0)
    if scenario.full:  # the least of each fault « make chaos » must have survived
        injected = {"worker_sigkill": 20, "relay_down": 2, "store_down": 1, "temporal_stopped": 1, "candidature_terminated": 1}
        short = {kind: faults.count(kind) for kind, least in injected.items() if faults.count(kind) < least}
        figures.add("pannes prévues toutes injectées", "oui" if not short else f"non : {short}", not short)
    figures.add(
        "travailleurs morts d'eux-mêmes", faults.count("worker_exited_unexpectedly"), faults.count("worker_exited_unexpectedly") == 0
    )
    figures.add("appels du client repris après une coupure", driver.retried_calls)
    for line in driver.repeat_results:
        figures.add("action répétée", line, "DIFFÉRENTS" not in line and "acceptée deux fois" not in line)
    await checks.workflows(client, driver, figures, scenario.full)
    store = Store(cluster.database_url)
    try:
        ours = {driver.coord.candidature(k).id for k in driver.keys} | {driver.coord.campaign.id}
        checks.emails(store, cluster.mail_dir, ours, figures, faults, scenario.full, driver.coord.campaign.id)
        await checks.store_vs_histories(store, driver, figures)
        checks.documents(store, cluster.out, ours, figures)
    finally:
        store.engine.dispose()
    checks.tracebacks(cluster.out / "logs", figures)
    checks.recovery(cluster.out / "logs", faults, figures, driver.terminated)
    return figures


async def _end(driver: Driver, client: Client) -> None:
    for key in driver.keys:
        handle = driver.coord.candidature(key)
        if handle.id not in driver.terminated:
            with contextlib.suppress(Exception):
                await handle.terminate("fin de la course courte du chaos")
    with contextlib.suppress(Exception):
        await driver.coord.campaign.terminate("fin de la course courte du chaos")
