"""Replay: every saved history replays with the current code, and an unguarded change is caught.

The histories in tests/histories/ are recorded by scripts/record_histories.py (see docs/replay.md).
A failure here means the change would break workflows already running: guard it with
`workflow.patched`, do not re-record.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from pathlib import Path

from temporalio import workflow

# The replayer's sandbox re-imports this module to load the workflows defined below: everything else
# (pytest, the CLI) is passed through, not re-imported under the sandbox's restrictions.
with workflow.unsafe.imports_passed_through():
    import pytest
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment
    from temporalio.workflow import NondeterminismError

    from ami.app.cli.cmd_replay import replay_command
    from ami.app.cli.main import build_parser
    from ami.app.examples import example
    from ami.app.ops import Coordination, start_campaign
    from ami.app.replay import HistoryFileError, default_workflows, load_history, replay, replay_path, started_children
    from ami.infra.settings import Settings
    from ami.models.candidature_messages import CandidatureInput, CandidatureStatus
    from ami.worker.runner import build_worker
    from ami.workflows.campaign import CampaignWorkflow
    from ami.workflows.candidature import CandidatureWorkflow
    from tests.journal_history import JOURNAL, JOURNAL_PATCH, history_activities
    from tests.scenario import plan_starting, skip_to
    from tests.time_skipping import end_quietly

ROOT = Path(__file__).parent.parent
HISTORIES = Path(__file__).parent / "histories"
ONE = HISTORIES / "selected-enrolled-capitalised.json"

# Re-recorded after the patch `journal-local-activities` (scripts/record_histories.py --only full).
JOURNAL_RERECORDED = ("campaign-full-run", "selected-enrolled-capitalised", "absence-at-session", "outside-region", "not-selected")
DEADLINE_RERECORDED = ("ineligible-corrected-eligible", "binome-unconfirmed")
# Every path of the lifecycle has its history; a missing file would silently shrink the check.
EXPECTED = {
    "campaign-full-run",
    "campaign-first-run-continued-as-new",
    "campaign-last-run-from-carried-state",
    "selected-enrolled-capitalised",
    "ineligible-corrected-eligible",
    "ineligible-closed-at-deadline",
    "late-after-deadline",
    "outside-region",
    "waitlisted-promoted-enrolled",
    "waitlisted-waitlist-closed",
    "not-selected",
    "binome-unconfirmed",
    "withdrawn-mid-cycle",
    "withdrawn-before-cycle",
    "absence-at-session",
    "session-moved-twice",
    # Recorded before the patch `journal-local-activities` (journal rows as regular activities), kept
    # while the patch exists: the branch that the workflows started before it still take.
    *(f"{stem}-before-journal-local-activities" for stem in JOURNAL_RERECORDED),
    # Recorded before the patch `next-deadline-attribute` (the next deadline as a search attribute),
    # kept while the patch exists, as above.
    *(f"{stem}-before-next-deadline-attribute" for stem in DEADLINE_RERECORDED),
}


# --- the changes a developer might make ---------------------------------------------------------
# Registered under the real name: a replay matches histories to code by workflow type name.


@workflow.defn(name="CandidatureWorkflow")
class UnguardedTimer(CandidatureWorkflow):
    """A new timer before anything else, deployed as is: histories recorded before it have none."""

    @workflow.run
    async def run(self, input: CandidatureInput) -> CandidatureStatus:
        await workflow.sleep(timedelta(minutes=1))
        return await super().run(input)


@workflow.defn(name="CandidatureWorkflow")
class GuardedTimer(CandidatureWorkflow):
    """The same change behind a patch: old histories (no marker) take the old branch, new runs the new."""

    @workflow.run
    async def run(self, input: CandidatureInput) -> CandidatureStatus:
        if workflow.patched("pause-before-receipt"):
            await workflow.sleep(timedelta(minutes=1))
        return await super().run(input)


# --- every saved history replays ----------------------------------------------------------------


def test_every_path_has_a_history() -> None:
    missing = EXPECTED - {p.stem for p in HISTORIES.glob("*.json")}
    assert not missing, f"historiques manquants : {sorted(missing)} (scripts/record_histories.py)"


async def test_every_history_replays_with_current_code() -> None:
    outcomes = await replay_path(HISTORIES)
    failures = {o.source: str(o.failure) for o in outcomes if not o.compatible}
    assert not failures, failures
    assert len(outcomes) >= len(EXPECTED)
    assert {o.workflow_type for o in outcomes}.issuperset({"CampaignWorkflow", "CandidatureWorkflow"})


def test_saved_histories_cover_continue_as_new_and_every_patch() -> None:
    """The current campaign code, including a run ended by continue-as-new and one started from a
    carried state, and each `workflow.patched` marker the workflows write."""
    first = json.loads((HISTORIES / "campaign-first-run-continued-as-new.json").read_text(encoding="utf-8"))
    last = json.loads((HISTORIES / "campaign-last-run-from-carried-state.json").read_text(encoding="utf-8"))
    assert first["events"][-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW"
    assert last["events"][0]["workflowExecutionStartedEventAttributes"].get("continuedExecutionRunId")
    sources = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "ami" / "workflows").glob("*.py"))
    markers = set(re.findall(r'workflow\.(?:patched|deprecate_patch)\("([^"]+)"\)', sources))
    assert markers, "no patch marker found in the workflows"
    saved: set[str] = set()
    for path in HISTORIES.glob("*.json"):
        for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
            marker = event.get("markerRecordedEventAttributes")
            if marker and marker.get("markerName") == "core_patch":
                data = marker["details"]["patch-data"]["payloads"][0]["data"]
                saved.add(json.loads(base64.b64decode(data))["id"])
    assert markers <= saved, f"no saved history carries {sorted(markers - saved)}"


def test_both_branches_of_the_journal_patch_are_saved() -> None:
    """Before the patch each journal row is a scheduled activity; after it, a local activity's marker."""
    for stem in JOURNAL_RERECORDED:
        before = history_activities(load_history(HISTORIES / f"{stem}-before-journal-local-activities.json"))
        after = history_activities(load_history(HISTORIES / f"{stem}.json"))
        assert before.journal_scheduled and not before.local and JOURNAL_PATCH not in before.patches, stem
        assert after.local and set(after.local) <= set(JOURNAL) and not after.journal_scheduled, stem
        assert JOURNAL_PATCH in after.patches and len(after.local) == len(before.journal_scheduled), stem


