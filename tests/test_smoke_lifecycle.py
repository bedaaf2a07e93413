from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.infra.settings import Settings
from ami.worker.runner import build_worker
from tests.scenario import binome, plan_starting, skip_to


async def test_single_candidature_full_cycle(time_env: WorkflowEnvironment, settings: Settings, sink) -> None:
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="smoke", capacity=1, quorum=1)
    async with build_worker(env.client, settings):
        handle = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        form = example("01-henin-carvin")
        result = await coord.submit(form)
        assert result.receipt_number == "SMOKE-0001"
        await skip_to(env, plan.deadline_at + timedelta(hours=1))
        st = await coord.status()
        assert st.candidatures[0].state == "eligibility_checked", st
        await coord.score(
            "apes", result.receipt_number, {"motivation": 5, "binome": 5, "posture": 4, "adaptabilite": 4, "numerique": 4, "apport": 4}
        )
        await coord.deliberate()
        await skip_to(env, plan.response_at + timedelta(hours=1))
        cs = await coord.candidature_status("246200299")
        assert cs.state == "notified", cs.state
        await coord.confirm_binome("246200299", *binome(form))
        zone = plan.zone()
        for s in plan.sessions:
            await coord.set_session(s.number, s.window_start + timedelta(days=14, hours=14), "Lille, Maison de l'ESS")
        for s in plan.sessions:
            await skip_to(env, s.window_start + timedelta(days=14, hours=15))
            await coord.record_attendance("246200299", s.number, True, s.number != 3)
            await coord.record_feedback("246200299", s.number, 4, "Très utile")
        final = await handle.result()
        assert final.phase == "done"
        cs = await coord.candidature_status("246200299")
        assert cs.state == "capitalised", cs
        assert zone
