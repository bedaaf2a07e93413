"""Helpers shared by the benchmark phases: paths, forms from the register, the store, histories, RSS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHandle

from ami.models.candidature import CandidatureFile

ROOT = Path(__file__).resolve().parent.parent

# What Temporal bills as an action, read from the history (see docs/performance.md).
ACTION_EVENTS = {
    "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED": "workflow start",
    "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": "activities scheduled",
    "EVENT_TYPE_TIMER_STARTED": "timers started",
    "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED": "signals received",
    "EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED": "signals sent",
    "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED": "updates accepted",
    "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "search attribute upserts",
    "EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED": "child workflow starts",
}
# The marker a local activity leaves in the history (the SDK core's name; patches leave "core_patch").
LOCAL_ACTIVITY_MARKER = "core_local_activity"


def rss_kib(pid: int | str = "self") -> int:
    """VmRSS of a process, in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "mem_gib": round(mem_kib / 1024 / 1024, 1), "loadavg": list(os.getloadavg())}


# --- candidature forms ------------------------------------------------------------------------


def region_forms(region: str = "32", limit: int | None = None) -> list[CandidatureFile]:
    """One complete, eligible candidature file per commune and EPCI of the region (register order)."""
    from ami.domain.register import load_register

    entries = load_register().in_region(region)
    # Interleave EPCI (at the end of the register's list) with communes so any prefix has both kinds.
    communes = [e for e in entries if not e.is_epci]
    epci = [e for e in entries if e.is_epci]
    ordered: list[Any] = []
    step = max(1, len(communes) // max(1, len(epci)))
    for i, commune in enumerate(communes):
        if i % step == 0 and epci:
            ordered.append(epci.pop(0))
        ordered.append(commune)
    ordered.extend(epci)
    if limit is not None:
        ordered = ordered[:limit]
    return [form_for(e.siren, e.insee, e.name, i) for i, e in enumerate(ordered)]


def form_for(siren: str | None, insee: str | None, name: str, i: int) -> CandidatureFile:
    slug = f"c{i:05d}"
    return CandidatureFile.model_validate(
        {
            "collectivite": {"name": name, "siren": siren, "insee": None if siren else insee, "email": f"contact.{slug}@example.org"},
            "political_referent": {"name": "Élue référente", "role": "Adjointe au numérique", "email": f"elu.{slug}@example.org"},
            "technical_referent": {"name": "Technicien référent", "role": "Chargé de mission", "email": f"tech.{slug}@example.org"},
            "motivations": "Faire des plateformes coopératives un levier de la transition locale : circuits courts, mobilité partagée.",
            "actions": "Soutien à une épicerie coopérative en ligne ; étude d'un service de covoiturage libre.",
            "work_tracks": "Une plateforme locale d'échanges de biens et services.",
            "needs": "Comprendre les modèles économiques (SCIC) et la gouvernance des communs numériques.",
            "letter": {
                "platforms_place": "Les plateformes de l'économie solidaire sont inscrites au projet de mandat.",
                "objective": "Construire une feuille de route et lancer une expérimentation d'ici un an.",
                "contribution": "Notre retour d'expérience sur les tiers-lieux et un réseau d'associations actif.",
            },
        }
    )


# --- the store (read directly, cheaply, while the worker writes) ------------------------------


@dataclass
class StoreProbe:
    db_file: Path

    def _one(self, sql: str, args: Iterable[Any]) -> int:
        with sqlite3.connect(self.db_file, timeout=10) as conn:
            row = conn.execute(sql, tuple(args)).fetchone()
        return int(row[0] or 0)

    def verdicts(self, prefix: str) -> int:
        """Candidatures with an eligibility verdict recorded (audit rows)."""
        return self._one(
            "select count(distinct workflow_id) from transitions where dest in ('eligibility_checked', 'ineligible') and workflow_id like ?",
            [prefix + "%"],
        )

    def emails_sent(self, prefix: str, purpose_like: str) -> int:
        return self._one(
            "select count(*) from emails where status = 'sent' and purpose like ? and workflow_id like ?", [purpose_like, prefix + "%"]
        )

    def rows(self, table: str, prefix: str) -> int:
        """Rows of `emails` or `documents` written for the workflows whose id starts with `prefix`."""
        if table not in ("emails", "documents"):
            raise ValueError(table)
        return self._one(f"select count(*) from {table} where workflow_id like ?", [prefix + "%"])  # noqa: S608 - a fixed name

    def sample_emails(self, prefix: str, limit: int) -> list[bytes]:
        """Up to `limit` of the messages the engine sent for those workflows, as sent, drawn at random."""
        with sqlite3.connect(self.db_file, timeout=10) as conn:
            rows = conn.execute(
                "select raw from emails where status = 'sent' and raw is not null and workflow_id like ? order by random() limit ?",
                (prefix + "%", limit),
            ).fetchall()
        return [bytes(r[0]) for r in rows]


async def poll_until(probe: Callable[[], int], target: int, timeout: float, every: float = 0.2) -> tuple[bool, float, int]:
    """Poll `probe` until it reaches `target`; (reached, monotonic time, last value)."""
    deadline = time.monotonic() + timeout
    value = 0
    while True:
        value = await asyncio.to_thread(probe)
        now = time.monotonic()
        if value >= target:
            return True, now, value
        if now > deadline:
            return False, now, value
        await asyncio.sleep(every)


async def bounded(concurrency: int, jobs: Iterable[Callable[[], Awaitable[Any]]]) -> list[Any]:
    sem = asyncio.Semaphore(concurrency)

    async def one(job: Callable[[], Awaitable[Any]]) -> Any:
        async with sem:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs), return_exceptions=True)


