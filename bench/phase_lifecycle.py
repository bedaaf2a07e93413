"""Phases 1 and 4: the cost of one full lifecycle (events, state transitions, billable actions, bytes), and its replay."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.app.scenario import sleep_until
from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import CandidatureWorkflow
from bench.baseline import BaselineWorkflow
from bench.benchcore import MARKS, Bench, log, stamp
from bench.common import (
    history_figures,
)
from bench.replay_parts import payloads_visited, without_payload_passes


async def lifecycle(bench: Bench) -> None:
    day = bench.args.lifecycle_day or (0.1 if bench.args.quick else 0.08)
    plan = bench.plan("life", day, quorum=1, confirmation_window=timedelta(seconds=5))
    log(f"lifecycle: one candidature through the whole cycle, one published day = {day} s ({plan.id})")
    t0 = time.monotonic()
    campaign = await start_campaign(bench.client, plan, "ami-bench")
    coord = Coordination(bench.client, plan.id)
    await sleep_until(plan.opens_at + timedelta(seconds=day))
    form = example("01-henin-carvin")
    key = form.collectivite.identifier
    receipt = (await coord.submit(form)).receipt_number
    await bench.wait_state(coord, key, {"eligibility_checked"}, 30)
    await sleep_until(plan.deadline_at + timedelta(seconds=0.05))
    await coord.score("apes", receipt, MARKS)
    await coord.deliberate()
    await bench.wait_state(coord, key, {"notified"}, 30)
    assert form.political_referent and form.technical_referent
    await coord.confirm_binome(key, form.political_referent, form.technical_referent)
    for s in plan.sessions:
        # The middle of its window, or soon after now when a loaded machine ran behind the calendar.
        when = max(s.window_start + (s.window_end - s.window_start) / 2, datetime.now(UTC) + timedelta(seconds=day * 3))
        await coord.set_session(s.number, min(when, s.window_end - timedelta(seconds=day / 10)), "Lille, Maison de l'ESS")
    for s in (await coord.status()).sessions:
        await sleep_until(s.ends_at + timedelta(seconds=0.02))
        await coord.record_attendance(key, s.number, True, s.number != 3)
        await coord.record_feedback(key, s.number, 4, "Très utile, « concret ».")
        if s.number == len(plan.sessions):
            await coord.record_experiment(key, "Une plateforme d'échanges de biens entre habitants.")
    final = await asyncio.wait_for(campaign.result(), 120)
    wall = time.monotonic() - t0
    cand = coord.candidature(key)
    state = (await cand.query(CandidatureWorkflow.status)).state
    c = await history_figures(cand)
    k = await history_figures(campaign)
    bench.lifecycle_histories = {"candidature": c.pop("history"), "campaign": k.pop("history")}
    if bench.args.save_histories:
        bench.args.save_histories.mkdir(parents=True, exist_ok=True)
        for name, history in bench.lifecycle_histories.items():
            (bench.args.save_histories / f"lifecycle-{name}.json").write_text(history.to_json(), encoding="utf-8")
    bench.results["lifecycle"] = {
        "final_state": state,
        "campaign_phase": final.phase,
        "wall_s": round(wall, 1),
        "candidature": c,
        "campaign": k,
    }
    log(f"lifecycle: {state}, candidature {c['events']} events, {c['actions']} actions, {c['history_bytes']} B; {wall:.1f} s")


async def replay(bench: Bench) -> None:
    """Each lifecycle history replayed, beside a bare workflow with as many workflow tasks: the SDK's
    own cost per task, so that the engine's figure reads as a ratio."""
    if bench.lifecycle_histories is None:
        await lifecycle(bench)
    engine = Replayer(workflows=[CampaignWorkflow, CandidatureWorkflow], data_converter=pydantic_data_converter)
    # The same workflows outside the SDK's sandbox: what the sandbox costs per task (production keeps it).
    unsandboxed = Replayer(
        workflows=[CampaignWorkflow, CandidatureWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    bare = Replayer(workflows=[BaselineWorkflow])
    runs = 3 if bench.args.quick else 10
    out: dict[str, Any] = {}
    for name, history in bench.lifecycle_histories.items():
        tasks = _workflow_tasks(history)
        floor = await _bare_history(bench, activities=max(0, tasks - 1))
        if bench.args.save_histories:
            (bench.args.save_histories / f"lifecycle-{name}-bare.json").write_text(floor.to_json(), encoding="utf-8")
        mine, theirs = await _replay_times(engine, history, runs), await _replay_times(bare, floor, runs)
        outside = await _replay_times(unsandboxed, history, runs)
        # The same replays without the SDK's payload passes (no codec here: they change no byte).
        with without_payload_passes(pydantic_data_converter):
            mine_bare_passes = await _replay_times(engine, history, runs)
            theirs_bare_passes = await _replay_times(bare, floor, runs)
        out[name] = {
            "events": len(history.events),
            "workflow_tasks": tasks,
            "ms_median": mine["median"],
            "ms_min": mine["min"],
            "runs": f"3 x {runs}",
            "unsandboxed_ms_median": outside["median"],
            "payloads_visited": payloads_visited(history),
            "without_payload_passes_ms_median": mine_bare_passes["median"],
            "bare_same_tasks": {
                "events": len(floor.events),
                "workflow_tasks": _workflow_tasks(floor),
                "ms_median": theirs["median"],
                "payloads_visited": payloads_visited(floor),
                "without_payload_passes_ms_median": theirs_bare_passes["median"],
            },
            "ratio": round(mine["median"] / theirs["median"], 2),
            "ratio_without_payload_passes": round(mine_bare_passes["median"] / theirs_bare_passes["median"], 2),
        }
    bench.results["replay"] = out
    log(f"replay: {out}")


def _workflow_tasks(history: WorkflowHistory) -> int:
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)


async def _bare_history(bench: Bench, activities: int) -> WorkflowHistory:
    handle = await bench.client.start_workflow(
        BaselineWorkflow.run, args=[activities, 0], id=f"bench-replay-floor-{stamp()}", task_queue="bench-baseline"
    )
    await asyncio.wait_for(handle.result(), 300)
    return await handle.fetch_history()


async def _replay_times(replayer: Replayer, history: WorkflowHistory, runs: int) -> dict[str, float]:
    """Milliseconds per replay of `history`, `runs` times in a row in one replayer, as a worker replays
    an evicted workflow (the replayer's own start, a few hundred ms, is paid once and left out)."""
    await replayer.replay_workflow(history, raise_on_replay_failure=True)  # imports, sandbox warm-up
    times = []
    for _ in range(3):
        t = time.perf_counter()
        async with replayer.workflow_replay_iterator(repeat(history, runs)) as results:
            async for result in results:
                assert result.replay_failure is None, result.replay_failure
        times.append((time.perf_counter() - t) * 1000 / runs)
    return {"median": round(statistics.median(times), 1), "min": round(min(times), 1)}


async def repeat(history: WorkflowHistory, runs: int) -> AsyncIterator[WorkflowHistory]:
    for _ in range(runs):
        yield history
