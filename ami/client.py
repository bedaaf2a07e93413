"""Connecting to Temporal with the pydantic data converter, encrypted when keys are configured (ami.codec)."""

from __future__ import annotations

from functools import cache

from temporalio.client import Client
from temporalio.converter import DataConverter

from ami.codec import data_converter, warn_if_plaintext
from ami.codec import data_converter as build_data_converter  # `connect`'s parameter shadows the name
from ami.settings import Settings, get_settings

# `data_converter` is re-exported: ami.replay builds its Replayer with the converter found here.
__all__ = ["connect", "data_converter"]


async def connect(settings: Settings | None = None, address: str | None = None, data_converter: DataConverter | None = None) -> Client:
    settings = settings or get_settings()
    if data_converter is None:
        _warn_once()
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter or build_data_converter(),
    )


@cache
def _warn_once() -> None:
    # Every command connects: say it once per process, in `ami worker` above all.
    warn_if_plaintext()
