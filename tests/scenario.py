"""Helpers for lifecycle scenarios on the time-skipping server."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from ami.ops import Coordination, start_campaign
from ami.settings import Settings
from models.campaign import load_campaign
from models.campaign_plan import CampaignPlan
from models.candidature import CandidatureFile, Person

FULL_MARKS = {"motivation": 5, "binome": 5, "posture": 4, "adaptabilite": 4, "numerique": 4, "apport": 4}


def plan_starting(now: datetime, **changes: object) -> CampaignPlan:
    """The real 2024 calendar, shifted so that the call opens one hour after `now` (not compressed)."""
    plan = load_campaign("ami-2024").plan()
    shifted = plan.compressed(now + timedelta(hours=1), 1.0)
    return shifted.model_copy(update=changes) if changes else shifted


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    remaining = instant - await env.get_current_time()
    if remaining > timedelta(0):
        await env.sleep(remaining)


def marks(base: int) -> dict[str, int]:
    return {k: max(0, min(5, base)) for k in FULL_MARKS}


def binome(form: CandidatureFile) -> tuple[Person, Person]:
    assert form.political_referent and form.technical_referent
    return form.political_referent, form.technical_referent


async def score_all(coord: Coordination, receipts: Iterable[str], members: Iterable[str], base: dict[str, int]) -> None:
    for receipt in receipts:
        for member in members:
            await coord.score(member, receipt, marks(base.get(receipt, 3)))


__all__ = ["Coordination", "Settings", "plan_starting", "skip_to", "start_campaign", "score_all", "binome", "marks"]
