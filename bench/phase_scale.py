"""Phase 5: collectivités of Hauts-de-France in one campaign (`--scale-n`), and the whole region (`--region`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from benchcore import Bench, log, marks_for, sleep_until
from common import (
    bounded,
    bytes_by_event_type,
    describe_size,
    poll_until,
    region_forms,
    terminate_all,
)

from ami.ops import Coordination, start_campaign
from workflows.candidature import candidature_workflow_id


async def scale(bench: Bench) -> None:
    forms = region_forms("32")
    total = len(forms)
    n = min(bench.args.scale_n or total, total)  # 0 means all
    forms = forms[:n]
    window = bench.args.scale_window or (10 if bench.args.quick else 20) + n * 0.35  # submissions: 5-10/s on one campaign
    day = window / 60
    member = bench.file_plan.jury[0]
    anchor = datetime.now(UTC) + timedelta(seconds=2)
    plan = bench.plan("scale", day, anchor=anchor, quorum=1, jury=[member])
    log(f"scale: {n} of the region's {total} collectivités in one campaign, quorum 1 (one member); call open {window:.0f} s ({plan.id})")
    handle = await start_campaign(bench.client, plan, "ami-bench")
    coord = Coordination(bench.client, plan.id)
    prefix = candidature_workflow_id(plan.id, "")
    limit = bench.args.scale_timeout
    started = time.monotonic()
    await sleep_until(anchor + timedelta(seconds=0.1))
    t0 = time.monotonic()
    submitted = await bench.submit(coord, forms, timeout=60)
    t_sub = time.monotonic()
    late = datetime.now(UTC) > plan.deadline_at
    failures = [r for r in submitted if isinstance(r, BaseException)]
    ok, t_elig, verdicts = await poll_until(
        lambda: bench.probe.verdicts(prefix), n - len(failures), max(10, limit - (time.monotonic() - started))
    )
    after_submit = await describe_size(bench.client, handle.id)
    log(f"scale: {n - len(failures)} submitted in {t_sub - t0:.1f} s, {verdicts} verdicts at +{t_elig - t0:.1f} s; campaign {after_submit}")
    out: dict[str, Any] = {
        "region_total": total,
        "n": n,
        "quorum": 1,
        "jury_members": 1,
        "submitted": n - len(failures),
        "submit_failures": len(failures),
        "first_failure": repr(failures[0])[:300] if failures else None,
        "submit_s": round(t_sub - t0, 1),
        "verdicts": verdicts,
        "to_last_verdict_s": round(t_elig - t0, 1),
        "submissions_after_deadline": late,
        "campaign_after_submissions": after_submit,
    }
    bench.results["scale"] = out
    if failures or not ok:
        log(f"scale: stopping ({len(failures)} submissions failed, first: {out['first_failure']})")
        await terminate_all(bench.client, [handle.id] + [candidature_workflow_id(plan.id, f.collectivite.identifier) for f in forms])
        return
    await sleep_until(plan.deadline_at + timedelta(seconds=0.1))
    t_jury = time.monotonic()
    remaining = limit - (t_jury - started)
    jobs = [lambda r=r, i=i: asyncio.wait_for(coord.score(member.id, r.receipt_number, marks_for(i)), 120) for i, r in enumerate(submitted)]
    scored: list[Any] = []
    t_scored = t_jury
    with contextlib.suppress(TimeoutError):
        scored = await asyncio.wait_for(bounded(bench.args.concurrency, jobs), max(10, remaining))
    t_scored = time.monotonic()
    score_failures = [s for s in scored if isinstance(s, BaseException)]
    out.update(
        scores=len(jobs),
        scores_done=len(scored) - len(score_failures),
        score_failures=len(score_failures),
        first_score_failure=repr(score_failures[0])[:300] if score_failures else None,
        scoring_s=round(t_scored - t_jury, 1),
        scores_per_s=round((len(scored) - len(score_failures)) / max(1e-9, t_scored - t_jury), 1),
    )
    out["campaign_after_jury"] = await describe_size(bench.client, handle.id)
    log(f"scale: {out['scores_done']} scores in {out['scoring_s']} s ({len(score_failures)} failed); campaign {out['campaign_after_jury']}")
    if len(scored) == len(jobs) and not score_failures:
        try:
            result = await asyncio.wait_for(coord.deliberate(), 300)
            ok2, t_dec, decisions = await poll_until(
                lambda: bench.probe.emails_sent(prefix, "decision_%"), len(result.ranking), max(10, limit - (time.monotonic() - started))
            )
            out.update(
                decisions_sent=decisions,
                all_decisions_sent=ok2,
                deadline_to_last_decision_s=round(t_dec - t_jury, 1),
                first_submission_to_last_decision_s=round(t_dec - t0, 1),
                work_s=round((t_elig - t0) + (t_dec - t_jury), 1),
            )
            await asyncio.sleep(1)
        except Exception as error:  # noqa: BLE001
            out["deliberation_error"] = repr(error)[:300]
    try:
        out["campaign_final"] = await describe_size(bench.client, handle.id)
        desc = await handle.describe()
        out["campaign_status"] = desc.status.name if desc.status else None
        out["campaign_bytes_by_event_type"] = await bytes_by_event_type(handle)
    except Exception as error:  # noqa: BLE001
        out["campaign_final"] = repr(error)[:200]
    log(f"scale: {out}")
    await terminate_all(bench.client, [handle.id] + [candidature_workflow_id(plan.id, f.collectivite.identifier) for f in forms])
