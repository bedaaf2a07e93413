"""Phases 1 and 4: the cost of one full lifecycle (events, state transitions, billable actions, bytes), and its replay."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.app.scenario import sleep_until
from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import CandidatureWorkflow
from bench.benchcore import MARKS, Bench, log
from bench.common import (
    history_figures,
)


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
    if bench.lifecycle_histories is None:
        await lifecycle(bench)
    replayer = Replayer(workflows=[CampaignWorkflow, CandidatureWorkflow], data_converter=pydantic_data_converter)
    out: dict[str, Any] = {}
    for name, history in bench.lifecycle_histories.items():
        times = []
        for _ in range(2 if bench.args.quick else 7):
            t = time.perf_counter()
            result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
            times.append((time.perf_counter() - t) * 1000)
            assert result.replay_failure is None
        out[name] = {
            "events": len(history.events),
            "ms_median": round(statistics.median(times), 1),
            "ms_min": round(min(times), 1),
            "runs": len(times),
        }
    bench.results["replay"] = out
    log(f"replay: {out}")
