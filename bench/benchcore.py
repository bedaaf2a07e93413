"""What every phase of the bench shares: the servers it starts, the worker, plans, submissions, the bare baseline."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from ami.app.harness import DATABASE, free_port, local_engine, start_dev
from ami.app.ops import Coordination
from ami.models.campaign import load_campaign
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature import CandidatureFile
from ami.worker.runner import pacing_options
from bench.cache_probe import RebuildCounter
from bench.common import Shape, StoreProbe, bounded

MARKS = {"motivation": 4, "binome": 5, "posture": 3, "adaptabilite": 4, "numerique": 3, "apport": 4}
CONCURRENCY = 4  # client updates in flight per campaign (submissions, scores); the server allows 10 per workflow


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stamp() -> str:
    return datetime.now(UTC).strftime("%H%M%S%f")[:9]


def marks_for(i: int) -> dict[str, int]:
    return {k: max(0, min(5, v - (i % 3) + 1)) for k, v in MARKS.items()}


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.results: dict[str, Any] = {}
        self.file_plan = load_campaign("ami-2024").plan()
        self.lifecycle_histories: dict[str, Any] | None = None  # set by the lifecycle phase, replayed by the next

    # --- setup -------------------------------------------------------------------------------

    async def start(self) -> None:
        """The engine of ami.app.harness (its store, sink and worker) on a dev server of its own, and the baseline's worker."""
        self.probe = StoreProbe(self.work / DATABASE)
        port, ui_port = free_port(), free_port()
        t = time.monotonic()
        self.env = await start_dev(port, ui_port)
        self.address = f"127.0.0.1:{port}"
        log(f"dev server on {self.address} (UI {ui_port}) in {time.monotonic() - t:.1f} s")
        # The engine's worker counts the workflows it rebuilt from their histories (bench/cache_probe.py).
        self.rebuilds = RebuildCounter()
        config = self.env.client.config()
        config["interceptors"] = [self.rebuilds]
        self.client: Client = Client(**config)
        from bench.baseline import BaselineWorkflow, empty_activity

        self.running = AsyncExitStack()
        counted = cast(WorkflowEnvironment, SimpleNamespace(client=self.client))  # local_engine's worker uses env.client
        engine = await self.running.enter_async_context(local_engine(self.work, "ami-bench", env=counted))
        self.settings, self.sink = engine.settings, engine.sink
        from bench.baseline_effects import PlainEffects
        from bench.baseline_messages import BareCampaign, BareCandidature

        # The floor with side effects sends to the engine's sink and writes a database of its own.
        self.plain = PlainEffects(self.sink.port, self.work / "plain-floor")
        self.running.callback(self.plain.close)
        # The floors' worker takes work at the engine's pace (activities and workflow tasks at once,
        # the sticky timeout): a floor is the same work on bare Temporal, not other worker options.
        base_worker = Worker(
            self.client,
            task_queue="bench-baseline",
            workflows=[BaselineWorkflow, BareCampaign, BareCandidature],
            activities=[empty_activity, *self.plain.activities()],
            **pacing_options(self.settings),
        )
        await self.running.enter_async_context(base_worker)

    async def stop(self) -> None:
        try:  # the workers (baseline's first), then the sink
            await asyncio.wait_for(self.running.aclose(), 60)
        except Exception as error:  # noqa: BLE001
            log(f"worker shutdown: {error!r}")
        await self.env.shutdown()

    def plan(self, name: str, day_seconds: float, anchor: datetime | None = None, **changes: Any) -> CampaignPlan:
        anchor = anchor or datetime.now(UTC) + timedelta(seconds=1.5)
        plan = self.file_plan.compressed(anchor, day_seconds / 86400)
        return plan.model_copy(update={"id": f"bench-{name}-{stamp()}", **changes})

    # --- 1. cost of one full lifecycle (and 4. replay) -------------------------------------------

    async def wait_state(self, coord: Coordination, key: str, states: set[str], limit: float) -> str:
        """Until the candidature is in one of `states` and its campaign knows it (its reports are
        signals: the campaign may learn a moment later, and refuses a score until then)."""
        deadline = time.monotonic() + limit
        while True:
            state = (await coord.candidature_status(key)).state
            if state in states:
                seen = {e.key: str(e.state) for e in (await coord.status()).candidatures}
                if seen.get(key) in states:
                    return state
            if time.monotonic() > deadline:
                return state
            await asyncio.sleep(0.02)

    async def wait_parked(self, coord: Coordination, count: int, limit: float) -> int:
        """Candidatures past their eligibility check (eligible ones then wait for the jury)."""
        deadline = time.monotonic() + limit
        while True:
            status = await coord.status()
            done = sum(1 for e in status.candidatures if e.state in ("eligibility_checked", "ineligible"))
            if done >= count or time.monotonic() > deadline:
                return done
            await asyncio.sleep(0.5)

    async def submit(self, coord: Coordination, forms: list[CandidatureFile], timeout: float = 120) -> list[Any]:
        async def one(form: CandidatureFile) -> Any:
            return await asyncio.wait_for(coord.submit(form), timeout)

        return await bounded(self.args.concurrency, [lambda f=f: one(f) for f in forms])

    async def baseline(self, n: int, shape: Shape) -> dict[str, Any]:
        from bench.baseline import BaselineWorkflow

        tag = stamp()
        t0 = time.monotonic()

        async def one(i: int) -> int:
            handle = await self.client.start_workflow(
                BaselineWorkflow.run,
                args=[shape.activities, shape.timers, shape.local_activities],
                id=f"bench-baseline-{tag}-{i}",
                task_queue="bench-baseline",
            )
            return await asyncio.wait_for(handle.result(), 300)

        results = await bounded(CONCURRENCY * 8, [lambda i=i: one(i) for i in range(n)])
        wall = time.monotonic() - t0
        failed = sum(1 for r in results if isinstance(r, BaseException))
        return {
            "workflows": n,
            "activities_each": shape.activities,
            "local_activities_each": shape.local_activities,
            "timers_each": shape.timers,
            "wall_s": round(wall, 2),
            "failed": failed,
        }
