"""The moves a scripted campaign makes, shared by `ami demo`, scripts/record_histories.py and the
tests: a plan on the real calendar shifted to now, time moved on (skipped on the time-skipping
server, waited in real time on the dev server), jury marks, a candidature's binôme, a state awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from ami.app.ops import Coordination
from ami.models.campaign import load_campaign
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature import CandidatureFile, Person

FULL_MARKS = {"motivation": 5, "binome": 5, "posture": 4, "adaptabilite": 4, "numerique": 4, "apport": 4}


def plan_starting(now: datetime, **changes: object) -> CampaignPlan:
    """The real 2024 calendar, shifted so that the call opens one hour after `now` (not compressed)."""
    plan = load_campaign("ami-2024").plan()
    shifted = plan.compressed(now + timedelta(hours=1), 1.0)
    return shifted.model_copy(update=changes) if changes else shifted


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """On the time-skipping server: move its clock to `instant` (never back)."""
    remaining = instant - await env.get_current_time()
    if remaining > timedelta(0):
        await env.sleep(remaining)


async def sleep_until(instant: datetime) -> None:
    """In real time (a compressed calendar on the dev server): wait until `instant`."""
    await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))


def marks(base: int) -> dict[str, int]:
    """The same mark, 0 to 5, on every criterion."""
    return {k: max(0, min(5, base)) for k in FULL_MARKS}


def binome(form: CandidatureFile) -> tuple[Person, Person]:
    """The elected and the technical referents a candidature confirms as its binôme."""
    assert form.political_referent and form.technical_referent
    return form.political_referent, form.technical_referent


async def wait_state(coord: Coordination, key: str, states: Collection[str], limit: float = 30.0) -> str:
    """Activities take real time even when the calendar is compressed: poll the candidature until it
    is in one of `states`, or `limit` seconds have passed; its last state either way."""
    deadline = time.monotonic() + limit
    while True:
        state = str((await coord.candidature_status(key)).state)
        if state in states or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)
