"""CPU of the `send_email` activity against raw aiosmtplib sends of the same bytes, in one process.

    .venv/bin/python scripts/profile_email.py --n 150 [--profile out.prof] [--rounds 2]

The SMTP sink (`ami.infra.mail.sink`) runs in a child process, so the CPU time measured here is the
sender's alone (the bench's io phase runs the sink in its own process, and its wall time counts the
sink's CPU on both sides). Each round sends `--n` emails with the summary PDF attached through the
activity (`ActivityEnvironment`, as the bench does), then the activity's last message `--n` times with
raw `aiosmtplib.send` (fresh connection each, like the activity), then `--n` minimal text messages
(`bench.baseline.bare_send`). `--profile` runs cProfile around the activity's loop only.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ami.app.examples import example
from ami.app.harness import free_port, local_settings

_SINK = """
import sys, time
from pathlib import Path
from ami.infra.mail.sink import start_sink
controller, _ = start_sink(Path(sys.argv[1]), port=int(sys.argv[2]))
print("ready", flush=True)
sys.stdin.read()
controller.stop()
"""


def _clock() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


async def main(args: argparse.Namespace) -> None:
    from temporalio.testing import ActivityEnvironment

    from ami.activities.documents import DocumentActivities
    from ami.activities.email import EmailActivities
    from ami.infra.mail.message import envelope
    from ami.infra.store import store_for
    from ami.models.activity_payloads import SendEmailInput
    from ami.models.document_requests import SummaryRequest
    from bench.baseline import bare_send, bare_send_raw
    from bench.phase_io import plain_message, plain_send

    work = Path(tempfile.mkdtemp(prefix="ami-email-prof-"))
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", _SINK, str(work / "mail"), str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert sink.stdout is not None and sink.stdout.readline().strip() == b"ready"
    try:
        settings = local_settings(work, port, "prof")
        store = store_for(settings.resolved_database_url())
        env = ActivityEnvironment()
        form = example("01-henin-carvin")
        now = datetime.now(UTC)
        data = {
            "receipt_number": "AMI-2024-0001",
            "campaign_name": "AMI 2024",
            "received_at": now.isoformat(),
            "form": form.model_dump(mode="json"),
            "official_name": "CA d'Hénin-Carvin",
            "kind_label": "communauté d'agglomération",
            "departement": "62",
        }
        ref = await env.run(
            DocumentActivities(settings, store).make_document,
            SummaryRequest.model_validate({"workflow_id": "prof-doc", "receipt_number": "R", "data": data}),
        )
        context: dict[str, Any] = {
            "campaign": {"id": "ami-2024", "name": "AMI 2024", "timezone": "Europe/Paris"},
            "receipt_number": "AMI-2024-0001",
            "collectivite": {"name": form.collectivite.name, "official_name": "CA d'Hénin-Carvin"},
            "received_at": now.isoformat(),
            "deadline_at": now.isoformat(),
            "response_at": now.isoformat(),
            "reasons": [],
            "decision": None,
            "confirmation_deadline": None,
            "attendance": [],
        }
        mails = EmailActivities(settings, store)
        stamp = f"{time.time_ns()}"

        def mail(r: int, i: int) -> SendEmailInput:
            return SendEmailInput(
                workflow_id=f"prof-{stamp}-{r}-{i}",
                purpose="receipt",
                occurrence="1",
                to=form.recipients(),
                context=context,
                attachments=[ref],
            )

        await env.run(mails.send_email, mail(-1, 0))
        raw = store.emails(f"prof-{stamp}--1-0")[0].raw
        sender, recipients = envelope(raw)
        await bare_send_raw(port, raw, sender, recipients)
        await bare_send(port, -1)
        plain = plain_message(raw, ref.path)
        await plain_send(port, plain, -1)
        n = args.n
        for r in range(args.rounds):
            profiler = cProfile.Profile() if args.profile else None
            c, w = _clock()
            if profiler:
                profiler.enable()
            for i in range(n):
                outcome = await env.run(mails.send_email, mail(r, i))
                assert outcome.status == "sent", outcome
            if profiler:
                profiler.disable()
                profiler.dump_stats(args.profile)
            c1, w1 = _clock()
            engine = ((c1 - c) / n * 1000, (w1 - w) / n * 1000)
            for _ in range(n):
                await bare_send_raw(port, raw, sender, recipients)
            c2, w2 = _clock()
            same = ((c2 - c1) / n * 1000, (w2 - w1) / n * 1000)
            for i in range(n):
                await bare_send(port, i)
            c3, w3 = _clock()
            bare = ((c3 - c2) / n * 1000, (w3 - w2) / n * 1000)
            for i in range(n):
                await plain_send(port, plain, i)
            c4, w4 = _clock()
            built = ((c4 - c3) / n * 1000, (w4 - w3) / n * 1000)
            print(
                f"round {r}: per email CPU/wall ms: engine {engine[0]:.2f}/{engine[1]:.2f}, "
                f"same bytes raw {same[0]:.2f}/{same[1]:.2f}, bare text {bare[0]:.2f}/{bare[1]:.2f}, "
                f"stdlib-built same content {built[0]:.2f}/{built[1]:.2f}; "
                f"CPU ratio engine/same-bytes {engine[0] / same[0]:.2f}, engine/bare {engine[0] / bare[0]:.2f}, "
                f"engine/stdlib-built {engine[0] / built[0]:.2f}; {len(raw)} bytes",
                flush=True,
            )
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", help="cProfile output of the activity's loop (the last round's)")
    asyncio.run(main(parser.parse_args()))