# --- histories --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What the bare floor of a workflow does: as many activities, local activities and timers."""

    activities: int
    local_activities: int
    timers: int

    @classmethod
    def of(cls, figures: dict[str, Any]) -> Shape:
        kinds = figures["actions_by_kind"]
        return cls(kinds["activities scheduled"], figures["local_activities"], kinds["timers started"])

    @classmethod
    def mean(cls, many: list[dict[str, Any]]) -> Shape:
        shapes = [cls.of(f) for f in many]
        return cls(*(round(sum(getattr(s, k) for s in shapes) / len(shapes)) for k in ("activities", "local_activities", "timers")))


def local_activity_figures(events: Iterable[Any]) -> tuple[int, int]:
    """Local activities (their markers) and the workflow tasks that ran them: Temporal Cloud bills all
    the local activities of one workflow task as one action. Patch markers are not local activities."""
    tasks = [
        e.marker_recorded_event_attributes.workflow_task_completed_event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    ]
    return len(tasks), len(set(tasks))


def _workflow_tasks(events: list[Any]) -> list[tuple[float, int, int]]:
    """Each completed workflow task: seconds from started to completed, its started and completed event ids."""
    at = {e.event_id: e.event_time.ToDatetime() for e in events}
    tasks: list[tuple[float, int, int]] = []
    last_started = 0
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            last_started = e.event_id
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            # The time-skipping server leaves started_event_id out: the last task started is its own.
            started = e.workflow_task_completed_event_attributes.started_event_id or last_started
            tasks.append(((at[e.event_id] - at[started]).total_seconds(), started, e.event_id))
    return tasks


def strain_figures(events: Iterable[Any]) -> dict[str, Any]:
    """What a history shows of a worker that could not keep up: workflow tasks timed out (a sticky one
    not taken within its timeout is one) or failed, activity attempts beyond the first, the longest
    workflow task (started to completed) and the longest wait of an activity for a worker (scheduled
    to started), in seconds."""
    events = list(events)
    at = {e.event_id: e.event_time.ToDatetime() for e in events}
    task_s = [seconds for seconds, _, _ in _workflow_tasks(events)]
    started = [e for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    waits = [(at[e.event_id] - at[e.activity_task_started_event_attributes.scheduled_event_id]).total_seconds() for e in started]
    return {
        "workflow_task_timeouts": sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT for e in events),
        # Of which a sticky task no worker took in time (schedule to start); the others ran too long (start to close).
        "sticky_timeouts": sum(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
            and e.workflow_task_timed_out_event_attributes.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
            for e in events
        ),
        "workflow_task_failures": sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in events),
        # Why: UNHANDLED_COMMAND is the server refusing a completion because new events arrived (normal).
        "workflow_task_failure_causes": dict(
            Counter(
                WorkflowTaskFailedCause.Name(e.workflow_task_failed_event_attributes.cause)
                for e in events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            )
        ),
        "activity_retries": sum(e.activity_task_started_event_attributes.attempt - 1 for e in started),
        "longest_workflow_task_s": round(max(task_s, default=0.0), 2),
        "longest_activity_wait_s": round(max(waits, default=0.0), 2),
    }


def sum_strain(many: list[dict[str, Any]]) -> dict[str, Any]:
    """Strain figures of many histories as one: the longest of the longest, the sum of the counts,
    the failure causes added up."""
    out: dict[str, Any] = {}
    for key in many[0]:
        values = [strain[key] for strain in many]
        if key.startswith("longest"):
            out[key] = max(values)
        elif isinstance(values[0], dict):
            out[key] = dict(sum((Counter(v) for v in values), Counter()))
        else:
            out[key] = sum(values)
    return out


