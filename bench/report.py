"""The table the bench prints, from its results: one section a phase, in the order they run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Add = Callable[..., None]


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []

    def add(what: str, value: Any, note: str = "") -> None:
        rows.append((what, str(value), note))

    for name, section in _SECTIONS:
        if results.get(name):
            section(add, results[name])
    add("run wall time (s)", results.get("wall_s"), f"load before {results['machine']['loadavg']}, after {results.get('loadavg_after')}")
    w = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{'figure':<{w[0]}}  {'value':>{w[1]}}  note", "-" * (w[0] + w[1] + 40)]
    lines += [f"{a:<{w[0]}}  {b:>{w[1]}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def _bare(b: dict[str, Any]) -> str:
    local = f" + {b['local_activities_each']} local" if b.get("local_activities_each") else ""
    return f"bare: {b['workflows']} wf x ({b['activities_each']} empty activities{local} + {b['timers_each']} timers) in {b['wall_s']} s"


def _bytes_by_type(add: Add, top: list[dict[str, Any]]) -> None:
    if top:
        add("  its bytes by event type", "", "; ".join(f"{t['type'].lower()} {t['events']} ev {t['bytes'] // 1024} KiB" for t in top[:3]))


def _campaign_to_decisions(add: Add, phase: str, r: dict[str, Any], submitted: str, decisions: str) -> None:
    """The figures the scale and region runs share: submissions, verdicts, scores, decisions."""
    add(f"{phase}: collectivités submitted", r["submitted"], submitted)
    add(f"{phase}: first submission -> last verdict (s)", r["to_last_verdict_s"], f"submissions took {r['submit_s']} s")
    if "scores_per_s" in r:
        failed = f", {r['score_failures']} failed" if "score_failures" in r else ""
        add(f"{phase}: jury scores/s", r["scores_per_s"], f"{r['scores_done']}/{r['scores']} in {r['scoring_s']} s{failed}")
    if "first_submission_to_last_decision_s" in r:
        add(f"{phase}: first submission -> last decision sent (s)", r["first_submission_to_last_decision_s"], decisions)


def _failures(add: Add, phase: str, r: dict[str, Any]) -> None:
    for key in ("first_failure", "first_score_failure", "deliberation_error"):
        if r.get(key):
            add(f"{phase}: {key}", "!", r[key][:160])


def _lifecycle(add: Add, lc: dict[str, Any]) -> None:
    for name in ("candidature", "campaign"):
        h = lc[name]
        detail = ", ".join(f"{v} {k}" for k, v in h["actions_by_kind"].items() if v)
        add(f"lifecycle {name}: history events", h["events"], f"final state {lc['final_state']}, campaign {lc['campaign_phase']}")
        add(f"lifecycle {name}: state transitions", h["state_transitions"])
        add(f"lifecycle {name}: billable actions", h["actions"], detail)
        add(f"lifecycle {name}: history size (bytes)", h["history_bytes"], f"server says {h['server_history_bytes']}")


def _replay(add: Add, rp: dict[str, Any]) -> None:
    for name, r in rp.items():
        tasks = f"{r['events']} events, {r['workflow_tasks']} workflow tasks" if "workflow_tasks" in r else f"{r['events']} events"
        add(f"replay {name} history (ms)", r["ms_median"], f"median of {r['runs']}, {tasks}, min {r['ms_min']}")
        if "bare_same_tasks" in r:
            b = r["bare_same_tasks"]
            floor = f"bare workflow with as many tasks: {b['ms_median']} ms, {b['events']} events, {b['workflow_tasks']} tasks"
            add(f"replay {name}: ratio engine / bare", r["ratio"], floor)
        if "unsandboxed_ms_median" in r:
            add(f"replay {name}: outside the sandbox (ms)", r["unsandboxed_ms_median"], "the same history, UnsandboxedWorkflowRunner")
        if "without_payload_passes_ms_median" in r:
            b = r["bare_same_tasks"]
            add(
                f"replay {name}: without the SDK's payload passes (ms)",
                r["without_payload_passes_ms_median"],
                f"{r['payloads_visited']} payloads visited; bare: {b['without_payload_passes_ms_median']} ms, "
                f"{b['payloads_visited']} payloads; ratio {r['ratio_without_payload_passes']}",
            )


def _memory(add: Add, mem: dict[str, Any]) -> None:
    for run in mem.get("by_cache") or [mem]:
        add(
            f"memory: RSS per parked candidature (KiB), cache {run.get('max_cached_workflows', '?')}",
            run["kib_per_candidature"],
            f"{run['parked']} parked; idle {run['idle_rss_mib']} MiB -> {run['parked_rss_mib']} MiB",
        )


def _throughput(add: Add, tp: dict[str, Any]) -> None:
    batches = f"of {tp['n']}, {tp['campaigns']} campaign(s) of <= {tp['per_campaign']}, complete={tp['complete']}"
    add("throughput: candidatures to decision sent", tp["decisions_sent"], batches)
    work = f"work {tp['work_s']} s (gross {tp['gross_s']} s incl. {tp['idle_until_deadline_s']} s waiting for the deadline)"
    add("throughput: candidatures/s", tp["candidatures_per_s"], work)
    add("throughput: ratio engine / bare workflow", tp["ratio"], _bare(tp["baseline"]))
    _floors(add, "throughput", tp)
    late = " — SUBMISSIONS ENDED AFTER THE DEADLINE" if tp["submissions_after_deadline"] else ""
    add("throughput: submissions (s)", tp["submit_s"], f"last verdict at {tp['to_last_verdict_s']} s{late}")
    scoring = f"{tp['scores']} scores in {tp['scoring_s']} s ({tp['jury_members_scoring']} members each)"
    add("throughput: jury scores/s", tp["scores_per_s"], scoring)
    add("throughput: deadline -> last decision sent (s)", tp["deadline_to_last_decision_s"])
    pc = tp.get("per_candidature_to_decision") or {}
    if pc:
        one = f"{pc['actions']} actions, {pc['history_bytes']} B, {pc['state_transitions']} state transitions"
        add("throughput: one candidature to its decision", f"{pc['events']} ev", one)
    worst = max(tp["campaign_histories"], key=lambda s: s["events"])
    add("throughput: largest campaign history", f"{worst['events']} ev", f"{worst['history_bytes']} B")
    _bytes_by_type(add, tp.get("largest_campaign_bytes_by_event_type") or [])


def _floors(add: Add, phase: str, out: dict[str, Any]) -> None:
    """The floors with the campaign's messages (bench/phase_floors.py), where they ran."""
    if out.get("baseline_with_messages"):
        m = out["baseline_with_messages"]
        add(
            f"{phase}: ratio engine / bare floor with messages",
            out.get("ratio_with_messages", "-"),
            f"the same submissions, scores, reports and decisions on bare workflows: work {m['work_s']} s, {m['failed']} failed",
        )
    if out.get("baseline_with_effects"):
        e = out["baseline_with_effects"]
        done = e.get("effects_done", {})
        add(
            f"{phase}: ratio engine / bare floor with messages and side effects",
            out.get("ratio_with_effects", "-"),
            f"and {e['emails_each']} emails, {e['documents_each']} documents, a journal row per local activity, done plainly "
            f"({done.get('email', 0)} emails, {done.get('document', 0)} documents, {done.get('journal', 0)} rows): "
            f"work {e['work_s']} s, {e['failed']} failed; without the response date's wait in either: "
            f"{out.get('ratio_with_effects_less_wait', '-')}",
        )
    for floor in ("baseline_with_messages", "baseline_with_effects"):
        if out.get(f"{floor}_error"):
            add(f"{phase}: {floor.removeprefix('baseline_').replace('_', ' ')} floor FAILED", out[f"{floor}_error"])


