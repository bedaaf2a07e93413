"""The checks of a chaos run, each a figure: what the workflows, the relay, the store and the disk say
after the faults, compared one with another."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus

from ami.infra.store import Store
from chaos.cluster import FaultLog
from chaos.drive import TERMINATE_REASON, Driver

# The exceptions a fault explains: a relay, a store or a server that went away, a task cut short.
FAULT_EXCEPTIONS = re.compile(
    r"SMTP(Connect|ServerDisconnected|Timeout|ConnectTimeout)|ConnectionRefused|ConnectionReset|BrokenPipe|OperationalError|"
    r"database is locked|server closed the connection|connection (is )?(lost|closed|refused)|Connection refused|"
    r"CancelledError|RPCError|TimeoutError|Failed client connect|psycopg\.|consuming input failed|"
    # the candidature the suite terminates from outside: its parent sees the child end
    r"Child Workflow execution terminated"
)


@dataclass
class Figures:
    lines: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Speed targets missed: a failure of `make chaos`, only reported by the test (no timed tests).
    slow: list[str] = field(default_factory=list)

    def add(self, label: str, value: object, ok: bool = True, timed: bool = False) -> None:
        self.lines.append((label, str(value)))
        if not ok:
            (self.slow if timed else self.failures).append(f"{label} : {value}")

    def render(self) -> str:
        width = max(len(label) for label, _ in self.lines)
        rows = [f"  {label.ljust(width)}  {value}" for label, value in self.lines]
        missed = [*self.failures, *self.slow]
        verdict = "TOUT EST CONFORME" if not missed else f"{len(missed)} ÉCART(S)"
        return "\n".join(["Résultats du chaos :", *rows, f"=> {verdict}", *(f"   - {f}" for f in missed)])


async def workflows(client: Client, driver: Driver, figures: Figures, full: bool) -> dict[str, str]:
    """Workflow statuses; returns each candidature's final state (or its closing status)."""
    statuses: Counter[str] = Counter()
    unexpected: list[str] = []
    async for execution in client.list_workflows():
        status = execution.status.name if execution.status else "UNKNOWN"
        statuses[status] += 1
        if execution.status in (WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TIMED_OUT):
            unexpected.append(f"{execution.id} {status}")
        elif execution.status is WorkflowExecutionStatus.TERMINATED and execution.id not in driver.terminated:
            unexpected.append(f"{execution.id} TERMINATED")
    figures.add("workflows par statut", dict(sorted(statuses.items())))
    figures.add("échoués, expirés, ou terminés hors du test", len(unexpected), not unexpected)
    for line in unexpected[:5]:
        figures.add("  dont", line, False)
    campaign = await driver.coord.campaign.describe()
    if full:
        figures.add("campagne", campaign.status.name if campaign.status else "?", campaign.status is WorkflowExecutionStatus.COMPLETED)
    finals: dict[str, str] = {}
    for key in driver.keys:
        handle = driver.coord.candidature(key)
        described = await handle.describe()
        if described.status is WorkflowExecutionStatus.TERMINATED:
            history = await handle.fetch_history()
            reasons = [
                e.workflow_execution_terminated_event_attributes.reason
                for e in history.events
                if e.HasField("workflow_execution_terminated_event_attributes")
            ]
            finals[key] = "TERMINATED" if reasons == [TERMINATE_REASON] else f"TERMINATED ({reasons})"
        else:
            try:
                finals[key] = (await driver.coord.candidature_status(key)).state
            except Exception as error:  # a workflow that failed may not even answer a query
                finals[key] = f"? ({type(error).__name__})"
    wrong = {
        k: (finals[k], "/".join(sorted(driver.expected_states(k, full))))
        for k in driver.keys
        if finals[k] not in driver.expected_states(k, full)
    }
    figures.add("candidatures à leur état final attendu", f"{len(driver.keys) - len(wrong)}/{len(driver.keys)}", not wrong)
    for key, (got, expected) in list(wrong.items())[:8]:
        figures.add(f"  {key}", f"{got} (attendu {expected})", False)
    figures.add("états atteints", dict(sorted(Counter(finals.values()).items())))
    return finals