def longest_task(events: Iterable[Any]) -> dict[str, Any]:
    """The longest workflow task of a history: when it started (event id), how long it ran (started to
    completed, in seconds), the events that arrived while it ran and the events after its completion
    up to the next task (its commands, mostly), by type."""
    events = list(events)
    index = {e.event_id: i for i, e in enumerate(events)}
    best = max(_workflow_tasks(events), default=None)
    if best is None:
        return {}
    seconds, started, completed = best
    during = Counter(EventType.Name(e.event_type) for e in events[index[started] + 1 : index[completed]])
    after: Counter[str] = Counter()
    for e in events[index[completed] + 1 :]:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            break
        after[EventType.Name(e.event_type)] += 1
    return {"started_event_id": started, "s": round(seconds, 2), "during": dict(during), "after": dict(after)}


async def history_figures(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """Events, billable actions, serialized size and state transitions of one workflow."""
    history = await handle.fetch_history()
    types = Counter(EventType.Name(e.event_type) for e in history.events)
    actions = {label: types.get(event, 0) for event, label in ACTION_EVENTS.items()}
    local, local_tasks = local_activity_figures(history.events)
    actions["local activity tasks"] = local_tasks
    size = History(events=history.events).ByteSize()
    info = (await handle.describe()).raw_description.workflow_execution_info
    return {
        "events": len(history.events),
        "state_transitions": info.state_transition_count,
        "actions": sum(actions.values()),
        "actions_by_kind": actions,
        "local_activities": local,
        "workflow_tasks": types.get("EVENT_TYPE_WORKFLOW_TASK_COMPLETED", 0),
        "history_bytes": size,
        "server_history_bytes": info.history_size_bytes,
        "event_types": dict(types),
        "strain": strain_figures(history.events),
        "history": history,
    }


async def describe_size(client: Client, workflow_id: str) -> dict[str, Any]:
    info = (await client.get_workflow_handle(workflow_id).describe()).raw_description.workflow_execution_info
    return {"events": info.history_length, "history_bytes": info.history_size_bytes, "state_transitions": info.state_transition_count}


async def terminate_all(client: Client, workflow_ids: Iterable[str], reason: str = "fin de la mesure") -> None:
    async def one(wid: str) -> None:
        with contextlib.suppress(Exception):  # already closed
            await client.get_workflow_handle(wid).terminate(reason)

    await bounded(32, [lambda w=w: one(w) for w in workflow_ids])


async def bytes_by_event_type(handle: WorkflowHandle[Any, Any], top: int = 6) -> list[dict[str, Any]]:
    """Where a history's bytes are: count and serialized bytes per event type, largest first."""
    history = await handle.fetch_history()
    agg: dict[str, list[int]] = {}
    for e in history.events:
        entry = agg.setdefault(EventType.Name(e.event_type).removeprefix("EVENT_TYPE_"), [0, 0])
        entry[0] += 1
        entry[1] += e.ByteSize()
    ranked = sorted(agg.items(), key=lambda kv: -kv[1][1])[:top]
    return [{"type": k, "events": v[0], "bytes": v[1]} for k, v in ranked]


def _payload_sizes(message: Any) -> Iterable[int]:
    """Serialized size of every Payload inside a protobuf message (maps and repeated fields included)."""
    from temporalio.api.common.v1 import Payload

    if isinstance(message, Payload):
        yield message.ByteSize()
        return
    for field, value in message.ListFields():
        if field.type != field.TYPE_MESSAGE:
            continue
        if hasattr(value, "ListFields"):
            items: Iterable[Any] = (value,)
        elif callable(getattr(value, "values", None)):  # a map
            items = value.values()
        else:  # a repeated field
            items = value
        for item in items:
            if hasattr(item, "ListFields"):
                yield from _payload_sizes(item)


def largest_payload(history: History) -> dict[str, Any]:
    """The largest single payload of a history (Temporal refuses one over 2 MB), and its event type."""
    best = {"bytes": 0, "event_type": None}
    for event in history.events:
        for size in _payload_sizes(event):
            if size > best["bytes"]:
                best = {"bytes": size, "event_type": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()}
    return best


async def run_chain(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    """Every run of a workflow that continued as new, first first: events, bytes and largest payload of each."""
    runs: list[dict[str, Any]] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        runs.append(
            {
                "run_id": run_id or "latest",
                "events": len(history.events),
                "bytes": History(events=history.events).ByteSize(),
                "largest_payload": largest_payload(history),
                "strain": strain_figures(history.events),
                "longest_task": longest_task(history.events),
            }
        )
        run_id = started.continued_execution_run_id or None
        if run_id is None or len(runs) > 200:
            return list(reversed(runs))