def test_campaign_history_names_its_candidatures() -> None:
    children = started_children(load_history(HISTORIES / "campaign-full-run.json"))
    assert len(children) == 4
    assert all(c.startswith("candidature-hist-full-") for c in children)


# --- an unguarded change is caught, a guarded one is not ------------------------------------------


async def test_unguarded_change_is_nondeterministic() -> None:
    (outcome,) = await replay([("test", load_history(ONE))], [UnguardedTimer, CampaignWorkflow])
    assert not outcome.compatible
    assert isinstance(outcome.failure, NondeterminismError), outcome.failure
    assert outcome.nondeterministic


async def test_guarded_change_replays() -> None:
    outcomes = await replay_path(HISTORIES, [GuardedTimer, CampaignWorkflow])
    assert all(o.compatible for o in outcomes), {o.source: str(o.failure) for o in outcomes if o.failure}


def test_default_workflows_are_the_workers() -> None:
    assert {CampaignWorkflow, CandidatureWorkflow} <= set(default_workflows())


# --- reading files ------------------------------------------------------------------------------


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ pas du json", encoding="utf-8")
    with pytest.raises(HistoryFileError, match="JSON invalide"):
        load_history(bad)
    empty = tmp_path / "empty.json"
    empty.write_text('{"events": []}', encoding="utf-8")
    with pytest.raises(HistoryFileError, match="events"):
        load_history(empty)


