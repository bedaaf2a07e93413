"""Helpers for lifecycle scenarios on the time-skipping server: the moves of ami.app.scenario, shared
with `ami demo` and scripts/record_histories.py."""

from __future__ import annotations

from ami.app.scenario import FULL_MARKS, binome, marks, plan_starting, skip_to

__all__ = ["FULL_MARKS", "binome", "marks", "plan_starting", "skip_to"]
