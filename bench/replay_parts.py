"""What a replay spends on payloads: how many the SDK visits, and what its payload passes cost.

On every activation the Python SDK walks the activation's payloads three times to decode them, and
the completion's payloads three times to encode them (references, external storage, codec). In the
sandbox, each payload visited asks the workflow instance for its serialization context by running a
line of code inside the sandbox. With no codec and no external storage (the bench's converter), the
passes leave every byte as it is: what they cost is the SDK's plumbing alone, and
`without_payload_passes` measures a replay without it. A measuring device only: production never
runs with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import temporalio.bridge.worker as bridge_worker
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.converter._extstore import StorageOperationMetrics

# The SDK's visitors skip these (skip_search_attributes=True), so they are not counted.
_SKIPPED_FIELDS = frozenset({"search_attributes"})


def payloads_visited(history: WorkflowHistory) -> int:
    """Payloads in the history that the SDK's visitors pass over (search attributes left out)."""
    return sum(_count(event) for event in history.events)


def _count(message: Message) -> int:
    if isinstance(message, Payload):
        return 1
    total = 0
    for field, value in message.ListFields():
        if field.name in _SKIPPED_FIELDS or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            total += sum(_count(v) for v in value.values() if isinstance(v, Message))
        elif field.is_repeated:
            total += sum(_count(v) for v in value)
        else:
            total += _count(value)
    return total


@contextmanager
def without_payload_passes(converter: DataConverter) -> Iterator[None]:
    """The SDK's payload passes replaced by nothing, for a replay measured inside the block.

    Refused for a converter with a codec or external storage, whose passes change the bytes."""
    if converter.payload_codec is not None or converter.external_storage is not None:
        raise ValueError("payload passes change the bytes with a codec or external storage")
    saved = bridge_worker.decode_activation, bridge_worker.encode_completion

    async def nothing(*_args: Any, **_kwargs: Any) -> StorageOperationMetrics:
        return StorageOperationMetrics()

    bridge_worker.decode_activation = nothing
    bridge_worker.encode_completion = nothing
    try:
        yield
    finally:
        bridge_worker.decode_activation, bridge_worker.encode_completion = saved
