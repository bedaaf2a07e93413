"""Deliberation: rank by weighted mean, ties by earlier receipt, fill capacity then waitlist.

Pure and deterministic, so the campaign workflow can run it and the tests can check it alone.
"""

from __future__ import annotations

from datetime import datetime

from ami.models.campaign_messages import Override, RankedCandidature
from ami.models.values import Decision


def weighted_mean(scores: dict[str, int], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(weights[c] * scores[c] for c in weights) / total


def candidature_score(reviews: dict[str, dict[str, int]], weights: dict[str, float]) -> float | None:
    """Mean over the reviewing members of each member's weighted mean; None without reviews."""
    if not reviews:
        return None
    # Rounded: four decimals tell every ranking apart that a person could, and keep the campaign's state small.
    return round(sum(weighted_mean(s, weights) for s in reviews.values()) / len(reviews), 4)


def rank(
    received: dict[str, datetime],
    reviews: dict[str, dict[str, dict[str, int]]],
    weights: dict[str, float],
    capacity: int,
    waitlist_size: int,
    overrides: list[Override],
) -> list[RankedCandidature]:
    """`received`: receipt number -> receipt instant of every eligible candidature.

    Overridden candidatures keep the decision the coordinators wrote; the others fill the seats
    left, in rank order: `capacity` selected, then `waitlist_size` waitlisted, the rest not selected.
    """
    scored = {r: candidature_score(reviews.get(r, {}), weights) for r in received}
    order = sorted(received, key=lambda r: (-(scored[r] or 0.0), received[r], r))
    forced = {o.receipt_number: o.decision for o in overrides}
    seats = capacity - sum(1 for d in forced.values() if d is Decision.SELECTED)
    waits = waitlist_size - sum(1 for d in forced.values() if d is Decision.WAITLISTED)
    result: list[RankedCandidature] = []
    for position, receipt in enumerate(order, start=1):
        if receipt in forced:
            decision = forced[receipt]
        elif seats > 0:
            decision, seats = Decision.SELECTED, seats - 1
        elif waits > 0:
            decision, waits = Decision.WAITLISTED, waits - 1
        else:
            decision = Decision.NOT_SELECTED
        result.append(
            RankedCandidature(receipt_number=receipt, score=scored[receipt], rank=position, decision=decision, overridden=receipt in forced)
        )
    waiting = [r for r in result if r.decision is Decision.WAITLISTED]
    for index, entry in enumerate(waiting, start=1):
        entry.waitlist_position = index
    return result
