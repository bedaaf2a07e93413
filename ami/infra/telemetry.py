"""The SDK's Prometheus metrics, and ours beside them.

A `Runtime` with a Prometheus exporter serves `http://<AMI_METRICS_ADDRESS>/metrics`: the SDK's own
metrics (`temporal_workflow_task_execution_failed`, `temporal_activity_execution_failed`, schedule-to-start
latencies, sticky cache, …) and the engine's, created on the same meter (`ami_*`, see ami/worker/monitor.py
and ami/activities/email.py). A client connected with that runtime carries it to every worker built on it.

One runtime per process and per address: the exporter binds its port once.
"""

from __future__ import annotations

from functools import cache

from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

# The engine's own metrics (ami/activities/email.py and ami/worker/monitor.py): one list, for the dashboard test.
EMAILS_SENT = "ami_emails_sent"
EMAILS_BOUNCED = "ami_emails_bounced"
EMAILS_RETRIED = "ami_emails_retried"
CANDIDATURES = "ami_candidatures"
ACTIVITIES_RETRYING_OVER_HOUR = "ami_activities_retrying_over_hour"
WORKFLOW_TASKS_FAILING = "ami_workflow_tasks_failing"
STUCK_CANDIDATURES = "ami_candidatures_stuck"
TIMERS_NEXT_24H = "ami_timers_due_next_24h"
EMAILS_PENDING_OVER_HOUR = "ami_emails_pending_over_hour"
SCAN_ERRORS = "ami_monitor_scan_errors"
BUSINESS_METRICS = (
    EMAILS_SENT,
    EMAILS_BOUNCED,
    EMAILS_RETRIED,
    CANDIDATURES,
    ACTIVITIES_RETRYING_OVER_HOUR,
    WORKFLOW_TASKS_FAILING,
    STUCK_CANDIDATURES,
    TIMERS_NEXT_24H,
    EMAILS_PENDING_OVER_HOUR,
    SCAN_ERRORS,
)


@cache
def prometheus_runtime(address: str) -> Runtime:
    """A runtime exporting every metric on `address` (host:port). Counters get no `_total` suffix and
    durations are in seconds, as the dashboard (deploy/grafana) expects."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=address, durations_as_seconds=True),
            global_tags={"service": "ami-worker"},
        )
    )


def runtime_for(metrics_address: str) -> Runtime | None:
    return prometheus_runtime(metrics_address) if metrics_address else None


def meter_of(runtime: Runtime | None) -> MetricMeter:
    return runtime.metric_meter if runtime is not None else MetricMeter.noop
