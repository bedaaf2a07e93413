"""`python -m bench.run --quick --region` as a smoke test: every phase of the benchmark runs to its
end on a small size and reports its figures. No time or ratio is asserted: the figures of a shared CI
machine mean nothing; docs/performance.md quotes a run made for that."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.devserver
def test_quick_bench_completes_every_phase(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    small = [
        "--lifecycle-day",
        "0.15",
        "--n",
        "10",
        "--per-campaign",
        "5",
        "--mem-n",
        "10",
        "--scale-n",
        "10",
        "--docs",
        "3",
        "--emails",
        "5",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--region", "--mem-cache", "1000,5", "--json-out", str(out), *small],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert not results.get("errors")
    assert results["engine_files_changed_during_run"] == []

    lifecycle = results["lifecycle"]
    assert lifecycle["final_state"] == "capitalised"
    assert lifecycle["candidature"]["actions"] > 0 and lifecycle["campaign"]["actions"] > 0
    assert all(r["events"] > 0 for r in results["replay"].values())
    # each replay is set beside a bare workflow with as many workflow tasks
    assert all(r["bare_same_tasks"]["workflow_tasks"] == r["workflow_tasks"] > 0 for r in results["replay"].values())
    # and replayed without the SDK's payload passes, with the payloads each history carries counted
    assert all(r["without_payload_passes_ms_median"] > 0 and r["payloads_visited"] > 0 for r in results["replay"].values())

    memory = results["memory"]
    assert [run["max_cached_workflows"] for run in memory["by_cache"]] == [1000, 5]
    assert all(run["all_parked"] for run in memory["by_cache"])

    throughput = results["throughput"]
    assert throughput["complete"] and throughput["decisions_sent"] == throughput["n"]
    assert throughput["baseline"]["failed"] == 0

    scale = results["scale"]
    assert scale["submitted"] == scale["n"] and scale["all_decisions_sent"]

    io = results["io"]
    assert io["documents"] > 0 and io["emails"] > 0 and io["email_bytes"] > 0

    region = results["region"]
    assert region["submitted"] == region["n"] and region["all_decisions_sent"]
    assert region["quorum"] == 2 and region["scores_done"] == 2 * region["n"]
    assert region["baseline"]["failed"] == 0 and region["baseline"]["workflows"] == region["n"]
    # the floor with the campaign's messages: every submission, score and candidature to its end
    messages = region["baseline_with_messages"]
    assert messages["failed"] == 0 and messages["ended"] == messages["submissions"] == region["n"]
    assert messages["scores"] == 2 * region["n"] and region["ratio_with_messages"] > 0
    # the floor with the engine's side effects done plainly: as many as the engine wrote, each done
    effects = region["baseline_with_effects"]
    assert effects["failed"] == 0 and effects["ended"] == region["n"] and region["ratio_with_effects"] > 0
    assert effects["emails_each"] >= 2 and effects["documents_each"] >= 1
    wait = region["response_after_deadline_s"]  # the floors' decisions wait as long as the engine's
    assert wait > 0 and min(messages["scores_to_last_decision_s"], effects["scores_to_last_decision_s"]) >= wait
    work_done = effects["effects_done"]
    assert work_done["email"] == effects["emails_each"] * region["n"] and work_done["document"] == effects["documents_each"] * region["n"]
    # a row per local activity and per score (one run again after a worker restart or a continue-as-new counts twice)
    assert work_done["journal"] >= region["baseline"]["local_activities_each"] * region["n"] + effects["scores"]
    runs = region["campaign_runs"]
    assert runs and all(r["events"] > 0 and r["largest_payload"]["bytes"] > 0 for r in runs)
    assert "region: largest payload" in done.stdout