def _scale(add: Add, sc: dict[str, Any]) -> None:
    submitted = f"of {sc['n']} asked ({sc['region_total']} in the region); quorum 1, one member"
    decisions = f"deadline -> last decision {sc.get('deadline_to_last_decision_s')} s"
    _campaign_to_decisions(add, "scale", sc, submitted, decisions)
    for key in ("campaign_after_submissions", "campaign_after_jury", "campaign_final"):
        v = sc.get(key)
        if isinstance(v, dict):
            add(f"scale: campaign history ({key.removeprefix('campaign_')})", f"{v['events']} ev", f"{v['history_bytes']} B")
    _bytes_by_type(add, sc.get("campaign_bytes_by_event_type") or [])
    if sc.get("campaign_status"):
        add("scale: campaign status at the end", sc["campaign_status"])
    _failures(add, "scale", sc)


def _io(add: Add, io: dict[str, Any]) -> None:
    docs = f"render only {io['render_only_docs_per_s']}/s; bare fpdf2 {io['bare_docs_per_s']}/s"
    add("documents/s (engine activity)", io["docs_per_s"], docs)
    add("documents: ratio bare / engine", io["docs_ratio"])
    if "same_text_ratio" in io:
        same = f"fpdf2 with the same words and font files, no styles: {io['same_text_docs_per_s']}/s"
        add("documents: ratio fpdf2 same text / engine", io["same_text_ratio"], same)
    add("emails/s into the sink (engine activity)", io["emails_per_s"], f"raw aiosmtplib {io['bare_emails_per_s']}/s")
    add("emails: ratio bare / engine", io["emails_ratio"])
    if "same_bytes_ratio" in io:
        same = f"the engine's message ({io['email_bytes']} B, summary attached) sent raw: {io['same_bytes_emails_per_s']}/s"
        add("emails: ratio aiosmtplib same bytes / engine", io["same_bytes_ratio"], same)
    if "beside_quiet_wf_p50_ms" in io:
        add("bare workflow (ms, p50), no document rendering", io["beside_quiet_wf_p50_ms"])
    for mode, where in (("thread", "a thread of the worker"), ("pool", "the document process")):
        if f"beside_{mode}_wf_p50_ms" in io:
            lag = f"max {io[f'beside_{mode}_wf_max_ms']} ms; event loop lag p99 {io[f'beside_{mode}_loop_lag_p99_ms']} ms"
            add(f"bare workflow (ms, p50), documents in {where}", io[f"beside_{mode}_wf_p50_ms"], lag)
    if "plain_built_ratio" in io:
        plain = f"the standard library building the same text, HTML and PDF, then aiosmtplib: {io['plain_built_emails_per_s']}/s"
        add("emails: ratio built plainly / engine", io["plain_built_ratio"], plain)


