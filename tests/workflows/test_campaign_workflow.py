"""`CampaignWorkflow` alone: fake activities and stand-in candidatures (tests/workflows/stand_ins.py).
Each test checks which activities the campaign calls (its row, the jury's journal, the
coordinators' alerts, the campaign report) and which messages each candidature receives."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Refused
from ami.models.candidature_messages import CandidatureInput
from ami.models.lifecycle import State
from ami.models.values import Decision
from ami.workflows.candidature import candidature_workflow_id
from tests.journal_history import JOURNAL_PATCH, history_activities
from tests.scenario import marks
from tests.workflows.alone import Campaign, campaign_alone
from tests.workflows.protocol_harness import ELIGIBLE
from tests.workflows.stand_ins import CandidatureStandIn

STEMS = ELIGIBLE[:3]


async def _register(run: Campaign) -> list[str]:
    """Three forms an hour after the opening; returns their SIREN/INSEE keys, in submission order."""
    await run.at(run.plan.opens_at + timedelta(hours=1))
    keys = []
    for n, stem in enumerate(STEMS, start=1):
        form = example(stem)
        result = await run.coord.submit(form)
        assert result.receipt_number == f"{run.plan.id.upper()}-{n:04d}" and not result.correction
        keys.append(form.collectivite.identifier)
    await run.until_phase("open")
    return keys


async def _deliberate(run: Campaign, keys: list[str]) -> dict[str, str]:
    """Scored best first by one member (quorum 1), after the deadline; returns receipts by key."""
    await run.at(run.plan.deadline_at + timedelta(hours=1))
    entries = (await run.coord.status()).candidatures
    receipts = {e.key: e.receipt_number for e in entries}
    for n, key in enumerate(keys):
        await run.coord.score("apes", receipts[key], marks(5 - n))
    await run.coord.deliberate("Claire")
    return receipts


async def test_registration_starts_one_candidature_per_collectivite(time_env: WorkflowEnvironment) -> None:
    async with campaign_alone(time_env) as run:
        keys = await _register(run)
        started: CandidatureInput = await run.child(keys[0]).query(CandidatureStandIn.started_with)
        assert started.receipt_number == f"{run.plan.id.upper()}-0001" and started.plan == run.plan.for_candidature()
        assert started.form == example(STEMS[0]) and not started.search_attributes
        with pytest.raises(Refused, match="une seule candidature par collectivité"):
            await run.coord.submit(example(STEMS[0]))
        summary = await run.coord.summary()
        assert (summary.received, summary.phase.value, summary.ended, summary.deliberated) == (3, "open", 0, False)
        assert sum(summary.states.values()) == 3 and not summary.decisions
        # The campaign's row is written once, at its start; nothing else before the deadline.
        assert run.fakes.calls == [("campaign", run.plan.id)]
        assert run.fakes.campaigns[0].deadline_at == run.plan.deadline_at
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        await run.until_phase("jury")
        for key in keys:
            await run.until_signalled(key, "ping")  # the probe at the deadline
        [summary] = run.fakes.emails
        assert summary.purpose == "coord_deadline_summary" and summary.to == run.plan.coordinators
        assert summary.context["received"] == 3 and summary.context["states"] == {"eligibility_checked": 3}


async def test_the_jury_is_journaled_and_its_decisions_sent(time_env: WorkflowEnvironment) -> None:
    async with campaign_alone(time_env, capacity=1, waitlist_size=1) as run:
        keys = await _register(run)
        await run.at(run.plan.deadline_at + timedelta(hours=1))
        receipts = {e.key: e.receipt_number for e in (await run.coord.status()).candidatures}
        await run.coord.score("cress", receipts[keys[0]], marks(1))
        await run.coord.declare_conflict("cress", receipts[keys[0]], "Élue du même territoire")
        for n, key in enumerate(keys):
            await run.coord.score("apes", receipts[key], marks(5 - n))
        # No deliberation by the eve of the response date: the coordinators are alerted, once.
        await run.at(run.plan.response_at - run.plan.jury_alert_lead + timedelta(hours=1))
        result = await run.coord.deliberate("Claire")
        assert [r.decision for r in result.ranking] == [Decision.SELECTED, Decision.WAITLISTED, Decision.NOT_SELECTED]
        decided = [(await run.until_signalled(key, "decide"))[-1][1] for key in keys]
        status = await run.until_phase("decisions")
        summary = await run.coord.summary()
        assert summary.deliberated and summary.phase.value == "decisions" and summary.received == 3
        history = history_activities(await run.handle.fetch_history())

    assert [d["decision"] for d in decided] == ["selected", "waitlisted", "not_selected"]  # type: ignore[index]
    assert [d["waitlist_position"] for d in decided] == [None, 1, None]  # type: ignore[index]
    assert run.fakes.of("email") == ["coord_deadline_summary", "coord_session_undated", "coord_jury_late"]
    assert run.fakes.of("fact") == ["review", "conflict", "review", "review", "review"]
    # The jury's journal is written by local activities: a marker each, none scheduled on the server.
    assert history.local == ["record_fact"] * 5 and history.journal_scheduled == [] and JOURNAL_PATCH in history.patches
    review = run.fakes.facts[0]
    assert review.workflow_id == candidature_workflow_id(run.plan.id, keys[0]) and review.receipt_number == receipts[keys[0]]
    assert review.fact_id.startswith(f"{run.handle.id}-review-") and review.data.model_dump(mode="json")["member_id"] == "cress"
    assert run.fakes.facts[1].data.model_dump(mode="json")["reason"] == "Élue du même territoire"
    assert {e.key: e.state for e in status.candidatures}[keys[2]] is State.CLOSED  # its stand-in reported it


async def test_sessions_waitlist_capitalisation_and_the_campaign_report(time_env: WorkflowEnvironment) -> None:
    async with campaign_alone(time_env, capacity=1, waitlist_size=1) as run:
        keys = await _register(run)
        selected, waiting, _ = keys
        # Dated right after the deadline, before its alert: no « séance sans date ».
        session = run.plan.sessions[0]
        await run.at(run.plan.deadline_at + timedelta(minutes=30))
        scheduled = await run.coord.set_session(1, session.window_start + timedelta(days=3), "Lille")
        await _deliberate(run, keys)
        await run.at(run.plan.response_at + timedelta(hours=1))
        # The selected one confirms its binôme: it reports `enrolled` and gets the schedule.
        await run.child(selected).signal(CandidatureStandIn.enrol)
        assert (await run.until_signalled(selected, "schedule"))[-1][1] == [[1, 0]]
        await run.at(scheduled.starts_at + timedelta(hours=1))
        await run.until_signalled(waiting, "close_waitlist")  # the first session ends the waitlist
        await run.at(scheduled.ends_at + run.plan.capitalisation_delay + timedelta(hours=1))
        await run.until_signalled(selected, "capitalise")
        final = await asyncio.wait_for(run.handle.result(), timeout=30)
        assert "schedule" not in await run.signals(waiting)

    assert final.phase == "done" and all(e.final for e in final.candidatures)
    assert run.fakes.of("email") == ["coord_deadline_summary", "coord_campaign_report"]
    assert run.fakes.of("document") == ["campaign_report"]
    report = run.fakes.documents[0]
    assert report.receipt_number is None and report.data.model_dump(mode="json")["campaign_id"] == run.plan.id
    assert [s["number"] for s in report.data.model_dump(mode="json")["sessions"]] == [1]
    [attachment] = run.fakes.emails[-1].attachments
    assert attachment.kind == "campaign_report"


async def test_an_undated_session_alerts_the_coordinators(time_env: WorkflowEnvironment) -> None:
    async with campaign_alone(time_env) as run:
        session = run.plan.sessions[0]
        await run.at(session.window_start - run.plan.session_alert_lead + timedelta(hours=1))
        await run.until_phase("jury")
        alerts = [e for e in run.fakes.emails if e.purpose == "coord_session_undated"]
        assert [(a.occurrence, a.context["session_number"]) for a in alerts] == [("1", 1)]
        assert alerts[0].context["month"] == session.month
