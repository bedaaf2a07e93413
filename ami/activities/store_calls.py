"""Where the activities' store calls run: threads of their own, in two pools, not the event loop's default.

The store (SQLAlchemy over SQLite or PostgreSQL) blocks, so every call runs in a thread. Before,
they all went through `asyncio.to_thread`, the loop's default pool (6 threads on two cores), which
the journal's local activities shared with every email and document activity: a journal write, which
waits *inside a workflow task*, could queue behind the outbox's writes, and an activity awaiting its
store call outside a heartbeat could be taken for lost and run again, adding load. One region run
failed that way; the next sitting did not reproduce it, so this rests on what it guarantees
(tests/test_store_calls.py), not on a figure (docs/performance.md, "Third round").

- `journal_call`: the journal (`RecordActivities`), on `JOURNAL_THREADS` of its own. A workflow
  task that writes its journal never queues behind side effects.
- `store_call`: the side effects' store calls (outbox, documents, purge), on `STORE_THREADS`,
  heartbeating while they wait, so a wait on a busy store is never mistaken for a lost worker.

The sizes are small on purpose: SQLite admits one writer at a time, so more threads would only wait
for its lock; PostgreSQL would take more, but five at once is already more than a two-core worker
keeps busy.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from ami.activities.heartbeat import heartbeating

P = ParamSpec("P")
T = TypeVar("T")

JOURNAL_THREADS = 2
STORE_THREADS = 3

# One pair per process: threads start on first use and serve every worker of the process (the tests
# run many). An idle pool costs nothing; the interpreter joins them at exit.
_journal = ThreadPoolExecutor(max_workers=JOURNAL_THREADS, thread_name_prefix="ami-journal")
_store = ThreadPoolExecutor(max_workers=STORE_THREADS, thread_name_prefix="ami-store")


def _run_on(pool: ThreadPoolExecutor, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
    """`fn(*args, **kwargs)` on `pool`, in a copy of the caller's context (the activity's, the
    trace's), as `asyncio.to_thread` runs it."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return asyncio.get_running_loop().run_in_executor(pool, call)


async def journal_call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the journal's threads (a local activity: no heartbeat)."""
    return await _run_on(_journal, fn, *args, **kwargs)


async def store_call(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the side effects' store threads, heartbeating while it waits."""
    return await heartbeating(_run_on(_store, fn, *args, **kwargs))