def test_cli_export_format_is_read(tmp_path: Path) -> None:
    """`temporal workflow show -o json` and the UI write enum names in PascalCase; from_json copes."""
    import json

    raw = json.loads(ONE.read_text(encoding="utf-8"))
    for event in raw["events"]:
        event["eventType"] = "".join(w.capitalize() for w in event["eventType"].removeprefix("EVENT_TYPE_").split("_"))
    exported = tmp_path / "exported.json"
    exported.write_text(json.dumps(raw), encoding="utf-8")
    assert len(load_history(exported).events) == len(load_history(ONE).events)


# --- the command line ---------------------------------------------------------------------------


def _run_cli(argv: list[str], workflows: list[type] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if workflows is None:
        code: int = args.handler(args)
        return code
    return replay_command(args, workflows)


def test_cli_compatible_history_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["replay", "--history", str(ONE)]) == 0
    output = capsys.readouterr().out
    assert "Compatible : le code actuel rejoue sans erreur 1 historique." in output
    assert "✓ compatible" in output


def test_cli_directory_replays_every_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["replay", "--history", str(HISTORIES)]) == 0
    assert f"{len(list(HISTORIES.glob('*.json')))} historiques" in capsys.readouterr().out


def test_cli_modified_workflow_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["replay", "--history", str(ONE)], [UnguardedTimer, CampaignWorkflow]) == 1
    captured = capsys.readouterr()
    assert "✗ INCOMPATIBLE" in captured.out
    assert "non-déterminisme" in captured.err
    assert "Nondeterminism" in captured.err  # the SDK's own message, kept verbatim
    assert "Incompatible : 1 sur 1 historique" in captured.err


def test_cli_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_cli(["replay"]) == 2
    assert _run_cli(["replay", "--history", str(ONE), "--campaign", "ami-2024"]) == 2
    assert _run_cli(["replay", "--history", str(tmp_path / "absent.json")]) == 2
    assert "introuvable" in capsys.readouterr().err


async def test_cli_replays_from_the_server(
    time_env: WorkflowEnvironment, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ami replay ID --campaign C`, `ami replay --campaign C` (the campaign and its candidatures) and
    `ami replay WORKFLOW_ID`, against a server (here the test server, reached through ami.infra.client.connect)."""
    import asyncio

    env = time_env
    plan = plan_starting(await env.get_current_time(), id="replay-cli", quorum=1)

    async def connect(*_: object, **__: object) -> Client:
        return env.client

    monkeypatch.setattr("ami.infra.client.connect", connect)
    async with build_worker(env.client, settings):
        campaign = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        form = example("13-reims")  # outside the region: closed at the deadline, a short complete history
        await coord.submit(form)
        await skip_to(env, plan.deadline_at + timedelta(hours=1))
        assert (await coord.candidature_status(form.collectivite.identifier)).state == "closed"
        # The CLI runs its own event loop (as from a shell): give it a thread.
        code = await asyncio.to_thread(_run_cli, ["replay", form.collectivite.identifier, "--campaign", plan.id])
        assert code == 0, capsys.readouterr()
        assert f"candidature-{plan.id}-{form.collectivite.identifier}" in capsys.readouterr().out
        assert await asyncio.to_thread(_run_cli, ["replay", "--campaign", plan.id]) == 0
        assert "Compatible : le code actuel rejoue sans erreur 2 historiques." in capsys.readouterr().out
        assert await asyncio.to_thread(_run_cli, ["replay", f"campaign-{plan.id}"], [UnguardedTimer, CampaignWorkflow]) == 0
        assert await asyncio.to_thread(_run_cli, ["replay", "--campaign", plan.id], [UnguardedTimer, CampaignWorkflow]) == 1
        assert "non-déterminisme" in capsys.readouterr().err
        assert await asyncio.to_thread(_run_cli, ["replay", "candidature-inconnue"]) == 2
        assert "introuvable" in capsys.readouterr().err
        # Terminated once quiet, while the worker runs: a workflow terminated with a task in flight
        # would leave the shared time-skipping server unable to skip time (docs/testing.md).
        await end_quietly(env.client, [campaign.id])
