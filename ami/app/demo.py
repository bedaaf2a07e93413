"""`ami demo`: one whole campaign, in compressed time, on the bundled candidatures.

Everything is embedded, from the local harness (ami.app.harness): the Temporal dev server with its Web
UI, an SMTP sink writing `.eml` files, an SQLite store and the worker; the portal and the codec
server beside them. The story itself (ami.app.demo_story) plays the coordinators and the jury through
the same `Coordination` calls as the `ami` commands, at the published dates of the 2024 call mapped
onto a few minutes, so that every branch of the lifecycle is walked.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from ami.app.codec_server import CodecServer
from ami.app.demo_output import dossiers, forwarding_runtime, quiet_logs, summary_table, write_index
from ami.app.demo_story import DEMO_CAPACITY, DEMO_WAITLIST, DemoRun, play
from ami.app.harness import free_port, local_settings, mail_sink, start_dev
from ami.app.ops import Coordination, start_campaign
from ami.app.portal.embedded import EmbeddedPortal, with_portal
from ami.infra.codec import codec_from_settings, data_converter, new_key_entry
from ami.infra.codec_settings import CodecSettings
from ami.infra.documents.form_docx import blank_form_docx
from ami.infra.privacy import notice
from ami.infra.private_files import private_dir
from ami.infra.store import store_for
from ami.models.campaign import load_campaign
from ami.models.lifecycle import FINAL_STATES, State
from ami.worker.runner import build_worker

DEFAULT_DAY_SECONDS = 0.4  # one published day lasts this long: the calendar (about 280 days) fits in 2 minutes
# The sink refuses this address (550), as a mistyped one would be: the bounce path runs for real.
BOUNCING_ADDRESS = "technique.abbeville@example.org"


async def run_demo(
    out_dir: Path, keep: bool, day_seconds: float, console: Console, ui_port: int = 8233, port: int = 7233, portal_port: int | None = None
) -> int:
    started = time.monotonic()
    private_dir(out_dir)
    mail_dir = out_dir / "mail"
    logs = contextlib.ExitStack()
    async with contextlib.AsyncExitStack() as running:  # stopped in reverse order: portal, server, codec server, sink
        running.callback(logs.close)  # the log file keeps every line until the very end
        sink = running.enter_context(mail_sink(mail_dir, refuse={BOUNCING_ADDRESS}))
        settings = local_settings(
            out_dir,
            sink.port,
            "ami-demo",
            data_dir=out_dir,
            temporal_address=f"localhost:{port}",
            demo=True,  # emails and documents marked, discreetly, as a demonstration
        )
        settings = with_portal(settings, portal_port or free_port())  # emails carry the portal's signed links
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
        database_url = settings.resolved_database_url()
        store_for(database_url)
        codec = codec_from_settings(codec_settings, database_url=database_url)
        assert codec is not None
        token = codec_settings.codec_server_token.get_secret_value()
        codec_server = CodecServer(codec, token, codec_settings.cors_origins(), port=0).start()
        running.callback(codec_server.stop)
        env = await start_dev(
            port,
            ui_port,
            data_converter=data_converter(codec_settings, database_url=database_url),
            ui_codec_endpoint=codec_server.ui_endpoint,
            runtime=forwarding_runtime(),
        )
        running.push_async_callback(env.shutdown)
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
            running.push_async_callback(portal.stop)
            console.print(f"Portail des collectivités et du jury : [link]{portal.url}[/link]")
            run = DemoRun(console, coord, plan, plan.time_map, out_dir, database_url, portal=portal)
            (out_dir / "formulaire-candidature.docx").write_bytes(blank_form_docx(plan.name, notice(plan.id, settings.campaigns_dir) or ()))
            console.print(f"Formulaire de candidature vierge : {out_dir / 'formulaire-candidature.docx'}")
            await play(run)
            console.print("Capitalisation : attestations, rapports par collectivité et rapport de campagne…")
            final = await handle.result()
            files = await dossiers(coord, final, run.forms)
            console.print(summary_table(files))
            index = write_index(out_dir, store_for(database_url), handle.id, plan.name, files)
            emails = len(list(mail_dir.glob("*.eml")))
            documents = len(list((out_dir / "documents").rglob("*.pdf")))
            all_final = all(State(e.state) in FINAL_STATES for e in final.candidatures)
            sent = store_for(database_url).emails()
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