def emails(store: Store, mail_dir: Path, ours: set[str], figures: Figures, faults: FaultLog, full: bool, campaign_wf: str) -> None:
    rows = [r for r in store.emails() if r.workflow_id in ours]
    by_id = {r.message_id: r for r in rows}
    received: dict[str, list[bytes]] = defaultdict(list)
    strangers = 0
    for path in sorted(mail_dir.glob("*.eml")):
        content = path.read_bytes()
        message = message_from_bytes(content, policy=policy.default)
        msg_id = str(message["Message-ID"] or "").strip()
        if msg_id in by_id:
            received[msg_id].append(content)
        else:
            strangers += 1
    status = Counter(r.status for r in rows)
    figures.add(
        "boîte d'envoi (envoyés, refusés, en attente)",
        f"{status['sent']}, {status['bounced']}, {status['pending']}",
        status["pending"] == 0,
    )
    lost = [m for m, r in by_id.items() if r.status == "sent" and not received.get(m)]
    figures.add("courriels envoyés et perdus (absents du relais)", len(lost), not lost)
    figures.add("courriels reçus inconnus de la boîte d'envoi", strangers, strangers == 0)
    keys = Counter((r.workflow_id, r.purpose, r.occurrence) for r in rows)
    figures.add(
        "(workflow, objet, occurrence) en double dans la boîte d'envoi",
        sum(1 for n in keys.values() if n > 1),
        all(n == 1 for n in keys.values()),
    )
    once = sum(1 for copies in received.values() if len(copies) == 1)
    identical = sum(len(c) - 1 for c in received.values() if len(c) > 1 and len(set(c)) == 1)
    differing = sum(1 for c in received.values() if len(set(c)) > 1)
    figures.add("reçus exactement une fois", f"{once}/{len(received)}")
    cuts = faults.count("worker_sigkill") + faults.count("relay_down")
    figures.add("doublons identiques (au plus un par coupure)", f"{identical} (coupures : {cuts})", identical <= cuts)
    figures.add("doublons qui diffèrent", differing, differing == 0)
    if full:
        report = [r for r in rows if r.workflow_id == campaign_wf and r.purpose == "coord_campaign_report"]
        sent = bool(report) and report[0].status == "sent" and bool(received.get(report[0].message_id))
        figures.add("rapport de campagne envoyé", "oui" if sent else "non", sent)


async def store_vs_histories(store: Store, driver: Driver, figures: Figures) -> None:
    mismatched = []
    for key in driver.keys:
        handle = driver.coord.candidature(key)
        try:
            status = await driver.coord.candidature_status(key)
        except Exception as error:
            mismatched.append(f"{handle.id}: pas de réponse ({type(error).__name__})")
            continue
        mine = [(t.sequence, t.source or None, t.dest, t.trigger) for t in status.transitions]
        rows = [(r.sequence, r.source or None, r.dest, r.trigger) for r in store.transitions(handle.id)]
        if handle.id in driver.terminated and rows == mine[: len(rows)] and len(mine) - len(rows) <= 1:
            continue  # terminated while recording its last transition: the record is cut with it
        if mine != rows:
            mismatched.append(f"{handle.id}: workflow {len(mine)}, base {len(rows)}")
    figures.add(
        "transitions : base = histoire de chaque workflow", f"{len(driver.keys) - len(mismatched)}/{len(driver.keys)}", not mismatched
    )
    for line in mismatched[:5]:
        figures.add("  écart", line, False)


def documents(store: Store, data_dir: Path, ours: set[str], figures: Figures) -> None:
    rows = [r for r in store.documents() if r.workflow_id in ours]
    missing = corrupt = 0
    for row in rows:
        path = Path(row.path)
        if not path.exists():
            missing += 1
        elif hashlib.sha256(path.read_bytes()).hexdigest() != row.sha256:
            corrupt += 1
    known = {Path(r.path).name for r in store.documents()}
    on_disk = list((data_dir / "documents").rglob("*.pdf"))
    orphans = sum(1 for p in on_disk if p.name not in known)
    partial = len(list((data_dir / "documents").rglob("*.part")))
    figures.add("documents (en base, manquants, altérés)", f"{len(rows)}, {missing}, {corrupt}", missing == 0 and corrupt == 0)
    figures.add("fichiers sur disque absents de la base", orphans, orphans == 0)
    figures.add("fichiers .part laissés par un arrêt brutal", partial)


