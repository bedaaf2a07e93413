"""`python -m chaos [--short] [--out DIR] [--seed N]`: one chaos run, its figures, exit 0 when every
check holds. The store is PostgreSQL when AMI_CHAOS_POSTGRES_URL (or AMI_TEST_POSTGRES_URL) reaches
one, SQLite under the run's folder otherwise."""

from __future__ import annotations

# First, before any import registers an exit function: the process skips the interpreter's
# teardown once Temporal is loaded (ami/app/program.py).
from ami.app.program import leave_before_teardown, run_program

leave_before_teardown()

import argparse
import asyncio
import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

from chaos.run import FULL, SHORT, run
from chaos.store import database_url


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description="campagne complète sous pannes injectées")
    parser.add_argument("--short", action="store_true", help="la course courte de la CI (décisions seulement)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--candidatures", type=int, default=None, help="nombre de candidatures (30 par défaut)")
    parser.add_argument("--day-seconds", type=float, default=None, help="durée d'un jour publié, en secondes")
    parser.add_argument("--outages", type=float, nargs=3, metavar=("RELAIS", "BASE", "TEMPORAL"), help="durées des pannes, en secondes")
    args = parser.parse_args()
    scenario = SHORT if args.short else FULL
    if args.candidatures:
        scenario = dataclasses.replace(scenario, candidatures=args.candidatures)
    if args.day_seconds:
        scenario = dataclasses.replace(scenario, day_seconds=args.day_seconds)
    if args.outages:
        relay, store, temporal = args.outages
        scenario = dataclasses.replace(scenario, relay_outage=relay, store_outage=store, temporal_outage=temporal)
    out = args.out or Path("var") / "chaos" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    url = database_url(out, os.environ.get("AMI_CHAOS_POSTGRES_URL") or os.environ.get("AMI_TEST_POSTGRES_URL"))
    figures = asyncio.run(run(scenario, out.resolve(), url, args.seed))
    print(figures.render(), flush=True)
    (out / "figures.txt").write_text(figures.render() + "\n")
    return 0 if not figures.failures and not figures.slow else 1


if __name__ == "__main__":
    run_program(main)
