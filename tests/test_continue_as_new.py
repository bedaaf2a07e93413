"""A campaign whose history grows long continues as new with all its state, and its story goes on
to the end as if nothing happened (the threshold is lowered to force it several times).

On the real dev server: the time-skipping test server stops skipping time once a workflow has
continued as new, so this scenario runs in compressed real time instead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, Refused, start_campaign
from ami.infra.mail.sink import start_sink
from ami.infra.settings import Settings
from ami.models.campaign import load_campaign
from ami.models.values import Decision
from ami.worker.runner import build_worker
from tests.conftest import free_port
from tests.scenario import binome, marks

pytestmark = pytest.mark.devserver

STEMS = ["01-henin-carvin", "02-mel", "03-libercourt"]
DAY_SECONDS = 0.12


async def until(instant: datetime) -> None:
    await asyncio.sleep(max(0.0, (instant - datetime.now(UTC)).total_seconds()))


async def test_campaign_continues_as_new_and_keeps_its_state(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    controller, _ = start_sink(tmp_path / "mail", port=free_port())
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'ami.db'}", smtp_port=controller.port, task_queue="ami-can"
    )
    file_plan = load_campaign("ami-2024").plan()
    plan = file_plan.compressed(datetime.now(UTC) + timedelta(seconds=1), DAY_SECONDS / 86400)
    plan = plan.model_copy(update={"id": "ami-can", "capacity": 1, "waitlist_size": 1, "quorum": 1, "sessions": plan.sessions[:1]})
    try:
        async with build_worker(dev_env.client, settings):
            handle = await start_campaign(dev_env.client, plan, settings.task_queue, continue_as_new_at=60)
            coord = Coordination(dev_env.client, plan.id)
            await until(plan.opens_at + timedelta(seconds=0.2))
            keys = []
            for stem in STEMS:
                form = example(stem)
                keys.append(form.collectivite.identifier)
                await coord.submit(form)
            await until(plan.deadline_at + timedelta(seconds=0.5))
            for _ in range(500):  # eligibility runs in each candidature: wait for their reports
                status = await coord.status()
                if all(e.state == "eligibility_checked" for e in status.candidatures):
                    break
                await asyncio.sleep(0.05)
            assert [e.receipt_number for e in status.candidatures] == ["AMI-CAN-0001", "AMI-CAN-0002", "AMI-CAN-0003"]
            for n, entry in enumerate(status.candidatures):
                await coord.score("apes", entry.receipt_number, marks(5 - n))
            await coord.deliberate()
            # The registry came along: a duplicate is still refused by the continued campaign.
            with pytest.raises(Refused, match="une seule candidature"):
                await coord.submit(example("02-mel"))
            session = plan.sessions[0]
            await coord.set_session(1, session.window_start + (session.window_end - session.window_start) / 2, "Lille")
            await until(plan.response_at)
            for _ in range(200):
                if (await coord.candidature_status(keys[0])).state == "notified":
                    break
                await asyncio.sleep(0.02)
            await coord.confirm_binome(keys[0], *binome(example(STEMS[0])))
            scheduled = (await coord.status()).sessions[0]
            await until(scheduled.ends_at)
            await coord.record_attendance(keys[0], 1, True, True)
            final = await asyncio.wait_for(handle.result(), timeout=120)
    finally:
        controller.stop()
    assert final.phase == "done"
    assert {e.key: e.state for e in final.candidatures} == {keys[0]: "capitalised", keys[1]: "closed", keys[2]: "closed"}
    assert final.deliberation is not None and final.deliberation.ranking[0].decision is Decision.SELECTED
    first_run = dev_env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    history = await first_run.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert len(history.events) < 120
