"""Cluster administration: registering the custom search attributes (for a real cluster, `ami
search-attributes register`; the dev server gets them when it starts, ami.app.devserver)."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client

from ami.models import search_attributes as sa


async def register_search_attributes(client: Client, namespace: str = "default") -> list[str]:
    """Add the missing ones; returns the names added (none when all exist)."""
    existing = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    missing = [key.name for key in sa.ALL if key.name not in existing.custom_attributes]
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in sa.ALL if key.name in missing},
            )
        )
    return missing
