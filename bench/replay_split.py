"""Where a lifecycle's replay goes: the engine's history beside the bare one, four ways each.

    python -m bench.run --only lifecycle,replay --save-histories DIR
    python -m bench.replay_split DIR

Each history is replayed in the sandbox and outside it, with and without the SDK's payload passes
(`bench/replay_parts.py`), the eight replayers taking turns round after round so that the machine's
drift touches them alike. It prints the median milliseconds per replay of each, and the payloads the
SDK visits in each history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner

from ami.workflows.campaign import CampaignWorkflow
from ami.workflows.candidature import CandidatureWorkflow
from bench.baseline import BaselineWorkflow
from bench.phase_lifecycle import repeat
from bench.replay_parts import payloads_visited, without_payload_passes


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, json.loads(path.read_text(encoding="utf-8")))


async def _ms_per_replay(replayer: Replayer, history: WorkflowHistory, runs: int) -> float:
    start = time.perf_counter()
    async with replayer.workflow_replay_iterator(repeat(history, runs)) as results:
        async for result in results:
            assert result.replay_failure is None, result.replay_failure
    return (time.perf_counter() - start) * 1000 / runs


async def split(engine: WorkflowHistory, bare: WorkflowHistory, rounds: int, runs: int) -> dict[str, float]:
    """Median ms per replay, for the engine and the bare history, each of the four ways."""

    def replayer(workflows: list[type], runner: WorkflowRunner | None) -> Replayer:
        extra = {"workflow_runner": runner} if runner else {}
        return Replayer(workflows=workflows, data_converter=pydantic_data_converter, **extra)  # type: ignore[arg-type]

    ours = [CampaignWorkflow, CandidatureWorkflow]
    cases = {
        "engine, sandbox": (replayer(ours, None), engine),
        "engine, no sandbox": (replayer(ours, UnsandboxedWorkflowRunner()), engine),
        "bare, sandbox": (replayer([BaselineWorkflow], None), bare),
        "bare, no sandbox": (replayer([BaselineWorkflow], UnsandboxedWorkflowRunner()), bare),
    }
    for r, h in cases.values():
        await r.replay_workflow(h)  # imports and the sandbox's warm-up, left out
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, (r, h) in cases.items():
            times.setdefault(name, []).append(await _ms_per_replay(r, h, runs))
            with without_payload_passes(pydantic_data_converter):
                times.setdefault(f"{name}, no payload passes", []).append(await _ms_per_replay(r, h, runs))
    return {name: round(statistics.median(values), 1) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("histories", type=Path, help="the folder --save-histories wrote")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=10, help="replays in a row per measure")
    args = parser.parse_args()
    for name in ("candidature", "campaign"):
        engine, bare = _load(args.histories / f"lifecycle-{name}.json"), _load(args.histories / f"lifecycle-{name}-bare.json")
        print(
            f"{name}: {len(engine.events)} events, {payloads_visited(engine)} payloads; bare {len(bare.events)} events, {payloads_visited(bare)} payloads"
        )
        for case, ms in asyncio.run(split(engine, bare, args.rounds, args.runs)).items():
            print(f"  {case:35s} {ms:7.1f} ms")


if __name__ == "__main__":
    main()
