"""Phase 5: collectivités of Hauts-de-France in one campaign (`--scale-n`), and phase 7, the whole
region in one campaign (`--region`) with its bare floor measured beside it."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ami.app.ops import Coordination, start_campaign
from ami.app.scenario import sleep_until
from ami.models.candidature import CandidatureFile
from ami.models.workflow_ids import campaign_of
from ami.workflows.candidature import candidature_workflow_id
from bench.benchcore import Bench, log, marks_for
from bench.common import (
    Shape,
    bounded,
    bytes_by_event_type,
    describe_size,
    history_figures,
    poll_until,
    region_forms,
    run_chain,
    sum_strain,
    terminate_all,
)
from bench.phase_floors import floors_with_messages, ratios, response_after

REGION_COMMENT = 1000  # characters of jury comment on every review of the region run: a long one, to size histories
FLOOR_SAMPLE = 200  # candidature histories read to size the bare floor of the region run


def comment_text(chars: int) -> str | None:
    """The jury's comment on every review, `chars` characters long (none for 0)."""
    return ("Avis du jury : projet solide, binôme engagé, « à suivre ». " * 40)[:chars] if chars else None


async def one_campaign(
    bench: Bench, name: str, forms: list[CandidatureFile], *, members: int, comment: int, limit: float, window: float
) -> tuple[dict[str, Any], Any, list[str]]:
    """Submit `forms` to one campaign, score each by `members` members (the quorum), deliberate, wait for
    the decision emails. Returns the figures, the campaign's handle and every workflow id it started."""
    day = window / 60
    jury = bench.file_plan.jury[:members]
    anchor = datetime.now(UTC) + timedelta(seconds=2)
    plan = bench.plan(name, day, anchor=anchor, quorum=members, jury=jury)
    n = len(forms)
    log(
        f"{name}: {n} collectivités in one campaign, quorum {members}, comments of {comment} characters; call open {window:.0f} s ({plan.id})"
    )
    handle = await start_campaign(bench.client, plan, "ami-bench")
    ids = [handle.id] + [candidature_workflow_id(plan.id, f.collectivite.identifier) for f in forms]
    coord = Coordination(bench.client, plan.id)
    prefix = candidature_workflow_id(plan.id, "")
    started = time.monotonic()
    await sleep_until(anchor + timedelta(seconds=0.1))
    t0 = time.monotonic()
    rebuilt = bench.rebuilds.snapshot()
    submitted = await bench.submit(coord, forms, timeout=120)
    t_sub = time.monotonic()
    late = datetime.now(UTC) > plan.deadline_at
    failures = [r for r in submitted if isinstance(r, BaseException)]
    ok, t_elig, verdicts = await poll_until(
        lambda: bench.probe.verdicts(prefix), n - len(failures), max(10, limit - (time.monotonic() - started))
    )
    after_submit = await describe_size(bench.client, handle.id)
    log(
        f"{name}: {n - len(failures)} submitted in {t_sub - t0:.1f} s, {verdicts} verdicts at +{t_elig - t0:.1f} s; campaign {after_submit}"
    )
    out: dict[str, Any] = {
        "n": n,
        "quorum": members,
        "jury_members": members,
        "comment_chars": comment,
        "submitted": n - len(failures),
        "submit_failures": len(failures),
        "first_failure": repr(failures[0])[:300] if failures else None,
        "submit_s": round(t_sub - t0, 1),
        "verdicts": verdicts,
        "to_last_verdict_s": round(t_elig - t0, 1),
        "submissions_after_deadline": late,
        # The decisions wait for the response date: the floors with messages wait as long after their first score.
        "response_after_deadline_s": response_after(plan),
        "campaign_after_submissions": after_submit,
        "max_cached_workflows": bench.settings.max_cached_workflows,
        "rebuilt_from_history": {"submissions": bench.rebuilds.since(rebuilt)},
    }
    if name == "region":  # the region's figures (history sizes, chains), logged at once in case the run is cut short
        with contextlib.suppress(Exception):
            runs = await run_chain(bench.client, handle.id)
            log(f"{name}: after submissions, campaign runs {[(r['events'], r['bytes'], r['largest_payload']) for r in runs]}")
    if failures or not ok:
        log(f"{name}: stopping ({len(failures)} submissions failed, first: {out['first_failure']})")
        return out, handle, ids
    await sleep_until(plan.deadline_at + timedelta(seconds=0.1))
    t_jury = time.monotonic()
    rebuilt = bench.rebuilds.snapshot()
    remaining = limit - (t_jury - started)
    text = comment_text(comment)
    jobs = [
        lambda r=r, i=i, m=m: asyncio.wait_for(coord.score(m.id, r.receipt_number, marks_for(i), text), 120)
        for i, r in enumerate(submitted)
        for m in jury
    ]
    scored: list[Any] = []
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
    out["rebuilt_from_history"]["jury"] = bench.rebuilds.since(rebuilt)
    rebuilt = bench.rebuilds.snapshot()
    out["campaign_after_jury"] = await describe_size(bench.client, handle.id)
    if name == "region":
        with contextlib.suppress(Exception):
            runs = await run_chain(bench.client, handle.id)
            log(f"{name}: after the jury, campaign runs {[(r['events'], r['bytes'], r['largest_payload']) for r in runs]}")
    log(
        f"{name}: {out['scores_done']} scores in {out['scoring_s']} s ({len(score_failures)} failed); campaign {out['campaign_after_jury']}"
    )
    if len(scored) == len(jobs) and not score_failures:
        try:
            result = await asyncio.wait_for(coord.deliberate(), 600)
            ok2, t_dec, decisions = await poll_until(
                lambda: bench.probe.emails_sent(prefix, "decision_%"), len(result.ranking), max(10, limit - (time.monotonic() - started))
            )
            out["rebuilt_from_history"]["decisions"] = bench.rebuilds.since(rebuilt)
            out["worker_process_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            log(f"{name}: {decisions} decisions sent, {t_dec - t_jury:.1f} s after the deadline; rebuilt {out['rebuilt_from_history']}")
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
    try:
        out["campaign_runs"] = await run_chain(bench.client, handle.id)
    except Exception as error:  # noqa: BLE001
        out["campaign_runs_error"] = repr(error)[:200]
    return out, handle, ids


async def scale(bench: Bench) -> None:
    forms = region_forms("32")
    total = len(forms)
    n = min(bench.args.scale_n or total, total)  # 0 means all
    window = bench.args.scale_window or (10 if bench.args.quick else 20) + n * 0.35  # submissions: 5-10/s on one campaign
    out, _, ids = await one_campaign(bench, "scale", forms[:n], members=1, comment=0, limit=bench.args.scale_timeout, window=window)
    out["region_total"] = total
    bench.results["scale"] = out
    log(f"scale: {out}")
    await terminate_all(bench.client, ids)


async def region(bench: Bench) -> None:
    """Every commune and EPCI of the region in one campaign, quorum 2, a 1,000-character comment on
    every review, to the decisions sent; then, in the same run, the bare floor (as many workflows as
    candidatures, each with the mean count of activities, local activities and timers of the
    candidatures' histories) and the floors with the campaign's messages (bench/phase_floors.py)."""
    forms = region_forms("32")
    total = len(forms)
    n = min(bench.args.scale_n or 30, total) if bench.args.quick else min(bench.args.region_n or total, total)  # --quick: as the scale run
    window = bench.args.region_window or (10 if bench.args.quick else 20) + n * 0.4
    limit = bench.args.region_timeout
    out, handle, ids = await one_campaign(bench, "region", forms[:n], members=2, comment=REGION_COMMENT, limit=limit, window=window)
    out["region_total"] = total
    # Size the floor from the candidatures' own histories (an even sample when there are many).
    children = ids[1:]
    step = max(1, len(children) // FLOOR_SAMPLE)
    sample = children[::step][:FLOOR_SAMPLE]
    figures = [
        f
        for f in await bounded(8, [lambda w=w: history_figures(bench.client.get_workflow_handle(w)) for w in sample])
        if isinstance(f, dict)
    ]
    await terminate_all(bench.client, ids)
    if figures:
        shape = Shape.mean(figures)
        largest = max(figures, key=lambda f: f["history_bytes"])
        out["candidature_sample"] = {
            "histories": len(figures),
            "activities_mean": shape.activities,
            "local_activities_mean": shape.local_activities,
            "timers_mean": shape.timers,
            "largest_events": largest["events"],
            "largest_bytes": largest["history_bytes"],
            # Summed over the sample, or the largest in it: a worker that kept up shows zeros and short tasks.
            "strain": sum_strain([f["strain"] for f in figures]),
        }
        base = await bench.baseline(n, shape)
        out["baseline"] = base
        if out.get("work_s"):
            out["ratio"] = round(out["work_s"] / base["wall_s"], 2)
            members = [m.id for m in bench.file_plan.jury[:2]]
            prefix = candidature_workflow_id(campaign_of(handle.id), "")
            out.update(
                await floors_with_messages(
                    bench, forms[:n], members, comment_text(REGION_COMMENT), shape, prefix, out["response_after_deadline_s"]
                )
            )
            ratios(out, bool(out.get("all_decisions_sent")))
    with contextlib.suppress(Exception):
        out["carry_computed"] = region_carry_bytes(bench, total)
    bench.results["region"] = out
    log(f"region: { ({k: v for k, v in out.items() if k != 'campaign_runs'}) }")


def region_carry_bytes(bench: Bench, n: int, members: int = 2) -> dict[str, int]:
    """The payload a campaign of `n` candidatures carries into continue-as-new once deliberated
    (every entry ranked and decided, `members` sets of marks each), serialized by the engine's own
    converter: computed from the model, for the whole region, whatever the run could reach."""
    from datetime import UTC, datetime

    from temporalio.contrib.pydantic import pydantic_data_converter

    from ami.models.campaign_messages import CampaignEntry
    from ami.models.campaign_state import CampaignInput, CampaignState
    from ami.models.lifecycle import State
    from ami.models.values import Decision

    forms = region_forms("32")[:n]
    jury = bench.file_plan.jury[:members]
    criteria = len(bench.file_plan.criteria)
    now = datetime.now(UTC)
    state = CampaignState(runs=3, next_receipt=n + 1)
    for i, form in enumerate(forms):
        receipt = f"AMI-2024-{i + 1:04d}"
        key = form.collectivite.identifier
        state.entries[key] = CampaignEntry(
            receipt_number=receipt,
            key=key,
            state=State.NOTIFIED,
            received_at=now,
            sequence=4,
            decision=Decision.SELECTED if i < 20 else Decision.WAITLISTED if i < 30 else Decision.NOT_SELECTED,
            rank=i + 1,
            score=3.75,
            waitlist_position=i - 19 if 20 <= i < 30 else None,
            departement=form.collectivite.insee[:2] if form.collectivite.insee else "59",
        )
        state.reviews[receipt] = {m.id: [4] * criteria for m in jury}
    carry = CampaignInput(plan=bench.file_plan, carried=state)
    payload = pydantic_data_converter.payload_converter.to_payloads([carry])[0]
    return {"candidatures": n, "bytes": payload.ByteSize(), "per_candidature": payload.ByteSize() // max(1, n)}
