"""The bench's replay measuring devices (`bench/replay_parts.py`): the payloads the SDK visits in a
history, and a replay without the SDK's payload passes, which must leave the SDK as it found it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import temporalio.bridge.worker as bridge_worker
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import PayloadCodec
from temporalio.worker import Replayer

from ami.app.replay import default_workflows
from bench.replay_parts import payloads_visited, without_payload_passes

HISTORY = Path(__file__).parent / "histories" / "not-selected.json"


def _payloads_in_json(node: Any, under_search_attributes: bool = False) -> int:
    """The same count read another way: every JSON object with an encoding, outside search attributes."""
    if isinstance(node, list):
        return sum(_payloads_in_json(v, under_search_attributes) for v in node)
    if not isinstance(node, dict):
        return 0
    if isinstance(node.get("metadata"), dict) and "encoding" in node["metadata"]:
        return 0 if under_search_attributes else 1
    return sum(_payloads_in_json(v, under_search_attributes or k == "searchAttributes") for k, v in node.items())


def test_payloads_visited_counts_every_payload_but_search_attributes() -> None:
    raw = json.loads(HISTORY.read_text(encoding="utf-8"))
    history = WorkflowHistory.from_json("x", raw)
    expected = _payloads_in_json(raw["events"])
    assert expected > 40  # the saved history carries inputs, results, summaries and markers
    assert payloads_visited(history) == expected
    with_attributes = sum(1 for e in raw["events"] if "searchAttributes" in json.dumps(e))
    assert with_attributes > 0  # so the search attributes left out were really there


class _Codec(PayloadCodec):
    async def encode(self, payloads: Any) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Any) -> list[Payload]:
        return list(payloads)


def test_without_payload_passes_restores_the_sdk_and_refuses_a_codec() -> None:
    before = bridge_worker.decode_activation, bridge_worker.encode_completion
    with pytest.raises(RuntimeError), without_payload_passes(pydantic_data_converter):
        assert bridge_worker.decode_activation is not before[0]
        assert bridge_worker.encode_completion is not before[1]
        raise RuntimeError("cut in the middle")
    assert (bridge_worker.decode_activation, bridge_worker.encode_completion) == before
    with pytest.raises(ValueError), without_payload_passes(dataclasses.replace(pydantic_data_converter, payload_codec=_Codec())):
        pass
    assert (bridge_worker.decode_activation, bridge_worker.encode_completion) == before


async def test_a_replay_without_payload_passes_skips_them_and_still_replays(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = bridge_worker.decode_activation

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("decode")
        return await original(*args, **kwargs)

    monkeypatch.setattr(bridge_worker, "decode_activation", counted)
    history = WorkflowHistory.from_json("x", json.loads(HISTORY.read_text(encoding="utf-8")))
    replayer = Replayer(workflows=default_workflows(), data_converter=pydantic_data_converter)
    with without_payload_passes(pydantic_data_converter):
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
    assert calls == []  # the SDK's decoding pass never ran inside the block
    assert (await replayer.replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None
    assert calls  # and runs again after it
