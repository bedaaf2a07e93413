"""A coordinator's command that the Temporal server refuses (a campaign that does not exist or has
ended, a busy campaign that does not answer in time) exits with a French reason, never a traceback."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from ami.app.cli import cmd_coordination
from ami.app.cli.common import EXIT_REFUSED, EXIT_UNAVAILABLE


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (RPCStatusCode.NOT_FOUND, EXIT_REFUSED, "Introuvable"),
        (RPCStatusCode.DEADLINE_EXCEEDED, EXIT_UNAVAILABLE, "réessayez"),
        (RPCStatusCode.CANCELLED, EXIT_UNAVAILABLE, "réessayez"),
        (RPCStatusCode.PERMISSION_DENIED, EXIT_REFUSED, "PERMISSION_DENIED"),
    ],
)
def test_a_server_refusal_is_said_in_french(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], status: RPCStatusCode, code: int, words: str
) -> None:
    async def connected() -> object:
        return object()

    async def refused(coord: Any, args: argparse.Namespace) -> int:
        raise RPCError("workflow execution already completed", status, b"")

    monkeypatch.setattr(cmd_coordination, "client_or_exit_code", connected)
    monkeypatch.setattr(cmd_coordination, "Coordination", lambda client, campaign: None)
    assert cmd_coordination._action(refused)(argparse.Namespace(campaign="ami-2024")) == code
    printed = capsys.readouterr()
    assert words in printed.err and "Traceback" not in printed.err + printed.out
