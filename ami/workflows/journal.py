"""The audit journal written from the workflows: a candidature's transitions and facts (attendance,
feedback, experiment), and the campaign's jury scores and conflicts, one store row each.

Since the patch `journal-local-activities` these rows are written by **local activities**: run by
the worker inside the workflow task that asks for them, they leave one `MARKER_RECORDED` event in
the history (a regular activity leaves three, wakes the workflow for one more task and goes through
the server's task queue), and Temporal Cloud bills all the local activities of one workflow task as
one action. A journal write qualifies: it is short, needs no heartbeat, and the store inserts each
row once by its key (`ami/infra/store.py`), so a local activity run twice (its workflow task failed
after it ran and before its marker was recorded) adds nothing.

One patch id for both workflows: it is one change, replayed the same way in each, and deprecated at
once when the last campaign started before it has ended (a campaign outlives its candidatures).
Histories recorded before it (no marker) replay the regular activities; a workflow that had already
passed its first journal write when the new code was deployed keeps them for the rest of its run
(`workflow.patched` answers once per run).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ami.activities.records import RecordActivities
    from ami.activities.timeouts import DEFAULT_RETRY, JOURNAL_LOCAL_RETRY_THRESHOLD, JOURNAL_RETRY, RECORD_TIMEOUT

_Row = TypeVar("_Row")


async def write_journal(activity: Callable[[RecordActivities, _Row], Awaitable[bool]], row: _Row, summary: str) -> None:
    """Write one journal row (`RecordActivities.record_transition` or `record_fact`)."""
    if workflow.patched("journal-local-activities"):
        await workflow.execute_local_activity_method(
            activity,
            row,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=JOURNAL_RETRY,
            local_retry_threshold=JOURNAL_LOCAL_RETRY_THRESHOLD,
            summary=summary,
        )
    else:
        await workflow.execute_activity_method(
            activity,
            row,
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=DEFAULT_RETRY,
            summary=summary,
        )
