"""Heartbeats around an activity's slow step, so that a task lost with its worker is retried within
seconds (the heartbeat timeout), not at the end of its `start_to_close` timeout.

Outside an activity (a direct call in a test) the step simply runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from temporalio import activity

from ami.activities.timeouts import HEARTBEAT_EVERY

T = TypeVar("T")


async def heartbeating(step: Awaitable[T]) -> T:
    """Await `step`, heartbeating every `HEARTBEAT_EVERY` while it runs."""
    if not activity.in_activity():
        return await step
    task = asyncio.ensure_future(step)
    try:
        while True:
            activity.heartbeat()
            done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY.total_seconds())
            if done:
                return task.result()
    finally:
        # Cancelled (the server timed us out, the worker shuts down): the step goes with us.
        if not task.done():
            task.cancel()
