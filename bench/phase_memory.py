"""Phase 3: worker RSS per parked candidature (a workflow-only worker in a subprocess)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from temporalio.worker import Worker

from ami.app.ops import Coordination, start_campaign
from ami.infra.settings import Settings
from ami.workflows.candidature import candidature_workflow_id
from bench.benchcore import Bench, log, stamp
from bench.common import (
    ROOT,
    rss_kib,
    terminate_all,
)


async def memory(bench: Bench) -> None:
    """The same parking run once per worker cache size: the SDK's default (1,000) and the engine's setting."""
    sizes = [int(x) for x in bench.args.mem_cache.split(",")] if bench.args.mem_cache else [1000, Settings().max_cached_workflows]
    runs = []
    for size in dict.fromkeys(sizes):
        await _park(bench, size)
        runs.append(bench.results.pop("memory"))
    bench.results["memory"] = {**runs[-1], "by_cache": runs}


async def _park(bench: Bench, cache: int) -> None:
    n = bench.args.mem_n or bench.args.n
    queue = f"bench-mem-{stamp()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.wfworker", bench.address, queue, str(cache)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, **({"AMI_BENCH_TRIM": "1"} if bench.args.mem_trim else {})},
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        assert line.strip() == "ready", line
        from bench.stubs import stub_activities

        # Activities answer from this process (stand-ins with the real shapes: see baseline.py).
        async with Worker(bench.client, task_queue=queue, activities=stub_activities(), max_concurrent_activities=100):
            # The campaign opens now and closes in an hour: candidatures park waiting for the jury.
            plan = bench.plan("mem", 60.0, anchor=datetime.now(UTC) - timedelta(seconds=1))
            campaign = await start_campaign(bench.client, plan, queue)
            coord = Coordination(bench.client, plan.id)
            forms = bench.forms[: n + 5]
            await bench.submit(coord, forms[:5])
            await bench.wait_parked(coord, 5, 60)
            await asyncio.sleep(2)
            idle = rss_kib(proc.pid)
            log(f"memory: workflow worker idle (campaign + 5 parked) {idle / 1024:.0f} MiB; parking {n} more")
            t = time.monotonic()
            await bench.submit(coord, forms[5:])
            got = await bench.wait_parked(coord, n + 5, 600)
            park_s = time.monotonic() - t
            await asyncio.sleep(3)
            parked = rss_kib(proc.pid)
            ids = [campaign.id] + [candidature_workflow_id(plan.id, f.collectivite.identifier) for f in forms]
            await terminate_all(bench.client, ids)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    per = (parked - idle) / max(1, got - 5)
    bench.results["memory"] = {
        "parked": got - 5,
        "all_parked": got == n + 5,
        "idle_rss_mib": round(idle / 1024, 1),
        "parked_rss_mib": round(parked / 1024, 1),
        "kib_per_candidature": round(per, 1),
        "park_s": round(park_s, 1),
        "max_cached_workflows": cache,
        "trimmed": bool(bench.args.mem_trim),
        "note": "workflow-only worker in a subprocess; stand-in activities in the bench process",
    }
    log(f"memory: {per:.0f} KiB per parked candidature ({got - 5} parked, cache of {cache} workflows)")