# A log record starts with its timestamp (chaos.worker's format) or a start marker of the suite.
_RECORD = re.compile(r"^(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|=== )", re.MULTILINE)


def tracebacks(logs: Path, figures: Figures) -> None:
    """Every log record with a traceback (its chained exceptions included) must be explained by a fault."""
    explained, unexplained = 0, []
    for log in sorted(logs.glob("worker-*.log")):
        for record in _RECORD.split(log.read_text(errors="replace")):
            if "Traceback (most recent call last):" not in record:
                continue
            if FAULT_EXCEPTIONS.search(record):
                explained += 1
                continue
            lines = [line for line in record.splitlines() if line and not line.startswith((" ", "\t"))]
            unexplained.append(f"{log.name}: {lines[-1][:160] if lines else ''}")
    figures.add("traces d'erreur expliquées par une panne injectée", explained)
    figures.add("traces d'erreur inexpliquées", len(unexplained), not unexplained)
    for line in sorted(set(unexplained))[:6]:
        figures.add("  trace", line, False)


def recovery(logs: Path, faults: FaultLog, figures: Figures, ended: set[str], target: float = 10.0) -> None:
    """From each SIGKILL to the next attempt of every activity the killed worker held.

    A local activity (the journal's rows) runs inside its workflow task: lost with the worker, it
    runs again, from attempt 1, once that task has timed out and another worker replays the workflow.
    """
    starts: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    local: set[tuple[str, str]] = set()
    per_file: dict[str, list[dict[str, object]]] = defaultdict(list)
    for path in sorted(logs.glob("attempts-*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            per_file[path.stem.removeprefix("attempts-")].append(record)
            if record["ev"] == "start":
                starts[(record["wf"], record["act"])].append((record["attempt"], record["t"]))
                if record.get("local"):
                    local.add((record["wf"], record["act"]))
    delays: list[float] = []
    noticed: list[float] = []
    unresumed = 0
    for kill in (e for e in faults.entries if e["kind"] == "worker_sigkill"):
        at = float(kill["t"])  # type: ignore[arg-type]
        open_: set[tuple[str, str, int]] = set()
        for record in per_file[f"{kill['worker']}-{kill['incarnation']}"]:
            key = (str(record["wf"]), str(record["act"]), int(record["attempt"]))  # type: ignore[call-overload]
            if record["ev"] == "start":
                open_.add(key)
            else:
                open_.discard(key)
        for wf, act, attempt in open_:
            is_local = (wf, act) in local
            later = [t for n, t in starts[(wf, act)] if (is_local or n > attempt) and t > at]
            if later:
                delays.append(min(later) - at)
                # What the retry policy itself waits before attempt n+1 (1 s, doubling, at most 30 s):
                # the rest is the time it took to notice the loss and hand the task to a live worker.
                # A local activity waits for no policy: its workflow task's timeout is the whole delay.
                noticed.append(min(later) - at - (0.0 if is_local else min(2.0 ** (attempt - 1), 30.0)))
            elif wf.split("/")[0] not in ended:
                unresumed += 1
    if delays:
        within = sum(1 for d in delays if d <= target)
        figures.add(
            "reprise après SIGKILL (tâches perdues, médiane, 9e décile, max)",
            f"{len(delays)}, {_pct(delays, 50):.1f} s, {_pct(delays, 90):.1f} s, {max(delays):.1f} s",
        )
        figures.add(f"tâches reprises en {target:.0f} s au plus", f"{within}/{len(delays)}")
        caught = sum(1 for d in noticed if d <= target)
        figures.add(
            f"perte constatée et tâche rendue en {target:.0f} s au plus (hors attente de la politique de relance)",
            f"{caught}/{len(noticed)} (médiane {_pct(noticed, 50):.1f} s, max {max(noticed):.1f} s)",
            caught == len(noticed),
            timed=True,
        )
    figures.add("tâches perdues jamais reprises", unresumed, unresumed == 0)


def _pct(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * percent / 100))]
