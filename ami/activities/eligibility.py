"""The eligibility check: the same pure function as `ami check`, run where the register is loaded."""

from __future__ import annotations

import asyncio

from temporalio import activity

from ami.domain.eligibility import assess
from ami.models.activity_payloads import CheckEligibilityInput
from ami.models.values import Verdict


@activity.defn
async def check_eligibility(input: CheckEligibilityInput) -> Verdict:
    # The first call loads the register from disk: keep it off the event loop.
    return await asyncio.to_thread(assess, input.form, input.received_at, input.rules)
