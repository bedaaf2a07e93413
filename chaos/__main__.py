"""`python -m chaos [--short] [--out DIR] [--seed N]`: one chaos run, its figures, exit 0 when every
check holds. The store is PostgreSQL when AMI_CHAOS_POSTGRES_URL (or AMI_TEST_POSTGRES_URL) reaches
one, SQLite under the run's folder otherwise."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from chaos.run import FULL, SHORT, run
from chaos.store import database_url


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description="campagne complète sous pannes injectées")
    parser.add_argument("--short", action="store_true", help="la course courte de la CI (décisions seulement)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    scenario = SHORT if args.short else FULL
    out = args.out or Path("var") / "chaos" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    url = database_url(out, os.environ.get("AMI_CHAOS_POSTGRES_URL") or os.environ.get("AMI_TEST_POSTGRES_URL"))
    figures = asyncio.run(run(scenario, out.resolve(), url, args.seed))
    print(figures.render(), flush=True)
    (out / "figures.txt").write_text(figures.render() + "\n")
    return 0 if not figures.failures and not figures.slow else 1


if __name__ == "__main__":
    sys.exit(main())
