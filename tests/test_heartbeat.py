"""A slow step of an activity heartbeats while it runs, so that a task lost with its worker
is retried after the heartbeat timeout (seconds), not at the end of its start_to_close timeout."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.testing import ActivityEnvironment

from ami.activities.heartbeat import heartbeating
from ami.activities.timeouts import DOCUMENT_HEARTBEAT, DOCUMENT_TIMEOUT, EMAIL_HEARTBEAT, EMAIL_TIMEOUT, HEARTBEAT_EVERY


async def test_a_slow_step_heartbeats_until_it_ends() -> None:
    beats = 0
    enough = asyncio.Event()

    def on_heartbeat(*details: object) -> None:
        nonlocal beats
        beats += 1
        if beats >= 3:
            enough.set()

    async def step() -> str:
        await enough.wait()  # ends only once it has been seen alive three times
        return "fini"

    @activity.defn
    async def slow() -> str:
        return await heartbeating(step())

    env = ActivityEnvironment()
    env.on_heartbeat = on_heartbeat
    assert await asyncio.wait_for(env.run(slow), timeout=30) == "fini"
    assert beats >= 3


async def test_outside_an_activity_the_step_just_runs() -> None:
    async def step() -> int:
        return 42

    assert await heartbeating(step()) == 42


def test_heartbeats_come_well_within_their_timeouts() -> None:
    for heartbeat, whole in ((EMAIL_HEARTBEAT, EMAIL_TIMEOUT), (DOCUMENT_HEARTBEAT, DOCUMENT_TIMEOUT)):
        assert HEARTBEAT_EVERY * 3 <= heartbeat < whole
