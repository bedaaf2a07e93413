"""Connecting to Temporal with the pydantic data converter, encrypted when keys are configured (ami.infra.codec).

Where to connect, and how (TLS, mTLS, API key, namespace), is resolved by `ami.infra.connection` from the
Temporal environment configuration (TOML profiles, `TEMPORAL_*` variables) with `AMI_TEMPORAL_ADDRESS`
and `AMI_TEMPORAL_NAMESPACE` as overrides. The worker, every command and the portal call `connect`.
"""

from __future__ import annotations

from functools import cache

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from ami.infra.codec import data_converter, warn_if_plaintext
from ami.infra.codec import data_converter as build_data_converter  # `connect`'s parameter shadows the name
from ami.infra.connection import ConnectionConfigError, Target, resolve
from ami.infra.settings import Settings, get_settings
from ami.infra.tracing import tracing_interceptors

# `data_converter` is re-exported: ami.app.replay builds its Replayer with the converter found here.
__all__ = ["ConnectionConfigError", "connect", "data_converter", "describe_target"]


async def connect(
    settings: Settings | None = None,
    address: str | None = None,
    data_converter: DataConverter | None = None,
    runtime: Runtime | None = None,
) -> Client:
    """Raises `ConnectionConfigError` for a bad profile (exit 2) and `RuntimeError` when the server
    cannot be reached (exit 4). `runtime` carries the worker's metrics (ami.infra.telemetry); with
    AMI_OTEL_ENDPOINT, the client (and its workers) trace to it (ami.infra.tracing)."""
    settings = settings or get_settings()
    target = resolve(settings)
    if data_converter is None:
        _warn_once()
    return await Client.connect(
        address or target.address,
        namespace=target.namespace,
        tls=target.tls,
        api_key=target.api_key,
        rpc_metadata=target.rpc_metadata,
        data_converter=data_converter or build_data_converter(),
        runtime=runtime,
        interceptors=tracing_interceptors(settings.otel_endpoint),
    )


def describe_target(settings: Settings | None = None) -> str:
    """Where `connect` goes, in French, for messages (never a secret)."""
    settings = settings or get_settings()
    try:
        target: Target = resolve(settings)
    except ConnectionConfigError:
        return settings.temporal_address
    return target.describe()


@cache
def _warn_once() -> None:
    # Every command connects: say it once per process, in `ami worker` above all.
    warn_if_plaintext()
