"""Replaying recorded histories with the current workflow code.

A replay re-runs the workflow code against a history without touching any server or activity: the
SDK compares every command the code issues with the events the history holds. A mismatch (a new
activity, a timer moved, a signal to another workflow) is a nondeterminism error: deploying that code
would break every running workflow that has passed that point. So a replay is the check to run before
every deployment, on real histories (fetched from the server) and on the ones saved in
`tests/histories/`.

The logic lives here; `ami.app.cli.cmd_replay` only parses arguments and prints.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowReplayResult
from temporalio.workflow import NondeterminismError


class HistoryFileError(Exception):
    """A history file (or directory) that cannot be read; `str()` is a French message."""


@dataclass(frozen=True)
class ReplayOutcome:
    """The verdict on one history."""

    source: str  # where the history came from: a file path, or "serveur"
    workflow_id: str
    workflow_type: str
    events: int
    failure: Exception | None

    @property
    def compatible(self) -> bool:
        return self.failure is None

    @property
    def nondeterministic(self) -> bool:
        return isinstance(self.failure, NondeterminismError)


def data_converter() -> DataConverter:
    """The converter the client and the worker use (pydantic, plus the encryption codec when keys are
    configured): a replay must decode payloads exactly as they were encoded. Clear-text histories (the
    saved ones) still decode with keys configured, even with AMI_CODEC_REQUIRED: a replay acts on nothing."""
    from ami.infra.client import data_converter as client_data_converter

    return client_data_converter(allow_plaintext=True)


def default_workflows() -> list[type]:
    """Every workflow the worker registers (ami/worker/runner.py), so a replay sees what production runs."""
    from ami.worker.runner import WORKFLOWS

    return list(WORKFLOWS)


def make_replayer(workflows: Sequence[type] | None = None) -> Replayer:
    # The default sandboxed runner, as in the worker: a replay must run the code the way it runs live.
    return Replayer(workflows=list(workflows) if workflows is not None else default_workflows(), data_converter=data_converter())


# --- reading histories ----------------------------------------------------------------------


def history_files(path: Path) -> list[Path]:
    """A file, or every `*.json` of a directory (sorted, so that reports are stable)."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise HistoryFileError(f"{path} : aucun fichier d'historique (*.json) dans ce dossier.")
        return files
    if not path.is_file():
        raise HistoryFileError(f"{path} : fichier ou dossier introuvable.")
    return [path]


