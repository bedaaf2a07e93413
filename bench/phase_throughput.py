"""Phase 2: N candidatures to their decision email, against a bare workflow with as many activities and timers."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ami.app.ops import Coordination, start_campaign
from ami.app.scenario import sleep_until
from ami.models.values import Decision
from ami.workflows.campaign import campaign_workflow_id
from ami.workflows.candidature import candidature_workflow_id
from bench.benchcore import Bench, log, marks_for
from bench.common import (
    Shape,
    bounded,
    bytes_by_event_type,
    describe_size,
    history_figures,
    poll_until,
    terminate_all,
)
from bench.phase_floors import floors_with_messages, ratios, response_after


async def throughput(bench: Bench) -> None:
    n, per = bench.args.n, bench.args.per_campaign
    forms = bench.forms[:n]
    shards = [forms[i : i + per] for i in range(0, n, per)]
    # Open long enough that every submission lands before the deadline (they run at about 8/s on two
    # loaded cores, the verdicts at about 4/s): the wait after the last verdict is not counted as work.
    window = bench.args.window or max(10.0 if bench.args.quick else 20.0, n * 0.3)
    day = window / 60  # the call is open 60 published days
    anchor = datetime.now(UTC) + timedelta(seconds=2)
    plans = [bench.plan(f"tp{k}", day, anchor=anchor) for k in range(len(shards))]
    quorum_members = [m.id for m in plans[0].jury[: plans[0].quorum]]
    log(
        f"throughput: {n} candidatures in {len(shards)} campaign(s) of <= {per}; call open {window:.0f} s; jury of {len(quorum_members)} "
        f"(quorum) scores each"
    )
    for plan in plans:
        await start_campaign(bench.client, plan, "ami-bench")
    coords = [Coordination(bench.client, p.id) for p in plans]
    prefixes = [candidature_workflow_id(p.id, "") for p in plans]
    total_verdicts = lambda: sum(bench.probe.verdicts(p) for p in prefixes)  # noqa: E731
    total_decisions = lambda: sum(bench.probe.emails_sent(p, "decision_%") for p in prefixes)  # noqa: E731
    await sleep_until(anchor + timedelta(seconds=0.1))
    t0 = time.monotonic()
    submitted = await asyncio.gather(*(bench.submit(c, s) for c, s in zip(coords, shards, strict=True)))
    t_sub = time.monotonic()
    late = datetime.now(UTC) > plans[0].deadline_at  # a submission after the deadline would be ineligible
    failures = [r for rs in submitted for r in rs if isinstance(r, BaseException)]
    ok, t_elig, verdicts = await poll_until(total_verdicts, n, 900)
    log(
        f"throughput: {n - len(failures)} submitted in {t_sub - t0:.1f} s, {verdicts} verdicts at {t_elig - t0:.1f} s"
        + (" (submissions ended AFTER the deadline!)" if late else "")
    )
    await sleep_until(plans[0].deadline_at + timedelta(seconds=0.1))
    t_jury = time.monotonic()
    per_coord: list[list[Any]] = []
    for coord, results in zip(coords, submitted, strict=True):
        mine = []
        for i, r in enumerate(results):
            if isinstance(r, BaseException):
                continue
            for member in quorum_members:
                mine.append(lambda c=coord, m=member, r=r, i=i: asyncio.wait_for(c.score(m, r.receipt_number, marks_for(i)), 120))
        per_coord.append(mine)
    jobs = [j for mine in per_coord for j in mine]
    scored = [x for xs in await asyncio.gather(*(bounded(bench.args.concurrency, mine) for mine in per_coord)) for x in xs]
    t_scored = time.monotonic()
    score_failures = [s for s in scored if isinstance(s, BaseException)]
    delib = await bounded(4, [lambda c=c: asyncio.wait_for(c.deliberate(), 120) for c in coords])
    delib_failures = [d for d in delib if isinstance(d, BaseException)]
    expected = sum(len(d.ranking) for d in delib if not isinstance(d, BaseException))
    ok2, t_dec, decisions = await poll_until(total_decisions, max(1, expected), 600)
    work = (t_elig - t0) + (t_dec - t_jury)
    log(
        f"throughput: {len(jobs)} scores in {t_scored - t_jury:.1f} s ({len(score_failures)} failed), {decisions}/{expected} decisions "
        f"sent at +{t_dec - t_jury:.1f} s after the deadline"
    )
    for f in (failures + score_failures + delib_failures)[:3]:
        log(f"  failure: {f!r}")
    # Size the baseline on a real candidature that ended at its decision (not selected).
    sample = None
    for coord, d in zip(coords, delib, strict=True):
        if isinstance(d, BaseException):
            continue
        status = await coord.status()
        by_receipt = {e.receipt_number: e.key for e in status.candidatures}
        loser = next((r for r in d.ranking if r.decision is Decision.NOT_SELECTED), None) or d.ranking[-1]
        sample = coord.candidature(by_receipt[loser.receipt_number])
        break
    figures = await history_figures(sample) if sample else None
    campaign_sizes = [await describe_size(bench.client, campaign_workflow_id(p.id)) for p in plans]
    ids = [campaign_workflow_id(p.id) for p in plans] + [
        candidature_workflow_id(p.id, f.collectivite.identifier) for p, s in zip(plans, shards, strict=True) for f in s
    ]
    await terminate_all(bench.client, ids)
    biggest = max(range(len(plans)), key=lambda i: campaign_sizes[i]["events"])
    campaign_bytes = await bytes_by_event_type(bench.client.get_workflow_handle(campaign_workflow_id(plans[biggest].id)))
    shape = Shape.of(figures) if figures else Shape(10, 0, 0)
    base = await bench.baseline(n, shape)
    floors: dict[str, Any] = {}
    if len(plans) == 1 and figures and not failures:  # the floors with messages take one campaign
        floors = await floors_with_messages(bench, shards[0], quorum_members, None, shape, prefixes[0], response_after(plans[0]))
    bench.results["throughput"] = {
        "n": n,
        "campaigns": len(shards),
        "per_campaign": per,
        "jury_members_scoring": len(quorum_members),
        "submitted": n - len(failures),
        "verdicts": verdicts,
        "decisions_sent": decisions,
        "complete": ok and ok2 and not failures and not score_failures and not delib_failures,
        "submissions_after_deadline": late,
        "submit_s": round(t_sub - t0, 2),
        "to_last_verdict_s": round(t_elig - t0, 2),
        "idle_until_deadline_s": round(t_jury - t_elig, 2),
        "scores": len(jobs),
        "scoring_s": round(t_scored - t_jury, 2),
        "scores_per_s": round(len(jobs) / max(1e-9, t_scored - t_jury), 1),
        "deadline_to_last_decision_s": round(t_dec - t_jury, 2),
        "work_s": round(work, 2),
        "gross_s": round(t_dec - t0, 2),
        "candidatures_per_s": round(n / work, 2),
        "per_candidature_to_decision": {k: v for k, v in (figures or {}).items() if k not in ("event_types",)},
        "campaign_histories": campaign_sizes,
        "largest_campaign_bytes_by_event_type": campaign_bytes,
        "baseline": base,
        "ratio": round(work / base["wall_s"], 2),
        "response_after_deadline_s": response_after(plans[0]),
        **floors,
    }
    ratios(bench.results["throughput"], bench.results["throughput"]["complete"])
    log(
        f"throughput: work {work:.1f} s = {n / work:.1f} candidatures/s; baseline {base['wall_s']:.1f} s; ratio {work / base['wall_s']:.2f}"
    )
