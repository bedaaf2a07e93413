"""The business gauges a coordinator's dashboard needs, recomputed every `AMI_METRICS_SCAN_SECONDS`.

Counters that happen in an activity (emails sent, retried, bounced) are counted where they happen
(ami/activities/email.py). What is a *state* is read here, from the server and the store:

- `ami_candidatures{campaign,state}`: visibility counts (`AmiState`), for each running campaign;
- `ami_activities_retrying_over_hour{activity_type}`: pending activities past their first attempt,
  scheduled more than an hour ago (describe of each running workflow);
- `ami_workflow_tasks_failing{workflow_type}`: running workflows whose workflow task is being retried
  (a bug or a nondeterminism: the workflow is blocked until a fix is deployed);
- `ami_candidatures_stuck`: candidatures in one of the two situations above;
- `ami_timers_due_next_24h`: candidature deadlines due within a day (visibility count on `AmiNextDeadline`;
  never a query, which would replay every candidature the worker does not hold in its cache);
- `ami_emails_pending_over_hour`: outbox rows still pending an hour after they were written.

At ami's scale (a few dozen candidatures a campaign) a scan is a few dozen calls; every worker replica
scans, and the dashboard takes the maximum. The classification is pure (`classify`), tested without
a server.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.service import RPCError

from ami.infra import telemetry as names
from ami.infra.store import Store
from ami.models.lifecycle import State
from ami.models.search_attributes import NEXT_DEADLINE
from ami.models.tables import EmailRow, OutboxStatus

log = logging.getLogger("ami.worker.monitor")

RETRYING_FOR = timedelta(hours=1)
DUE_WITHIN = timedelta(hours=24)
CANDIDATURE_TYPE = "CandidatureWorkflow"
CAMPAIGN_TYPE = "CampaignWorkflow"
KNOWN_ACTIVITIES = ("send_email", "make_document", "check_eligibility", "record_transition", "record_fact", "record_campaign")


@dataclass
class Snapshot:
    candidatures: dict[tuple[str, str], int] = field(default_factory=dict)  # (campaign, state) → count
    retrying_over_hour: Counter[str] = field(default_factory=Counter)  # activity type → count
    tasks_failing: Counter[str] = field(default_factory=Counter)  # workflow type → count
    stuck: int = 0
    timers_next_24h: int = 0
    emails_pending_over_hour: int = 0


@dataclass(frozen=True)
class Trouble:
    """What the describe of one running workflow says is wrong."""

    workflow_type: str
    retrying_activities: tuple[str, ...]
    task_failing: bool

    @property
    def stuck(self) -> bool:
        return self.task_failing or bool(self.retrying_activities)


def classify(description: DescribeWorkflowExecutionResponse, now: datetime) -> Trouble:
    """Pure: pending activities retried for more than an hour, and a workflow task being retried."""
    retrying = tuple(
        activity.activity_type.name
        for activity in description.pending_activities
        if activity.attempt > 1 and now - activity.scheduled_time.ToDatetime(UTC) > RETRYING_FOR
    )
    task = description.pending_workflow_task
    return Trouble(
        workflow_type=description.workflow_execution_info.type.name,
        retrying_activities=retrying,
        task_failing=description.HasField("pending_workflow_task") and task.attempt > 1,
    )


def due_soon_query(now: datetime) -> str:
    """The running candidatures whose next deadline falls in the next `DUE_WITHIN` (visibility)."""

    def instant(at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return (
        f"WorkflowType = '{CANDIDATURE_TYPE}' AND ExecutionStatus = 'Running'"
        f" AND {NEXT_DEADLINE.name} >= '{instant(now)}' AND {NEXT_DEADLINE.name} <= '{instant(now + DUE_WITHIN)}'"
    )


def pending_emails_older_than(store: Store, cutoff: datetime) -> int:
    with store.sessions() as session:
        query = select(func.count()).select_from(EmailRow).where(EmailRow.status == OutboxStatus.PENDING, EmailRow.created_at < cutoff)
        return int(session.scalar(query) or 0)


async def scan(client: Client, store: Store | None, now: datetime | None = None) -> Snapshot:
    """One pass over the running workflows, the visibility counts and the outbox."""
    now = now or datetime.now(UTC)
    snapshot = Snapshot()
    campaigns: list[str] = []
    async for execution in client.list_workflows(f"WorkflowType = '{CAMPAIGN_TYPE}' AND ExecutionStatus = 'Running'"):
        campaigns.append(execution.id.removeprefix("campaign-"))
    for campaign in campaigns:
        for state in State:
            query = f"WorkflowType = '{CANDIDATURE_TYPE}' AND AmiCampaign = '{campaign}' AND AmiState = '{state.value}'"
            snapshot.candidatures[(campaign, state.value)] = (await client.count_workflows(query)).count
    async for execution in client.list_workflows("ExecutionStatus = 'Running'"):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        trouble = classify((await handle.describe()).raw_description, now)
        snapshot.retrying_over_hour.update(trouble.retrying_activities)
        if trouble.task_failing:
            snapshot.tasks_failing[trouble.workflow_type] += 1
        if execution.workflow_type != CANDIDATURE_TYPE:
            continue
        snapshot.stuck += trouble.stuck
    # From visibility, never by a query: a query on a workflow the worker does not hold replays its
    # history into the cache, and a scan of every running candidature would evict the active ones.
    try:
        snapshot.timers_next_24h = (await client.count_workflows(due_soon_query(now))).count
    except RPCError as error:  # AmiNextDeadline not registered yet (Cloud, before `tcld`): the other gauges still go out
        log.warning("échéances des 24 heures non comptées (%s) : l'attribut AmiNextDeadline est-il déclaré ?", error.status.name)
    if store is not None:
        snapshot.emails_pending_over_hour = await asyncio.to_thread(pending_emails_older_than, store, now - RETRYING_FOR)
    return snapshot


class Gauges:
    """The gauges on the worker's meter; `publish` sets every one of them from a snapshot."""

    def __init__(self, meter: MetricMeter) -> None:
        self.candidatures = meter.create_gauge(names.CANDIDATURES, "Candidatures par état (campagnes en cours)")
        self.retrying = meter.create_gauge(names.ACTIVITIES_RETRYING_OVER_HOUR, "Activités réessayées depuis plus d'une heure")
        self.failing = meter.create_gauge(names.WORKFLOW_TASKS_FAILING, "Workflows dont la tâche de workflow échoue")
        self.stuck = meter.create_gauge(names.STUCK_CANDIDATURES, "Candidatures bloquées (tâche en échec ou activité en reprise > 1 h)")
        self.timers = meter.create_gauge(names.TIMERS_NEXT_24H, "Échéances de candidature dans les 24 heures")
        self.pending = meter.create_gauge(names.EMAILS_PENDING_OVER_HOUR, "Courriels en attente d'envoi depuis plus d'une heure")
        self.errors = meter.create_counter(names.SCAN_ERRORS, "Passages de surveillance en échec")
        # Series start at 0 (the dashboard shows 0, not "no data"), and go back to 0 when a campaign ends
        # or a type stops retrying, instead of keeping their last value.
        self._seen_activities: set[str] = set(KNOWN_ACTIVITIES)
        self._seen_types: set[str] = {CAMPAIGN_TYPE, CANDIDATURE_TYPE}
        self._seen_candidatures: set[tuple[str, str]] = set()

    def publish(self, snapshot: Snapshot) -> None:
        self._seen_candidatures |= set(snapshot.candidatures)
        for campaign, state in self._seen_candidatures:
            self.candidatures.set(snapshot.candidatures.get((campaign, state), 0), {"campaign": campaign, "state": state})
        # A type that was retrying and no longer is must go back to 0, not keep its last value.
        self._seen_activities |= set(snapshot.retrying_over_hour)
        for activity_type in self._seen_activities:
            self.retrying.set(snapshot.retrying_over_hour[activity_type], {"activity_type": activity_type})
        self._seen_types |= set(snapshot.tasks_failing)
        for workflow_type in self._seen_types:
            self.failing.set(snapshot.tasks_failing[workflow_type], {"workflow_type": workflow_type})
        self.stuck.set(snapshot.stuck)
        self.timers.set(snapshot.timers_next_24h)
        self.pending.set(snapshot.emails_pending_over_hour)


async def run_monitor(client: Client, store: Store | None, meter: MetricMeter, every: float) -> None:
    """Scan, publish, sleep; forever (cancelled with the worker). A failed scan is logged and counted,
    never fatal: the worker's job is the workflows."""
    gauges = Gauges(meter)
    while True:
        try:
            gauges.publish(await scan(client, store))
        except Exception as error:  # noqa: BLE001 — an RPC error, a query refused: try again next time
            gauges.errors.add(1)
            log.warning("scan de surveillance en échec : %s", type(error).__name__)
        await asyncio.sleep(every)
