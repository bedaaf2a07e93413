"""The bare floors with the campaign's messages: what Temporal alone costs for the region's traffic.

The region's floor (`BaselineWorkflow`) has as many workflows, activities, local activities and
timers as the engine, and nothing else. The engine also passes messages: every submission is an
update of the campaign, which starts the candidature as its child; every score is an update with
its comment, journaled before it answers; each candidature reports to the campaign by signal; the
campaign sends each decision by signal, fifty at a time, and the candidature waits for the response
date before its letter. `BareCampaign` and `BareCandidature` pass the same messages, with payloads of
the same size (the form as plain JSON, the same comment), and wait as long. Their activities are
empty (the floor with messages), or do the engine's work plainly (the floor with side effects,
bench/baseline_effects.py). The bare campaign continues as new where the engine's does.

They leave out the search attributes and the summaries the Web UI shows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from bench.baseline import steps

BATCH = 50  # decisions signalled at once, as the engine's campaign does
REPORT, SENT, DONE = "verdict", "sent", "done"  # the verdict, the decision's email sent, the end


@dataclass
class BareShape:
    """A candidature's count of activities, local activities and timers; with `effects`, its first
    `documents` and `emails` activities (split between its two halves) and every local activity do
    their work plainly (bench/baseline_effects.py), the rest stay empty."""

    activities: int
    local_activities: int
    timers: int
    effects: bool = False
    emails: int = 0
    documents: int = 0
    updates_per_run: int = 1_500  # the bare campaign's updates before it continues as new, as the engine's

    def work(self, first: bool) -> list[str]:
        """The documents and emails of the first half (`first`) or of the second, by activity name:
        the engine's summary and first emails before its verdict, its letter and email after its decision."""
        documents, emails = (self.documents + 1) // 2, (self.emails + 1) // 2
        if not first:
            documents, emails = self.documents - documents, self.emails - emails
        return ["plain_summary" if first else "plain_letter"] * documents + ["plain_email"] * emails

    def kinds(self, first: bool) -> list[str]:
        """The activities of a half by name: its work with `effects`, else none (all empty)."""
        return self.work(first) if self.effects else []

    def check(self) -> None:
        """Each half has room for its documents and emails."""
        first = (self.activities + 1) // 2
        for part, room in ((True, first), (False, self.activities - first)):
            if len(self.kinds(part)) > room:
                raise ValueError(f"{self.documents} documents and {self.emails} emails do not fit in {self.activities} activities")


@workflow.defn(sandboxed=True)
class BareCandidature:
    """Half its steps, a report to the campaign, the decision awaited, then, as the engine's, its first
    timer until the response date the decision came with (if any), the other half with a report once
    its emails are sent, its other timers, a last report."""

    def __init__(self) -> None:
        self._decided = False
        self._respond_at = 0.0  # seconds since the epoch; 0: no response date

    @workflow.run
    async def run(self, shape: BareShape, campaign: str, key: str) -> int:
        parent = workflow.get_external_workflow_handle(campaign)
        first, first_local = (shape.activities + 1) // 2, (shape.local_activities + 1) // 2
        local = "plain_journal" if shape.effects else "empty_activity"
        done = await steps(first, first_local, kinds=shape.kinds(True), local=local)
        await parent.signal("report", args=[key, REPORT])
        await workflow.wait_condition(lambda: self._decided)
        timers = shape.timers
        if self._respond_at and timers:  # the engine waits for the response date before its letter
            await workflow.sleep(max(0.001, self._respond_at - workflow.now().timestamp()))
            timers, done = timers - 1, done + 1
        # The second half up to its last email (the engine's decision email, where its clock stops), then the rest.
        rest, rest_local = shape.activities - first, shape.local_activities - first_local
        through = len(shape.work(False))
        done += await steps(through, min(through, rest_local), start=first, kinds=shape.kinds(False), local=local)
        await parent.signal("report", args=[key, SENT])
        done += await steps(rest - through, max(0, rest_local - through), start=first + through, local=local)
        for _ in range(timers):
            await workflow.sleep(timedelta(milliseconds=1))
            done += 1
        await parent.signal("report", args=[key, DONE])
        return done

    @workflow.signal
    def decide(self, points: int, respond_at: float = 0.0) -> None:
        self._decided, self._respond_at = True, respond_at


@dataclass
class BareCarried:
    """What a run of the bare campaign hands to the next one when it continues as new."""

    children: dict[str, str] = field(default_factory=dict)  # key -> the candidature's workflow id
    points: dict[str, int] = field(default_factory=dict)
    reported: dict[str, list[str]] = field(default_factory=lambda: {REPORT: [], SENT: [], DONE: []})
    deliberated: bool = False
    respond_at: float = 0.0  # the response date the decisions carry (seconds since the epoch; 0: none)
    decided: list[str] = field(default_factory=list)
    scores: int = 0  # scores journaled so far: each one's row has its own number across runs


