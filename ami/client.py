"""Connecting to Temporal with the pydantic data converter, as the worker and replayer do."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from ami.settings import Settings, get_settings


async def connect(settings: Settings | None = None, address: str | None = None) -> Client:
    settings = settings or get_settings()
    return await Client.connect(
        address or settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
