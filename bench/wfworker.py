"""A workflow-only worker in its own process, so its RSS counts workflows and nothing else.

    python -m bench.wfworker ADDRESS TASK_QUEUE [MAX_CACHED_WORKFLOWS]

With the engine's worker options (`ami.worker.runner.workflow_options`); the cache size defaults to the setting.
The journal's writes are local activities: they run in the worker that runs the workflow task, so
this one registers them (the stand-ins of bench/stubs.py); every other activity runs elsewhere.

Prints "ready" once polling; runs until killed (SIGTERM).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def main(address: str, task_queue: str, cache: str | None) -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.worker import Worker

    from ami.infra.settings import Settings
    from ami.worker.runner import workflow_options
    from bench.stubs import journal_stubs

    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    options = workflow_options(Settings(max_cached_workflows=int(cache)) if cache else Settings())
    async with Worker(client, task_queue=task_queue, activities=journal_stubs(), **options):
        print("ready", flush=True)
        if os.environ.get("AMI_BENCH_TRIM"):  # diagnostic: is the memory kept freed, or still held?
            asyncio.get_running_loop().create_task(_trim_every_second())
        await stop.wait()


async def _trim_every_second() -> None:
    """Collect garbage and hand glibc's free heap pages back to the system, every second."""
    import ctypes
    import gc

    libc = ctypes.CDLL("libc.so.6")
    while True:
        gc.collect()
        libc.malloc_trim(0)
        await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
    # Skip the interpreter's finalization: the SDK's core threads may still hold thread states,
    # and tearing them down after SIGTERM aborts with "PyGILState_Release" (noise in the bench's log).
    sys.stdout.flush()
    os._exit(0)
