"""`ami demo`: a whole campaign, compressed in time, on an embedded server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ami.app.cli.common import EXIT_UNAVAILABLE, err, out, run
from ami.app.devserver import FRONTEND_PORT, UI_PORT, port_in_use


def register(commands: Any) -> None:
    demo = commands.add_parser("demo", help="dérouler une campagne complète en temps compressé, avec l'interface Temporal")
    demo.add_argument("--out", default="demo-out", help="dossier des courriels (.eml), documents et base (défaut : demo-out)")
    demo.add_argument("--keep", action="store_true", help="laisser le serveur et son interface ouverts à la fin")
    demo.add_argument("--day-seconds", type=float, default=None, help="durée d'un jour du calendrier publié, en secondes")
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from ami.app.demo import DEFAULT_DAY_SECONDS, run_demo

    busy = [p for p in (FRONTEND_PORT, UI_PORT) if port_in_use(p)]
    if busy:
        err.print(
            f"Une démonstration (ou un autre serveur Temporal) tourne déjà : port(s) {', '.join(map(str, busy))} occupé(s). "
            f"Son interface est sur http://localhost:{UI_PORT} ; arrêtez-la (Ctrl-C) avant d'en lancer une autre."
        )
        return EXIT_UNAVAILABLE
    from rich.console import Console

    console = Console(highlight=False, width=max(out.width, 150))
    return run(run_demo(Path(args.out), args.keep, args.day_seconds or DEFAULT_DAY_SECONDS, console))
