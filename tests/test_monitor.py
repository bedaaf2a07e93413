"""The pure parts of production monitoring and versioning: which describe means "stuck", which
deadlines are due, the worker's deployment settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import cast

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.workflow.v1 import PendingActivityInfo, PendingWorkflowTaskInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse
from temporalio.client import Client
from temporalio.common import VersioningBehavior
from temporalio.service import RPCError, RPCStatusCode

from ami.infra.settings import Settings
from ami.worker.monitor import classify, due_soon_query, scan
from ami.worker.runner import deployment_config

NOW = datetime(2024, 9, 10, 12, tzinfo=UTC)


def _ts(instant: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(instant)
    return stamp


def describe(*activities: tuple[str, int, timedelta], task_attempt: int | None = None) -> DescribeWorkflowExecutionResponse:
    response = DescribeWorkflowExecutionResponse()
    response.workflow_execution_info.type.name = "CandidatureWorkflow"
    for name, attempt, ago in activities:
        pending = PendingActivityInfo(attempt=attempt, scheduled_time=_ts(NOW - ago))
        pending.activity_type.name = name
        response.pending_activities.append(pending)
    if task_attempt is not None:
        response.pending_workflow_task.CopyFrom(PendingWorkflowTaskInfo(attempt=task_attempt))
    return response


def test_an_activity_retried_for_more_than_an_hour_is_stuck() -> None:
    trouble = classify(describe(("send_email", 7, timedelta(hours=2)), ("make_document", 1, timedelta(hours=3))), NOW)
    assert trouble.retrying_activities == ("send_email",) and trouble.stuck and not trouble.task_failing


@pytest.mark.parametrize(
    "activity",
    [
        ("send_email", 5, timedelta(minutes=50)),
        ("send_email", 1, timedelta(hours=5)),
    ],  # retrying, but not for an hour; one long first attempt
)
def test_not_yet_stuck(activity: tuple[str, int, timedelta]) -> None:
    assert not classify(describe(activity), NOW).stuck


def test_a_failing_workflow_task_is_stuck() -> None:
    assert classify(describe(task_attempt=3), NOW).task_failing
    assert not classify(describe(task_attempt=1), NOW).task_failing
    assert not classify(describe(), NOW).task_failing


def test_deadlines_due_within_a_day_are_counted_by_visibility() -> None:
    """No query to any workflow: the deadline is a search attribute (tests/test_production.py counts it live)."""
    query = due_soon_query(NOW.astimezone(timezone(timedelta(hours=2))))  # any zone: the instants are written in UTC
    start, end = NOW.astimezone(UTC), NOW.astimezone(UTC) + timedelta(hours=24)
    assert f"AmiNextDeadline >= '{start:%Y-%m-%dT%H:%M:%SZ}'" in query
    assert f"AmiNextDeadline <= '{end:%Y-%m-%dT%H:%M:%SZ}'" in query
    assert "WorkflowType = 'CandidatureWorkflow' AND ExecutionStatus = 'Running'" in query


def test_deployment_settings() -> None:
    assert deployment_config(Settings()) is None  # unversioned by default (tests, demo, ami dev)
    config = deployment_config(Settings(deployment_name="ami", build_id="2025.03.1"))
    assert config is not None and config.use_worker_versioning
    assert (config.version.deployment_name, config.version.build_id) == ("ami", "2025.03.1")
    assert config.default_versioning_behavior is VersioningBehavior.AUTO_UPGRADE
    with pytest.raises(ValueError, match="AMI_BUILD_ID"):
        deployment_config(Settings(deployment_name="ami"))


def test_deployment_command_needs_a_name(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from ami.app.cli.main import main
    from ami.infra.settings import get_settings

    monkeypatch.delenv("AMI_DEPLOYMENT_NAME", raising=False)
    get_settings.cache_clear()
    try:
        assert main(["deployment", "show"]) == 2
    finally:
        get_settings.cache_clear()
    assert "AMI_DEPLOYMENT_NAME" in capsys.readouterr().err


def test_gauges_start_at_zero_and_go_back_to_zero() -> None:
    from temporalio.runtime import BUFFERED_METRIC_KIND_GAUGE, MetricBuffer, Runtime, TelemetryConfig

    from ami.worker.monitor import Gauges, Snapshot

    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    gauges = Gauges(runtime.metric_meter)

    def values() -> dict[tuple[str, tuple[tuple[str, str], ...]], int]:
        return {
            (u.metric.name, tuple(sorted((k, str(v)) for k, v in u.attributes.items() if k != "service_name"))): int(u.value)
            for u in buffer.retrieve_updates()
            if u.metric.kind == BUFFERED_METRIC_KIND_GAUGE
        }

    snapshot = Snapshot(candidatures={("c", "notified"): 3})
    snapshot.retrying_over_hour["send_email"] = 2
    gauges.publish(snapshot)
    first = values()
    assert first[("ami_candidatures", (("campaign", "c"), ("state", "notified")))] == 3
    assert first[("ami_activities_retrying_over_hour", (("activity_type", "send_email"),))] == 2
    assert first[("ami_activities_retrying_over_hour", (("activity_type", "make_document"),))] == 0
    gauges.publish(Snapshot())  # the campaign ended, the relay recovered
    second = values()
    assert second[("ami_candidatures", (("campaign", "c"), ("state", "notified")))] == 0
    assert second[("ami_activities_retrying_over_hour", (("activity_type", "send_email"),))] == 0


# --- one scan, against a client that answers from memory ---------------------------------------


class _Handle:
    """A workflow handle that can only be described: a query (which would replay the workflow in a
    worker that does not hold it) raises AttributeError."""

    def __init__(self, response: DescribeWorkflowExecutionResponse) -> None:
        self.response = response

    async def describe(self) -> SimpleNamespace:
        return SimpleNamespace(raw_description=self.response)


class _Client:
    def __init__(self, deadlines: int | None) -> None:
        self.deadlines = deadlines  # None: the visibility store refuses the deadline query

    def list_workflows(self, query: str) -> AsyncIterator[SimpleNamespace]:
        async def executions() -> AsyncIterator[SimpleNamespace]:
            yield SimpleNamespace(id="campaign-c1", run_id="r0", workflow_type="CampaignWorkflow")
            if "CampaignWorkflow" not in query:
                yield SimpleNamespace(id="candidature-c1-1", run_id="r1", workflow_type="CandidatureWorkflow")

        return executions()

    async def count_workflows(self, query: str) -> SimpleNamespace:
        if "AmiNextDeadline" not in query:
            return SimpleNamespace(count=1)
        if self.deadlines is None:
            raise RPCError("unknown search attribute AmiNextDeadline", RPCStatusCode.INVALID_ARGUMENT, b"")
        return SimpleNamespace(count=self.deadlines)

    def get_workflow_handle(self, workflow_id: str, run_id: str | None = None) -> _Handle:
        return _Handle(describe(("send_email", 7, timedelta(hours=2))))


async def test_a_scan_counts_deadlines_by_visibility_and_never_queries_a_candidature() -> None:
    snapshot = await scan(cast(Client, _Client(deadlines=4)), None, NOW)
    assert snapshot.timers_next_24h == 4
    assert snapshot.stuck == 1 and snapshot.retrying_over_hour["send_email"] == 2  # the campaign's describe and the candidature's


async def test_a_refused_deadline_count_leaves_the_other_gauges(caplog: pytest.LogCaptureFixture) -> None:
    snapshot = await scan(cast(Client, _Client(deadlines=None)), None, NOW)
    assert snapshot.timers_next_24h == 0
    assert snapshot.stuck == 1 and snapshot.candidatures  # the rest of the scan went on
    assert "AmiNextDeadline" in caplog.text
