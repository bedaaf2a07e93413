"""The coordinators of a chaos run: a whole campaign driven through `Coordination`, on a compressed
calendar, by a client that retries what the faults interrupt (as a real client would).

The driver writes down what was accepted (confirmations, withdrawals, the candidature terminated from
outside), from which `expected_state` derives the final state each candidature must reach.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from ami.app.examples import example
from ami.app.ops import Coordination, Refused
from ami.models.campaign_messages import SubmitInput, SubmitResult
from ami.models.campaign_plan import CampaignPlan, TimeMap
from ami.models.candidature import CandidatureFile
from ami.models.values import Decision
from ami.workflows.campaign import CampaignWorkflow
from chaos.cluster import FaultLog

T = TypeVar("T")
PARIS = ZoneInfo("Europe/Paris")
TERMINATE_REASON = "chaos : candidature terminée de l'extérieur"
# What a server that is restarting or overloaded answers; anything else is the workflow's answer.
TRANSIENT = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.CANCELLED}
RETRYABLE = (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, asyncio.TimeoutError, RuntimeError)


def published(month: int, day: int, hour: int = 10, year: int = 2024) -> datetime:
    return datetime(year, month, day, hour, tzinfo=PARIS)


@dataclass
class Driver:
    client: Client
    plan: CampaignPlan
    faults: FaultLog
    forms: list[CandidatureFile]
    coord: Coordination = field(init=False)
    keys: list[str] = field(default_factory=list)  # every submitted collectivité
    never_corrected: set[str] = field(default_factory=set)
    confirmed: set[str] = field(default_factory=set)
    withdrawn: set[str] = field(default_factory=set)
    terminated: set[str] = field(default_factory=set)  # workflow ids terminated by the suite
    decisions: dict[str, Decision] = field(default_factory=dict)
    promoted: set[str] = field(default_factory=set)
    scored: set[str] = field(default_factory=set)
    retried_calls: int = 0
    repeat_results: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.coord = Coordination(self.client, self.plan.id)

    @property
    def time_map(self) -> TimeMap:
        assert self.plan.time_map is not None
        return self.plan.time_map

    async def at(self, instant: datetime) -> None:
        """Wait for the compressed instant of a published date (at once if the run is behind)."""
        delay = (self.time_map.to_plan(instant) - datetime.now(UTC)).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)

    async def call(self, what: str, action: Callable[[], Awaitable[T]], limit: float = 300.0) -> T | None:
        """Run `action`, retrying while the server is unreachable. A refusal on a retry means the lost
        attempt had landed (the workflow refuses the second one): returns None."""
        end, attempt = time.monotonic() + limit, 0
        while True:
            attempt += 1
            try:
                try:
                    return await action()
                except RPCError as error:
                    if error.status in TRANSIENT:
                        raise
                    # « workflow execution already completed »: the workflow has moved on, a refusal.
                    raise Refused(error.message) from None
            except Refused:
                if attempt == 1:
                    raise
                self.faults.log("client_refused_after_retry", what=what)
                return None
            except RETRYABLE as error:
                if time.monotonic() > end:
                    raise
                self.retried_calls += 1
                if attempt == 1:
                    self.faults.log("client_retry", what=what, error=type(error).__name__, detail=str(error)[:120])
                await asyncio.sleep(1.0)

    async def refusable(self, what: str, action: Callable[[], Awaitable[object]]) -> bool:
        """`call`, where a refusal is an answer to log, not an error of the run."""
        try:
            await self.call(what, action)
            return True
        except Refused as refusal:
            self.faults.log("refused", what=what, reason=str(refusal)[:100])
            return False

    async def state(self, key: str) -> str:
        status = await self.call("statut", lambda: self.coord.candidature_status(key))
        assert status is not None
        return status.state

    async def wait_states(self, keys: list[str], states: set[str], limit: float) -> dict[str, str]:
        end = time.monotonic() + limit
        while True:
            current = {k: await self.state(k) for k in keys}
            if all(s in states for s in current.values()) or time.monotonic() > end:
                return current
            await asyncio.sleep(1.0)

    # --- the call, the jury, the decisions ----------------------------------------------------------

    async def submissions(self) -> None:
        await self.at(published(7, 12))
        incomplete = example("07-laon-incomplet")
        lost = self.forms[-1].model_copy(update={"technical_referent": None})  # never completed
        self.never_corrected.add(lost.collectivite.identifier)
        batch = [*self.forms[:-2], incomplete, lost]
        for start in range(0, len(batch), 5):  # a few at once, as forms arrive (Temporal caps updates in flight)
            await asyncio.gather(*(self.call("dépôt", lambda f=f: self.coord.submit(f)) for f in batch[start : start + 5]))  # type: ignore[misc]
        self.keys.extend(f.collectivite.identifier for f in batch)
        # A retrying client: the same update (same id) sent twice must be applied once.
        repeat = SubmitInput(form=self.forms[-2])
        results = [
            await self.call(
                "dépôt répété", lambda: self.coord.campaign.execute_update(CampaignWorkflow.submit, repeat, id="chaos-repeat-submit")
            )
            for _ in range(2)
        ]
        self.keys.append(self.forms[-2].collectivite.identifier)
        same = results[0] == results[1] and isinstance(results[0], SubmitResult)
        self.faults.log("update_sent_twice", same_result=same)
        self.repeat_results.append(
            f"même mise à jour (même identifiant) envoyée deux fois : résultats {'identiques' if same else 'DIFFÉRENTS'}"
        )
        await self.score_eligible()
        await self.at(published(8, 20))
        if not await self.refusable("correction", lambda: self.coord.submit(example("07-laon"))):
            self.never_corrected.add(incomplete.collectivite.identifier)  # too late: closed at the deadline
        await self.score_eligible()

    async def campaign_states(self) -> dict[str, tuple[str, str]]:
        """key -> (receipt number, state), as the campaign knows them."""
        status = await self.call("statut de la campagne", self.coord.status)
        assert status is not None
        return {e.key: (e.receipt_number, e.state) for e in status.candidatures}

    async def settle(self, limit: float = 240) -> dict[str, tuple[str, str]]:
        """Wait until no candidature is still being checked (`submitted`)."""
        end = time.monotonic() + limit
        while True:
            states = await self.campaign_states()
            if all(state != "submitted" for _, state in states.values()) or time.monotonic() > end:
                return states
            await asyncio.sleep(1.0)

    async def score_eligible(self) -> None:
        """Two members score every eligible candidature not scored yet (the jury works as forms arrive)."""
        states = await self.settle()
        todo = sorted(receipt for receipt, state in states.values() if state == "eligibility_checked" and receipt not in self.scored)
        calls = []
        for receipt in todo:
            n = int(receipt.rsplit("-", 1)[-1])  # the receipt's order: the ranking is known in advance
            base = 5 if n <= self.plan.capacity else 4 if n <= self.plan.capacity + self.plan.waitlist_size else 2
            marks = {c.id: base for c in self.plan.criteria}
            calls += [(member, receipt, marks) for member in ("apes", "cress")]
        for start in range(0, len(calls), 8):  # Temporal caps the updates in flight on one workflow (10)
            await asyncio.gather(
                *(self.call("note", lambda m=m, r=r, k=k: self.coord.score(m, r, k)) for m, r, k in calls[start : start + 8])  # type: ignore[misc]
            )
        self.scored.update(todo)

    async def jury(self) -> None:
        await self.at(published(9, 9, 0))
        end = time.monotonic() + 240
        while time.monotonic() < end:  # the never-completed form is closed at the deadline
            states = await self.campaign_states()
            if all(state not in ("submitted", "ineligible") for _, state in states.values()):
                break
            await asyncio.sleep(1.0)
        await self.score_eligible()
        result = await self.call("délibération", self.coord.deliberate)
        assert result is not None
        by_receipt = {receipt: key for key, (receipt, _) in states.items()}
        self.decisions = {by_receipt[r.receipt_number]: r.decision for r in result.ranking}
        self.faults.log("deliberated", selected=sum(1 for d in self.decisions.values() if d is Decision.SELECTED))

    async def set_sessions(self) -> None:
        for session in self.plan.sessions:
            year, month = map(int, session.month.split("-"))
            when = self.time_map.to_plan(published(month, 15, 14, year))
            await self.call("date de séance", lambda n=session.number, w=when: self.coord.set_session(n, w, "Lille, Maison de l'ESS"))  # type: ignore[misc]

    def of(self, decision: Decision) -> list[str]:
        return [k for k, d in self.decisions.items() if d is decision]

    async def terminate_one(self) -> None:
        """A waitlisted candidature terminated from outside (the Web UI's button), once notified."""
        victim = self.of(Decision.WAITLISTED)[-1]
        await self.wait_states([victim], {"notified", "closed"}, 240)
        handle = self.coord.candidature(victim)
        await self.call("terminer", lambda: handle.terminate(reason=TERMINATE_REASON))
        self.terminated.add(handle.id)
        self.faults.log("candidature_terminated", workflow=handle.id)

    async def confirm(self, key: str, twice: bool = False) -> None:
        form = next(f for f in [*self.forms, example("07-laon")] if f.collectivite.identifier == key)
        assert form.political_referent and form.technical_referent
        political, technical = form.political_referent, form.technical_referent
        try:
            await self.call("confirmation", lambda: self.coord.confirm_binome(key, political, technical))
            self.confirmed.add(key)
        except Refused as refusal:
            self.faults.log("confirmation_refused", reason=str(refusal)[:80])
            return
        if twice:  # the same action repeated by a coordinator: refused, nothing changes
            try:
                await self.coord.confirm_binome(key, political, technical)
                self.repeat_results.append("confirmation répétée : acceptée deux fois")
            except (Refused, RPCError):
                self.repeat_results.append("confirmation répétée : la seconde refusée par le workflow")

    async def confirmations(self) -> None:
        """The last selected one withdraws as soon as its letter is out (a seat is freed before the
        first session, so the waitlist promotes), while the others confirm their binôme."""
        selected = self.of(Decision.SELECTED)
        quitter = selected[-1]
        await self.wait_states([quitter], {"notified", "closed"}, 300)
        if await self.refusable("retrait", lambda: self.coord.withdraw(quitter, "Calendrier électoral incompatible.")):
            self.withdrawn.add(quitter)
            self.faults.log("withdrawn", key_index=selected.index(quitter))
        await asyncio.gather(self.promotion(), *(self.confirm_when_notified(k, twice=(n == 0)) for n, k in enumerate(selected[:-1])))

    async def confirm_when_notified(self, key: str, twice: bool = False) -> None:
        await self.wait_states([key], {"notified", "closed"}, 300)
        await self.confirm(key, twice)

    async def promotion(self, limit: float = 180) -> None:
        """The first waitlisted one still running is promoted: it confirms as soon as it is."""
        end = time.monotonic() + limit
        while time.monotonic() < end and not self.promoted and self.withdrawn:
            for key in self.of(Decision.WAITLISTED):
                if self.coord.candidature(key).id in self.terminated:
                    continue
                status = await self.call("statut", lambda k=key: self.coord.candidature_status(k))  # type: ignore[misc]
                if status and any(t.trigger == "promote" for t in status.transitions):
                    self.promoted.add(key)
                    self.faults.log("promoted_seen")
                    await self.confirm(key)
            await asyncio.sleep(1.0)

    async def move_a_session(self) -> None:
        """Move the first session still more than ten published days away to the 25th of its month:
        every enrolled candidature gets a new invitation (the wave the relay outage hits)."""
        status = await self.call("statut de la campagne", self.coord.status)
        assert status is not None
        soon = self.time_map.to_plan(self.time_map.to_published(datetime.now(UTC)) + timedelta(days=10))
        later = [s for s in sorted(status.sessions, key=lambda s: s.number) if s.starts_at > soon]
        if not later:
            return
        number, moved = later[0].number, self.time_map.to_plan(self.time_map.to_published(later[0].starts_at).replace(day=25))
        if await self.refusable("séance déplacée", lambda: self.coord.set_session(number, moved, "Arras, Citadelle")):
            self.faults.log("session_moved", session=number)

    async def attendance(self, number: int) -> int:
        status = await self.call("statut de la campagne", self.coord.status)
        assert status is not None
        session = next(s for s in status.sessions if s.number == number)
        await asyncio.sleep(max(0.0, (session.ends_at + (session.ends_at - session.starts_at) - datetime.now(UTC)).total_seconds()))
        enrolled = [k for k in self.confirmed - self.withdrawn]
        await asyncio.gather(
            *(self.refusable("présence", lambda k=k: self.coord.record_attendance(k, number, True, True)) for k in enrolled)  # type: ignore[misc]
        )
        return len(enrolled)

    # --- what each candidature must end as ---------------------------------------------------------

    def expected_states(self, key: str, full: bool) -> set[str]:
        if self.coord.candidature(key).id in self.terminated:
            return {"TERMINATED"}
        if key in self.never_corrected:
            return {"closed"}
        decision = self.decisions.get(key)
        if decision is Decision.NOT_SELECTED or key in self.withdrawn:
            return {"closed"}
        if not full:
            # Decisions only: a waitlisted one is closed when the first session starts, which a run
            # slowed down by a busy machine may reach before its checks.
            return {"notified", "closed"} if decision is Decision.WAITLISTED else {"notified"}
        if key in self.confirmed:
            return {"capitalised"}
        return {"closed"}  # waitlisted never promoted, or unconfirmed
