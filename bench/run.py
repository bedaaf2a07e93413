"""The engine's benchmark: one run, every figure as a ratio against a bare baseline.

    python -m bench.run [--n 500] [--scale-n N] [--quick] [--region] [--json] [--only PHASE,...]

Starts its own embedded Temporal dev server (with our search attributes) on free ports, an SMTP
sink and an SQLite store in a temporary folder, and a worker in this process; then measures:

  lifecycle   cost of one full lifecycle (events, state transitions, billable actions, bytes)
  replay      milliseconds to replay that history
  memory      worker RSS per parked candidature (a workflow-only worker in a subprocess)
  throughput  N candidatures to their decision email, against a bare workflow with as many
              activities and timers (empty bodies)
  scale       every commune and EPCI of Hauts-de-France in one campaign (--scale-n limits)
  io          documents/s and emails/s into the sink, against bare fpdf2 and a raw aiosmtplib loop
  region      (--region) all 3,872 collectivités of the region in one campaign, quorum 2, 1,000-character
              comments, to the decisions sent, beside its bare floor; the largest payload and run

See docs/performance.md for what the figures mean.
"""

from __future__ import annotations

# First, before any import registers an exit function: the process skips the interpreter's
# teardown once Temporal is loaded (ami/app/program.py).
from ami.app.program import leave_before_teardown, run_program

leave_before_teardown()

import argparse
import asyncio
import json
import os
import signal
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import phase_io, phase_lifecycle, phase_memory, phase_scale, phase_throughput
from bench.benchcore import CONCURRENCY, Bench, log
from bench.common import ROOT, machine, region_forms
from bench.report import table

# The phases, in the order they run: each is `async def phase(bench) -> None`, its figures in bench.results.
PHASES: dict[str, Callable[[Bench], Awaitable[None]]] = {
    "lifecycle": phase_lifecycle.lifecycle,
    "replay": phase_lifecycle.replay,
    "memory": phase_memory.memory,
    "throughput": phase_throughput.throughput,
    "scale": phase_scale.scale,
    "io": phase_io.io,
    "region": phase_scale.region,  # only with --region (or --only region): about 30 min on two cores
}
DEFAULT_PHASES = ("lifecycle", "replay", "memory", "throughput", "scale", "io")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500, help="candidatures for throughput (and parked for memory)")
    p.add_argument(
        "--scale-n", type=int, default=250, help="collectivités in the scale run (0: all 3,872 of the region; see docs/performance.md)"
    )
    p.add_argument("--per-campaign", type=int, default=100, help="candidatures per campaign in the throughput run")
    p.add_argument("--mem-n", type=int, default=None, help="parked candidatures for memory (default --n)")
    p.add_argument("--window", type=float, default=None, help="seconds the throughput call stays open (default from --n)")
    p.add_argument("--scale-window", type=float, default=None, help="seconds the scale call stays open (default from the throughput rate)")
    p.add_argument("--scale-timeout", type=float, default=420, help="seconds the whole scale run may take")
    p.add_argument("--concurrency", type=int, default=CONCURRENCY, help="client updates in flight per campaign (the server allows 10)")
    p.add_argument(
        "--region",
        action="store_true",
        help="add the region run: all 3,872 collectivités of Hauts-de-France in one campaign, quorum 2, 1,000-character comments, "
        "beside its bare floor (with --quick: 30 of them)",
    )
    p.add_argument("--region-n", type=int, default=0, help="collectivités of the region run (0: all 3,872)")
    p.add_argument("--region-window", type=float, default=None, help="seconds the region call stays open (default from its size)")
    p.add_argument("--region-timeout", type=float, default=5400, help="seconds the whole region run may take")
    p.add_argument(
        "--mem-cache", default=None, help="comma-separated worker cache sizes for the memory run (default: 1000 and the setting)"
    )
    p.add_argument(
        "--lifecycle-day", type=float, default=None, help="seconds per published day in the lifecycle run (default 0.08; 0.1 quick)"
    )
    p.add_argument(
        "--mem-trim", action="store_true", help="diagnostic: the memory run's worker collects garbage and trims malloc every second"
    )
    p.add_argument("--docs", type=int, default=50)
    p.add_argument("--emails", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run in under 2 minutes")
    p.add_argument("--only", default=None, help=f"comma-separated phases among {', '.join(PHASES)} (default: all but region)")
    p.add_argument("--json", action="store_true", help="print the results as JSON too")
    p.add_argument("--json-out", type=Path, default=None, help="write the results as JSON to this file")
    p.add_argument(
        "--save-histories",
        type=Path,
        default=None,
        help="write the lifecycle's two histories, and the bare ones its replay is compared with (JSON), into this folder",
    )
    args = p.parse_args(argv)
    if args.only is None:
        args.only = ",".join(DEFAULT_PHASES + (("region",) if args.region else ()))
    elif args.region and "region" not in args.only.split(","):
        args.only += ",region"
    if args.quick:
        args.n = min(args.n, 30)
        args.per_campaign = min(args.per_campaign, 15)
        args.scale_n = min(args.scale_n or 40, 40)
        args.docs, args.emails = 10, 20
        args.mem_n = args.mem_n or 30
        args.scale_timeout = min(args.scale_timeout, 90)
        args.region_timeout = min(args.region_timeout, 150)
    return args


ENGINE_FILES = ("ami",)


def engine_mtimes() -> dict[str, float]:
    """The engine's sources: the workflow sandbox re-reads them for every new workflow run, so a file
    edited during a run would mix two versions of the engine in one measurement."""
    found: dict[str, float] = {}
    for name in ENGINE_FILES:
        path = ROOT / name
        for f in [path] if path.is_file() else path.rglob("*.py"):
            found[str(f.relative_to(ROOT))] = f.stat().st_mtime
    return found


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    before = engine_mtimes()
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise SystemExit(f"unknown phase(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(prefix="ami-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        bench.results["machine"] = machine()
        bench.forms = region_forms("32", limit=max(args.n, args.mem_n or 0) + 10)
        await bench.start()
        try:
            for phase in PHASES:
                if phase in phases:
                    t = time.monotonic()
                    try:
                        await PHASES[phase](bench)
                    except Exception as error:  # noqa: BLE001
                        log(f"{phase}: FAILED {error!r}")
                        bench.results.setdefault("errors", {})[phase] = repr(error)[:500]
                    bench.results.setdefault("phase_s", {})[phase] = round(time.monotonic() - t, 1)
        finally:
            await bench.stop()
    after = engine_mtimes()
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    bench.results["engine_files_changed_during_run"] = changed
    if changed:
        log(f"WARNING: engine files changed during the run (figures mix two versions): {', '.join(changed)}")
    bench.results["wall_s"] = round(time.monotonic() - started, 1)
    bench.results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return bench.results


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # SIGTERM as Ctrl-C: the phases unwind and the dev server, the workers and the sink are stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    results = asyncio.run(amain(args))
    print(table(results))
    if results.get("engine_files_changed_during_run"):
        print("WARNING: engine files changed during the run: " + ", ".join(results["engine_files_changed_during_run"]))
    if results.get("errors"):
        print("errors: " + json.dumps(results["errors"], ensure_ascii=False))
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    if args.json_out:
        args.json_out.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    run_program(main)
