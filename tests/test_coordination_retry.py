"""`Coordination` retries a campaign update that the server did not apply (the campaign was renewing
its history, its workflow task failed, or the run was closing), with one update id, and gives up
on a real refusal at once."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from ami.app import ops
from ami.app.ops import Coordination


class FlakyHandle:
    def __init__(self, failures: list[RPCError]) -> None:
        self.failures = failures
        self.ids: list[str] = []

    async def execute_update(self, update: Any, arg: Any, *, id: str) -> str:
        self.ids.append(id)
        if self.failures:
            raise self.failures.pop(0)
        return "appliquée"


class FakeClient:
    def __init__(self, handle: FlakyHandle) -> None:
        self.handle = handle

    def get_workflow_handle_for(self, *args: Any, **kwargs: Any) -> FlakyHandle:
        return self.handle


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_: float) -> None:
        return None

    monkeypatch.setattr(ops.asyncio, "sleep", instant)


async def test_transient_errors_are_retried_with_one_update_id() -> None:
    handle = FlakyHandle(
        [
            RPCError("workflow operation can not be applied because workflow is closing", RPCStatusCode.RESOURCE_EXHAUSTED, b""),
            RPCError("workflow update was aborted", RPCStatusCode.UNAVAILABLE, b""),
            RPCError("workflow task failed", RPCStatusCode.FAILED_PRECONDITION, b""),
        ]
    )
    coord = Coordination(FakeClient(handle), "c")  # type: ignore[arg-type]
    assert await coord._campaign_update(object(), None) == "appliquée"
    assert len(handle.ids) == 4 and len(set(handle.ids)) == 1


async def test_other_rpc_errors_are_not_retried() -> None:
    handle = FlakyHandle([RPCError("not found", RPCStatusCode.NOT_FOUND, b"")])
    coord = Coordination(FakeClient(handle), "c")  # type: ignore[arg-type]
    with pytest.raises(RPCError):
        await coord._campaign_update(object(), None)
    assert len(handle.ids) == 1
