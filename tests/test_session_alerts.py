"""A session still without a date `session_alert_lead` before its month alerts the coordinators on
time, even while the jury has not deliberated yet (the 2024 calendar puts session 1's alert on
10 September, before the response date)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings
from ami.worker.runner import build_worker
from tests.cohort import expected_id, read_mails, terminate_all
from tests.scenario import plan_starting, skip_to


async def test_undated_session_alert_does_not_wait_for_the_jury(time_env: WorkflowEnvironment, settings: Settings, sink: EmlWriter) -> None:
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="alerts")
    first = plan.sessions[0]
    alert_at = first.window_start - plan.session_alert_lead
    assert plan.deadline_at < alert_at < plan.response_at  # as in the published calendar
    async with build_worker(env.client, settings):
        handle = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        await coord.submit(example("01-henin-carvin"))
        await skip_to(env, alert_at + timedelta(hours=2))
        assert (await coord.status()).deliberation is None
        mails = read_mails(Path(sink.out_dir))
        session_1 = expected_id(settings, handle.id, "coord_session_undated", "1")
        session_2 = expected_id(settings, handle.id, "coord_session_undated", "2")
        assert session_1 in mails, sorted(m["Subject"] for m in mails.values())
        assert "séance 1" in str(mails[session_1]["Subject"])
        assert session_2 not in mails  # its own alert comes a month later
        await terminate_all(coord)
