"""The worker's document processes: PDFs rendered outside the worker's process, so that its workflow
tasks never wait behind a document for the GIL (docs/performance.md, "Under load").

A PDF costs tens of milliseconds of pure Python (fpdf2's line breaking), and a thread rendering it
holds the GIL that the workflow tasks, the activities and the SDK's own callbacks of the worker
need: under load the SDK's deadlock detector fired on the campaign workflow. In a process of its own
a document shares nothing with the worker but the machine's cores.

`processes=0` renders in a thread of the current process, as before. Otherwise a process pool of
that size is started (`spawn`: the worker process runs the Temporal core's threads, which `fork`
must not copy), each process imports the renderers and parses the usual fonts once, and renders
and stores each document (`render_to_store`), returning only the file's path and SHA-256. A
process that dies (killed, out of memory) breaks the whole pool: every render in flight fails with
`RenderProcessLost`, a retryable error, and the next render starts a new pool. An error of the
document itself (a bad input) comes back as the same exception as in a thread. A process whose
worker is gone exits within a second.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from pydantic import BaseModel

from ami.infra.documents.render import render_to_store, warm_up
from ami.models.values import DocumentKind

START_METHOD = "spawn"


class RenderProcessLost(RuntimeError):
    """A document process died while the document was rendering or waiting: render it again."""

    def __init__(self) -> None:
        super().__init__("Le processus de rendu des documents s'est arrêté avant la fin : le document sera refait.")


class RenderError(RuntimeError):
    """An error of a document whose own exception could not cross back from the document process."""


def _render_in_child(kind: DocumentKind, data: BaseModel, demo: bool, data_dir: Path) -> tuple[str, str]:
    """`render_to_store` in a pool process. Its exception travels back pickled: one that would not
    unpickle would break the pool, so it is replaced by a `RenderError` saying what it was."""
    try:
        return render_to_store(kind, data, demo, data_dir)
    except Exception as error:
        try:
            pickle.loads(pickle.dumps(error))
        except Exception:  # noqa: BLE001 - any failure to round-trip
            raise RenderError(f"{type(error).__name__}: {error}") from None
        raise


def _start_child(parent: int) -> None:
    """A pool process's start: parse the fonts, and leave as soon as the worker is gone. A worker
    killed outright (SIGKILL, the OOM killer) never tells its processes, which would otherwise wait
    for work forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="ami-parent-watch", daemon=True).start()
    warm_up()


def _ready() -> None:
    """A no-op task: submitted once per process at start, so that every process starts (and warms up) now."""


class DocumentPool:
    """Where `make_document` renders: `processes` processes, or a thread of this process when 0."""

    def __init__(self, processes: int) -> None:
        if processes < 0:
            raise ValueError("processes must be >= 0")
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.started = 0  # pools started so far: 1, plus one per pool lost

    def start(self) -> None:
        """Start the processes now (each imports the renderers and parses the fonts in the
        background) instead of at the first document. Nothing to do with 0 processes."""
        if self.processes:
            self._current()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context(START_METHOD)
                self._executor = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_start_child, initargs=(os.getpid(),))
                self.started += 1
                for _ in range(self.processes):  # one per process: an idle pool spawns on demand
                    self._executor.submit(_ready)
            return self._executor

    def _drop(self, broken: ProcessPoolExecutor) -> None:
        """Forget a broken pool (its processes are gone or going); the next render starts a new one."""
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    async def render(self, kind: DocumentKind, data: BaseModel, *, demo: bool, data_dir: Path) -> tuple[str, str]:
        """Render and store the document: (its path, its SHA-256). `RenderProcessLost` if the
        process rendering it died; the document's own errors as they are."""
        if not self.processes:
            return await asyncio.to_thread(render_to_store, kind, data, demo, data_dir)
        executor = self._current()
        try:
            future: Future[tuple[str, str]] = executor.submit(_render_in_child, kind, data, demo, data_dir)
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as error:
            self._drop(executor)
            self.start()  # warm again before the retry comes
            raise RenderProcessLost() from error

    def pids(self) -> list[int]:
        """The process ids of the running pool (for the tests and a diagnosis); none with 0 processes."""
        with self._lock:
            executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return sorted(processes)

    def shutdown(self) -> None:
        """Stop the processes once their current document is done; a render after this starts a new pool."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
