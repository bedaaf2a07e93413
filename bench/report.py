"""The table the bench prints, from its results."""

from __future__ import annotations

from typing import Any


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []

    def add(what: str, value: Any, note: str = "") -> None:
        rows.append((what, str(value), note))

    lc = results.get("lifecycle")
    if lc:
        for name in ("candidature", "campaign"):
            h = lc[name]
            ak = h["actions_by_kind"]
            detail = ", ".join(f"{v} {k}" for k, v in ak.items() if v)
            add(f"lifecycle {name}: history events", h["events"], f"final state {lc['final_state']}, campaign {lc['campaign_phase']}")
            add(f"lifecycle {name}: state transitions", h["state_transitions"])
            add(f"lifecycle {name}: billable actions", h["actions"], detail)
            add(f"lifecycle {name}: history size (bytes)", h["history_bytes"], f"server says {h['server_history_bytes']}")
    rp = results.get("replay")
    if rp:
        for name, r in rp.items():
            add(f"replay {name} history (ms)", r["ms_median"], f"median of {r['runs']}, {r['events']} events, min {r['ms_min']}")
    mem = results.get("memory")
    if mem:
        for run in mem.get("by_cache") or [mem]:
            add(
                f"memory: RSS per parked candidature (KiB), cache {run.get('max_cached_workflows', '?')}",
                run["kib_per_candidature"],
                f"{run['parked']} parked; idle {run['idle_rss_mib']} MiB -> {run['parked_rss_mib']} MiB",
            )
    tp = results.get("throughput")
    if tp:
        add(
            "throughput: candidatures to decision sent",
            tp["decisions_sent"],
            f"of {tp['n']}, {tp['campaigns']} campaign(s) of <= {tp['per_campaign']}, complete={tp['complete']}",
        )
        add(
            "throughput: candidatures/s",
            tp["candidatures_per_s"],
            f"work {tp['work_s']} s (gross {tp['gross_s']} s incl. {tp['idle_until_deadline_s']} s waiting for the deadline)",
        )
        b = tp["baseline"]
        add(
            "throughput: ratio engine / bare workflow",
            tp["ratio"],
            f"bare: {b['workflows']} wf x ({b['activities_each']} empty activities + {b['timers_each']} timers) in {b['wall_s']} s",
        )
        add(
            "throughput: submissions (s)",
            tp["submit_s"],
            f"last verdict at {tp['to_last_verdict_s']} s"
            + (" — SUBMISSIONS ENDED AFTER THE DEADLINE" if tp["submissions_after_deadline"] else ""),
        )
        add(
            "throughput: jury scores/s",
            tp["scores_per_s"],
            f"{tp['scores']} scores in {tp['scoring_s']} s ({tp['jury_members_scoring']} members each)",
        )
        add("throughput: deadline -> last decision sent (s)", tp["deadline_to_last_decision_s"])
        pc = tp.get("per_candidature_to_decision") or {}
        if pc:
            add(
                "throughput: one candidature to its decision",
                f"{pc['events']} ev",
                f"{pc['actions']} actions, {pc['history_bytes']} B, {pc['state_transitions']} state transitions",
            )
        worst = max(tp["campaign_histories"], key=lambda s: s["events"])
        add("throughput: largest campaign history", f"{worst['events']} ev", f"{worst['history_bytes']} B")
        top = tp.get("largest_campaign_bytes_by_event_type") or []
        if top:
            add(
                "  its bytes by event type",
                "",
                "; ".join(f"{t['type'].lower()} {t['events']} ev {t['bytes'] // 1024} KiB" for t in top[:3]),
            )
    sc = results.get("scale")
    if sc:
        add(
            "scale: collectivités submitted",
            sc["submitted"],
            f"of {sc['n']} asked ({sc['region_total']} in the region); quorum 1, one member",
        )
        add("scale: first submission -> last verdict (s)", sc["to_last_verdict_s"], f"submissions took {sc['submit_s']} s")
        if "scores_per_s" in sc:
            add(
                "scale: jury scores/s",
                sc["scores_per_s"],
                f"{sc['scores_done']}/{sc['scores']} in {sc['scoring_s']} s, {sc['score_failures']} failed",
            )
        if "first_submission_to_last_decision_s" in sc:
            add(
                "scale: first submission -> last decision sent (s)",
                sc["first_submission_to_last_decision_s"],
                f"deadline -> last decision {sc['deadline_to_last_decision_s']} s",
            )
        for key in ("campaign_after_submissions", "campaign_after_jury", "campaign_final"):
            v = sc.get(key)
            if isinstance(v, dict):
                add(f"scale: campaign history ({key.removeprefix('campaign_')})", f"{v['events']} ev", f"{v['history_bytes']} B")
        top = sc.get("campaign_bytes_by_event_type") or []
        if top:
            add(
                "  its bytes by event type",
                "",
                "; ".join(f"{t['type'].lower()} {t['events']} ev {t['bytes'] // 1024} KiB" for t in top[:3]),
            )
        if sc.get("campaign_status"):
            add("scale: campaign status at the end", sc["campaign_status"])
        for key in ("first_failure", "first_score_failure", "deliberation_error"):
            if sc.get(key):
                add(f"scale: {key}", "!", sc[key][:160])
    io = results.get("io")
    if io:
        add(
            "documents/s (engine activity)",
            io["docs_per_s"],
            f"render only {io['render_only_docs_per_s']}/s; bare fpdf2 {io['bare_docs_per_s']}/s",
        )
        add("documents: ratio bare / engine", io["docs_ratio"])
        if "same_text_ratio" in io:
            add(
                "documents: ratio fpdf2 same text / engine",
                io["same_text_ratio"],
                f"fpdf2 with the same words and font files, no styles: {io['same_text_docs_per_s']}/s",
            )
        add("emails/s into the sink (engine activity)", io["emails_per_s"], f"raw aiosmtplib {io['bare_emails_per_s']}/s")
        add("emails: ratio bare / engine", io["emails_ratio"])
        if "same_bytes_ratio" in io:
            add(
                "emails: ratio aiosmtplib same bytes / engine",
                io["same_bytes_ratio"],
                f"the engine's message ({io['email_bytes']} B, summary attached) sent raw: {io['same_bytes_emails_per_s']}/s",
            )
    rg = results.get("region")
    if rg:
        add(
            "region: collectivités submitted",
            rg["submitted"],
            f"of {rg['n']} ({rg['region_total']} in the region); quorum {rg['quorum']}, comments of {rg['comment_chars']} characters",
        )
        add("region: first submission -> last verdict (s)", rg["to_last_verdict_s"], f"submissions took {rg['submit_s']} s")
        if "scores_per_s" in rg:
            add("region: jury scores/s", rg["scores_per_s"], f"{rg['scores_done']}/{rg['scores']} in {rg['scoring_s']} s")
        if "first_submission_to_last_decision_s" in rg:
            add(
                "region: first submission -> last decision sent (s)",
                rg["first_submission_to_last_decision_s"],
                f"{rg.get('decisions_sent')} decisions; work {rg.get('work_s')} s (deadline wait left out)",
            )
        b = rg.get("baseline")
        if b:
            add(
                "region: ratio engine / bare floor",
                rg.get("ratio", "-"),
                f"bare: {b['workflows']} wf x ({b['activities_each']} empty activities + {b['timers_each']} timers) in {b['wall_s']} s",
            )
        runs = rg.get("campaign_runs") or []
        if runs:
            big = max(runs, key=lambda r: r["bytes"])
            payload = max((r["largest_payload"] for r in runs), key=lambda p: p["bytes"])
            add("region: campaign runs (continue-as-new)", len(runs), f"{sum(r['events'] for r in runs)} events in all")
            add("region: largest run of the campaign", f"{big['events']} ev", f"{big['bytes']} B (limits: 51,200 events, 50 MB)")
            add("region: largest payload", payload["bytes"], f"{payload['event_type']} (limit 2 MB)")
        carry = rg.get("carry_computed")
        if carry:
            add(
                "region: carried state, whole region (computed)",
                carry["bytes"],
                f"{carry['candidatures']} entries deliberated, 2 members' marks each: {carry['per_candidature']} B each (limit 2 MB)",
            )
        cs = rg.get("candidature_sample")
        if cs:
            add(
                "region: largest candidature history (sample)",
                f"{cs['largest_events']} ev",
                f"{cs['largest_bytes']} B, {cs['histories']} read",
            )
        for key in ("first_failure", "first_score_failure", "deliberation_error"):
            if rg.get(key):
                add(f"region: {key}", "!", rg[key][:160])
    add("run wall time (s)", results.get("wall_s"), f"load before {results['machine']['loadavg']}, after {results.get('loadavg_after')}")
    w = [max(len(r[i]) for r in rows) for i in range(2)]
    lines = [f"{'figure':<{w[0]}}  {'value':>{w[1]}}  note", "-" * (w[0] + w[1] + 40)]
    lines += [f"{a:<{w[0]}}  {b:>{w[1]}}  {c}" for a, b, c in rows]
    return "\n".join(lines)