def load_history(path: Path) -> WorkflowHistory:
    """Parse a history exported by the Web UI, by `temporal workflow show -o json`, or by `WorkflowHistory.to_json()`."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise HistoryFileError(f"{path} : lecture impossible ({error}).") from None
    except json.JSONDecodeError as error:
        raise HistoryFileError(f"{path} : JSON invalide (ligne {error.lineno}, colonne {error.colno}).") from None
    if isinstance(raw, list):  # some tools export the bare list of events
        raw = {"events": raw}
    if not isinstance(raw, dict) or not raw.get("events"):
        raise HistoryFileError(f"{path} : ce n'est pas un historique Temporal (clé « events » absente ou vide).")
    try:
        # The workflow id is not part of an exported history; the file name stands in for it until the
        # started event tells (recent servers record it there). Only `workflow.info()` sees it.
        history = WorkflowHistory.from_json(path.stem, raw)
    except Exception as error:  # protobuf's ParseError and friends: the file is not a history
        raise HistoryFileError(f"{path} : historique illisible ({error}).") from None
    first = history.events[0]
    if first.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise HistoryFileError(f"{path} : le premier événement n'est pas le démarrage du workflow (historique tronqué ?).")
    recorded_id = first.workflow_execution_started_event_attributes.workflow_id
    return WorkflowHistory(recorded_id, history.events) if recorded_id else history


def workflow_type(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name


# --- fetching histories from the server -----------------------------------------------------


async def fetch_history(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def started_children(history: WorkflowHistory) -> list[str]:
    """The workflow ids of the children a history started (a campaign's candidatures), in order."""
    ids: list[str] = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            child = event.start_child_workflow_execution_initiated_event_attributes.workflow_id
            if child not in ids:
                ids.append(child)
    return ids


async def fetch_campaign_histories(client: Client, campaign_workflow_id: str) -> list[WorkflowHistory]:
    """The campaign's history and those of every candidature it started (read from its own history, so
    this needs neither a worker nor custom search attributes)."""
    campaign = await fetch_history(client, campaign_workflow_id)
    children = [await fetch_history(client, child) for child in started_children(campaign)]
    return [campaign, *children]


DEFAULT_LIVE_QUERY = "ExecutionStatus = 'Running'"


async def fetch_matching_histories(client: Client, query: str = DEFAULT_LIVE_QUERY, limit: int | None = None) -> list[WorkflowHistory]:
    """Every run the visibility `query` finds (each run of a workflow that continued as new is its own
    history), newest first as the server lists them, at most `limit`. The release check: replay what is
    live on the cluster against the code about to be deployed."""
    histories: list[WorkflowHistory] = []
    async for execution in client.list_workflows(query, limit=limit):
        histories.append(await fetch_history(client, execution.id, execution.run_id))
    return histories


# --- replaying ------------------------------------------------------------------------------


async def replay(histories: Iterable[tuple[str, WorkflowHistory]], workflows: Sequence[type] | None = None) -> list[ReplayOutcome]:
    """Replay each (source, history) with the current code; one outcome per history, in order."""
    items = list(histories)
    if not items:
        return []

    async def feed() -> AsyncIterator[WorkflowHistory]:
        for _, history in items:
            yield history

    outcomes: list[ReplayOutcome] = []
    # One replayer for all: the sandbox is built once; results arrive in the order histories are fed.
    async with make_replayer(workflows).workflow_replay_iterator(feed()) as results:
        async for (source, history), result in _zip_async(items, results):
            outcomes.append(
                ReplayOutcome(
                    source=source,
                    workflow_id=history.workflow_id,
                    workflow_type=workflow_type(history),
                    events=len(history.events),
                    failure=result.replay_failure,
                )
            )
    return outcomes


async def replay_path(path: Path, workflows: Sequence[type] | None = None) -> list[ReplayOutcome]:
    """Replay a history file, or every `*.json` of a directory. Raises HistoryFileError before replaying
    anything if one file is unreadable: a partial verdict would read as a pass."""
    loaded = [(str(file), load_history(file)) for file in history_files(path)]
    return await replay(loaded, workflows)


async def _zip_async(
    items: list[tuple[str, WorkflowHistory]], results: AsyncIterator[WorkflowReplayResult]
) -> AsyncIterator[tuple[tuple[str, WorkflowHistory], WorkflowReplayResult]]:
    index = 0
    async for result in results:
        yield items[index], result
        index += 1


# --- saying it in French --------------------------------------------------------------------


def failure_message(outcome: ReplayOutcome) -> str:
    """What went wrong, for a person: the kind of failure, then the SDK's own message (kept verbatim, it
    names the event and the command that disagree)."""
    if outcome.failure is None:
        return ""
    if outcome.nondeterministic:
        return f"non-déterminisme : le code actuel ne rejoue pas cet historique. {outcome.failure}"
    return f"échec du rejeu (tâche de workflow en erreur) : {outcome.failure}"


def describe(outcome: ReplayOutcome) -> str:
    verdict = "compatible" if outcome.compatible else "INCOMPATIBLE"
    return f"{verdict} — {outcome.workflow_type} {outcome.workflow_id} ({outcome.events} événements) — {outcome.source}"


def summary(outcomes: Sequence[ReplayOutcome]) -> str:
    failed = [o for o in outcomes if not o.compatible]
    if not failed:
        return f"Compatible : le code actuel rejoue sans erreur {_count(len(outcomes))}."
    return (
        f"Incompatible : {len(failed)} sur {_count(len(outcomes))} ne se rejoue(nt) pas avec le code actuel. "
        "Ne déployez pas ce code : protégez le changement par workflow.patched (voir docs/replay.md)."
    )


def _count(n: int) -> str:
    return f"{n} historique{'s' if n > 1 else ''}"


__all__ = [
    "HistoryFileError",
    "ReplayOutcome",
    "data_converter",
    "default_workflows",
    "describe",
    "failure_message",
    "fetch_campaign_histories",
    "fetch_history",
    "fetch_matching_histories",
    "history_files",
    "load_history",
    "make_replayer",
    "replay",
    "replay_path",
    "started_children",
    "summary",
]