@workflow.defn(sandboxed=True)
class BareCampaign:
    """Numbers the submissions and starts their candidatures, keeps the scores, sends the decisions
    once deliberated, and ends when every candidature has reported its end. It continues as new
    where the engine's campaign does (8,000 events or 1,500 updates): one history for a thousand
    candidatures grows past what a worker rebuilds within a workflow task's timeout."""

    @workflow.init
    def __init__(self, shape: BareShape, carried: BareCarried | None = None) -> None:
        self._shape = shape
        self._state = carried or BareCarried()
        self._reported = {what: set(keys) for what, keys in self._state.reported.items()}
        self._updates = 0

    @workflow.run
    async def run(self, shape: BareShape, carried: BareCarried | None = None) -> int:
        await self._until(lambda: self._state.deliberated)
        while len(self._state.decided) < len(self._state.children):
            done = set(self._state.decided)
            batch = [k for k in self._state.children if k not in done][:BATCH]
            await asyncio.gather(
                *(
                    workflow.get_external_workflow_handle(self._state.children[k]).signal(
                        "decide", args=[self._state.points.get(k, 0), self._state.respond_at]
                    )
                    for k in batch
                )
            )
            self._state.decided.extend(batch)
            if self._long():
                await self._continue()
        await self._until(lambda: len(self._reported[DONE]) == len(self._state.children))
        return len(self._state.children)

    async def _until(self, condition: Callable[[], bool]) -> None:
        while True:
            await workflow.wait_condition(lambda: condition() or self._long())
            if condition():
                return
            await self._continue()

    def _long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= 8_000
            or self._updates >= self._shape.updates_per_run
        )

    async def _continue(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._state.reported = {what: sorted(keys) for what, keys in self._reported.items()}
        workflow.continue_as_new(args=[self._shape, self._state])

    @workflow.update
    async def submit(self, key: str, form: dict[str, Any]) -> int:
        self._updates += 1
        if key in self._state.children:  # the same key twice: one candidature, as the engine refuses a duplicate
            return len(self._state.children)
        child = f"{workflow.info().workflow_id}-{key}"
        await workflow.start_child_workflow(
            BareCandidature.run,
            args=[self._shape, workflow.info().workflow_id, key],
            id=child,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        self._state.children[key] = child  # only once started: a failed start leaves no candidature to wait for
        return len(self._state.children)

    @workflow.update
    async def score(self, key: str, member: str, marks: dict[str, int], comment: str | None) -> None:
        """The marks kept, after a journal row (the engine records each review before it answers)."""
        self._updates += 1
        self._state.scores += 1
        local = "plain_journal" if self._shape.effects else "empty_activity"
        await workflow.execute_local_activity(local, self._state.scores, start_to_close_timeout=timedelta(seconds=30))
        self._state.points[key] = self._state.points.get(key, 0) + sum(marks.values())

    @workflow.update
    def deliberate(self, respond_at: float = 0.0) -> int:
        self._updates += 1
        self._state.deliberated, self._state.respond_at = True, respond_at
        return len(self._state.children)

    @workflow.signal
    def report(self, key: str, what: str) -> None:
        self._reported[what].add(key)

    @workflow.query
    def reported(self, what: str) -> int:
        return len(self._reported[what])


async def floor_with_messages(
    client: Client,
    task_queue: str,
    forms: list[dict[str, Any]],
    marks: list[tuple[str, str, dict[str, int], str | None]],
    shape: BareShape,
    concurrency: int,
    workflow_id: str,
    response_after: float = 0.0,
) -> dict[str, Any]:
    """The region's messages on the bare workflows: `forms` submitted (key, form) and `marks` scored
    (key, member, marks, comment), each `concurrency` at a time as the engine's bench sends them;
    work = first submission to last verdict reported, plus first score to the last decision's email
    sent (where the engine's clock stops too); the candidatures' ends are awaited, not timed.

    The decisions carry a response date `response_after` seconds after the first score, as the
    engine's carry its plan's, counted from the deadline where its scores begin: each candidature
    waits for it before the rest of its work, as the engine's does before its letter."""
    from bench.common import bounded

    shape.check()
    # Every argument given, `carried` too: the SDK converts a workflow's arguments to their types only
    # when it receives as many as the run method declares; with `carried` left to its default, the
    # shape would arrive as a dict (`_convert_payloads` in temporalio/worker/_workflow_instance.py).
    handle = await client.start_workflow(BareCampaign.run, args=[shape, None], id=workflow_id, task_queue=task_queue)
    t0 = time.monotonic()
    submitted = await bounded(concurrency, [partial(handle.execute_update, BareCampaign.submit, args=[f["key"], f]) for f in forms])
    started = sum(1 for r in submitted if not isinstance(r, BaseException))
    await _reported(handle, REPORT, started)
    t_verdicts = time.monotonic()
    respond_at = time.time() + response_after if response_after else 0.0
    scored = await bounded(concurrency, [partial(handle.execute_update, BareCampaign.score, args=list(m)) for m in marks])
    await handle.execute_update(BareCampaign.deliberate, respond_at)
    await _reported(handle, SENT, started)
    t_end = time.monotonic()
    ended = await asyncio.wait_for(handle.result(), 900)
    failures = [r for r in [*submitted, *scored] if isinstance(r, BaseException)]
    return {
        "workflows": len(forms) + 1,
        "submissions": len(forms),
        "scores": len(marks),
        "ended": ended,
        "failed": len(failures),
        "first_failure": repr(failures[0])[:300] if failures else None,
        "to_last_verdict_s": round(t_verdicts - t0, 2),
        "scores_to_last_decision_s": round(t_end - t_verdicts, 2),
        "work_s": round(t_end - t0, 2),
    }


async def _reported(handle: Any, what: str, count: int, limit: float = 900) -> None:
    """Until `count` candidatures have reported `what` to the bare campaign, for at most `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        try:  # a query waits for a workflow task slot: on a busy worker it may time out, and is asked again
            if await handle.query(BareCampaign.reported, what) >= count:
                return
        except RPCError as error:
            if error.status is not RPCStatusCode.DEADLINE_EXCEEDED and "Timeout expired" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bare candidatures did not all report {what!r} within {limit:.0f} s")
        await asyncio.sleep(0.2)