def _region(add: Add, rg: dict[str, Any]) -> None:
    submitted = f"of {rg['n']} ({rg['region_total']} in the region); quorum {rg['quorum']}, comments of {rg['comment_chars']} characters"
    decisions = f"{rg.get('decisions_sent')} decisions; work {rg.get('work_s')} s (deadline wait left out)"
    _campaign_to_decisions(add, "region", rg, submitted, decisions)
    if rg.get("baseline"):
        add("region: ratio engine / bare floor", rg.get("ratio", "-"), _bare(rg["baseline"]))
    _floors(add, "region", rg)
    runs = rg.get("campaign_runs") or []
    if runs:
        big = max(runs, key=lambda r: r["bytes"])
        payload = max((r["largest_payload"] for r in runs), key=lambda p: p["bytes"])
        add("region: campaign runs (continue-as-new)", len(runs), f"{sum(r['events'] for r in runs)} events in all")
        add("region: largest run of the campaign", f"{big['events']} ev", f"{big['bytes']} B (limits: 51,200 events, 50 MB)")
        add("region: largest payload", payload["bytes"], f"{payload['event_type']} (limit 2 MB)")
    carry = rg.get("carry_computed")
    if carry:
        each = f"{carry['candidatures']} entries deliberated, 2 members' marks each: {carry['per_candidature']} B each (limit 2 MB)"
        add("region: carried state, whole region (computed)", carry["bytes"], each)
    cs = rg.get("candidature_sample")
    if cs:
        sample = f"{cs['largest_bytes']} B, {cs['histories']} read"
        add("region: largest candidature history (sample)", f"{cs['largest_events']} ev", sample)
    _failures(add, "region", rg)


_SECTIONS: list[tuple[str, Callable[[Add, dict[str, Any]], None]]] = [
    ("lifecycle", _lifecycle),
    ("replay", _replay),
    ("memory", _memory),
    ("throughput", _throughput),
    ("scale", _scale),
    ("io", _io),
    ("region", _region),
]
