"""Optional OpenTelemetry tracing: spans for every workflow start, update, query, workflow
and activity run, through the SDK's `TracingInterceptor`, exported by OTLP/HTTP to
`AMI_OTEL_ENDPOINT` (for example `http://otel-collector:4318/v1/traces`).

Off by default. The OpenTelemetry packages are an extra: `pip install 'ami[otel]'`. Span names and
attributes are the SDK's: workflow types, ids and activity types; never a payload (they stay
encrypted), so no personal data leaves.
"""

from __future__ import annotations

from functools import cache
from typing import Any

SERVICE_NAME = "ami-worker"


class TracingUnavailableError(ValueError):
    """AMI_OTEL_ENDPOINT is set but OpenTelemetry is not installed (French message)."""


@cache
def _provider(endpoint: str) -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise TracingUnavailableError(
            "AMI_OTEL_ENDPOINT est défini mais OpenTelemetry n'est pas installé : pip install 'ami[otel]'."
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def tracing_interceptors(endpoint: str) -> list[Any]:
    """[] when `endpoint` is empty; else the SDK's tracing interceptor, for the client (and, through
    it, every worker built on that client)."""
    if not endpoint:
        return []
    tracer = _provider(endpoint).get_tracer("ami")
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(tracer)]


def flush(endpoint: str, timeout_millis: int = 5000) -> bool:
    """Export what is buffered (the tests; a worker exports in the background)."""
    if not endpoint:
        return True
    return bool(_provider(endpoint).force_flush(timeout_millis))
