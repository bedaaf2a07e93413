"""The whole region in one campaign: every commune and EPCI of Hauts-de-France (3,872) from
submission to decisions sent, quorum 2, a 1,000-character comment on every review.

    .venv/bin/python -m bench.region [--limit N] [--day-seconds S]

Runs the real workflows on the dev server with stand-in activities (bench/stubs.py: the eligibility
check is the real one), so the figures are the campaign's own: its largest payload and its largest
run's history, against Temporal's limits (2 MB per payload, 50 MB and 51,200 events per run), and
the wall time of each phase. The throughput of the real activities is measured by bench/run.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from ami.activities.eligibility import check_eligibility
from ami.app.harness import start_dev
from ami.app.ops import Coordination, Refused, start_campaign
from ami.models.campaign import load_campaign
from ami.models.lifecycle import State
from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import CandidatureWorkflow
from bench.common import region_forms
from bench.stubs import StubActivities

PAYLOAD_LIMIT = 2 * 1024 * 1024
HISTORY_BYTES_LIMIT = 50 * 1024 * 1024
HISTORY_EVENTS_LIMIT = 51_200
COMMENT = ("Une candidature solide, un binôme engagé et des pistes concrètes pour les plateformes. " * 12)[:1000]


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


async def gather_bounded(items: list[Any], action: Any, width: int = 8) -> list[Any]:
    gate = asyncio.Semaphore(width)

    async def one(item: Any) -> Any:
        async with gate:
            return await action(item)

    return await asyncio.gather(*(one(i) for i in items))


async def status_of(coord: Coordination, whole: bool = False) -> Any:
    """The campaign's summary (or its whole status, about 1 MB here); a query the busy campaign could
    not answer in time is asked again."""
    while True:
        try:
            return await (coord.status() if whole else coord.summary())
        except RPCError as error:
            log(f"statut indisponible ({error.status.name if error.status else error}) : nouvel essai")
            await asyncio.sleep(5)


async def campaign_runs(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    """Each run of the campaign's chain: events, bytes, largest payload."""
    runs = []
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        history = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        # The largest event bounds the largest payload from above (an event holds its payloads).
        largest = max((e.ByteSize() for e in history.events), default=0)
        size = sum(e.ByteSize() for e in history.events)
        ended = history.events[-1].event_type if history.events else None
        runs.append(
            {
                "run_id": execution.run_id,
                "events": len(history.events),
                "bytes": size,
                "largest_payload": largest,
                "continued": ended == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
            }
        )
    return runs


async def main() -> int:
    parser = argparse.ArgumentParser(description="La région entière dans une campagne")
    parser.add_argument("--limit", type=int, default=None, help="moins de collectivités (essai)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/region.json"))
    args = parser.parse_args()
    forms = region_forms("32", args.limit)
    log(f"{len(forms)} collectivités")
    env = await start_dev()
    figures: dict[str, Any] = {"candidatures": len(forms), "quorum": 2, "comment_chars": len(COMMENT)}
    try:
        stubs = StubActivities()
        queue = "region"
        file_plan = load_campaign("ami-2024").plan()
        # Opening in 20 s; the deadline leaves time to submit everything; the jury scores after it.
        # At most 8 updates in flight: the server allows 10 per workflow.
        window = max(60.0, len(forms) / 2.5)
        day = window / (file_plan.deadline_at - file_plan.opens_at).days
        plan = file_plan.compressed(datetime.now(UTC) + timedelta(seconds=20), day / 86400)
        plan = plan.model_copy(update={"id": "region", "quorum": 2, "capacity": 10, "waitlist_size": 5})
        members = [m.id for m in plan.jury][:2]
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[CampaignWorkflow, CandidatureWorkflow],
            activities=[
                check_eligibility,
                stubs.make_document,
                stubs.send_email,
                stubs.record_transition,
                stubs.record_fact,
                stubs.record_campaign,
            ],
            max_concurrent_workflow_tasks=50,
            max_cached_workflows=4000,
        ):
            handle = await start_campaign(env.client, plan, queue, search_attributes=False)
            coord = Coordination(env.client, plan.id)
            await asyncio.sleep(max(0.0, (plan.opens_at - datetime.now(UTC)).total_seconds()) + 0.5)
            started = time.monotonic()
            results = await gather_bounded(forms, coord.submit)
            figures["submit_s"] = round(time.monotonic() - started, 1)
            log(f"soumises en {figures['submit_s']} s")
            log(
                f"historiques après les dépôts : {[(r['events'], r['bytes'], r['largest_payload']) for r in await campaign_runs(env.client, handle.id)]}"
            )
            receipts = [r.receipt_number for r in results]
            await asyncio.sleep(max(0.0, (plan.deadline_at - datetime.now(UTC)).total_seconds()) + 0.5)
            while True:
                pending = (await status_of(coord)).states.get(State.SUBMITTED, 0)
                if not pending:
                    break
                await asyncio.sleep(1)
            started = time.monotonic()

            async def review(pair: tuple[str, str]) -> None:
                member, receipt = pair
                await coord.score(member, receipt, {c.id: (hash(receipt + member) % 6) for c in plan.criteria}, COMMENT)

            eligible = {e.receipt_number for e in (await status_of(coord, whole=True)).candidatures if e.state is State.ELIGIBILITY_CHECKED}
            figures["eligible"] = len(eligible)
            await gather_bounded([(m, r) for r in receipts if r in eligible for m in members], review)
            figures["jury_s"] = round(time.monotonic() - started, 1)
            log(f"notes ({len(eligible) * 2}) en {figures['jury_s']} s")
            log(
                f"historiques après le jury : {[(r['events'], r['bytes'], r['largest_payload']) for r in await campaign_runs(env.client, handle.id)]}"
            )
            started = time.monotonic()
            result = await coord.deliberate()
            figures["deliberate_s"] = round(time.monotonic() - started, 2)
            figures["deliberation_result_bytes"] = len(result.model_dump_json())
            await asyncio.sleep(max(0.0, (plan.response_at - datetime.now(UTC)).total_seconds()) + 0.5)
            while True:
                summary = await status_of(coord)
                waiting = summary.received - summary.states.get(State.NOTIFIED, 0) - summary.states.get(State.CLOSED, 0)
                if not waiting:
                    break
                log(f"décisions : {waiting} en attente")
                await asyncio.sleep(5)
            figures["decisions_s"] = round(time.monotonic() - started, 1)
            log(f"décisions envoyées en {figures['decisions_s']} s")
            runs = await campaign_runs(env.client, handle.id)
            figures["campaign_runs"] = len(runs)
            figures["largest_payload_bytes"] = max(r["largest_payload"] for r in runs)
            figures["largest_run_bytes"] = max(r["bytes"] for r in runs)
            figures["largest_run_events"] = max(r["events"] for r in runs)
            figures["payload_share_of_limit"] = round(figures["largest_payload_bytes"] / PAYLOAD_LIMIT, 3)
            figures["history_share_of_limit"] = round(
                max(figures["largest_run_bytes"] / HISTORY_BYTES_LIMIT, figures["largest_run_events"] / HISTORY_EVENTS_LIMIT), 3
            )
            await handle.terminate("fin du banc")
    except Refused as refusal:
        log(f"refusé : {refusal}")
        return 1
    finally:
        await env.shutdown()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(json.dumps(figures, indent=2))
    ok = figures["payload_share_of_limit"] < 0.5 and figures["history_share_of_limit"] < 0.5
    print("OK : sous la moitié des limites de Temporal" if ok else "ÉCHEC : au-delà de la moitié d'une limite")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
