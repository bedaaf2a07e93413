"""On the real dev server (the time-skipping one has no schedules): `ami rgpd schedule` creates the
daily purge, a second call updates it, a triggered run purges through the worker, and
`ami rgpd purge --dry-run` answers from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from ami.infra.mail.sink import start_sink
from ami.infra.purge import PurgeReport
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.worker.runner import build_worker
from ami.workflows.purge import PURGE_SCHEDULE_ID
from tests.cohort import eventually
from tests.conftest import free_port
from tests.test_devserver_cli import ami

pytestmark = pytest.mark.devserver


async def test_daily_purge_schedule(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    controller, _ = start_sink(tmp_path / "mail", port=free_port())
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'ami.db'}", smtp_port=controller.port, task_queue="ami-rgpd-test"
    )
    store_for(settings.resolved_database_url())
    handle = dev_env.client.get_schedule_handle(PURGE_SCHEDULE_ID)
    try:
        created = await asyncio.to_thread(ami, dev_env, settings, "rgpd", "schedule", "--hour", "4")
        assert created.returncode == 0 and "créée" in created.stdout and "4 h" in created.stdout, created.stderr
        again = await asyncio.to_thread(ami, dev_env, settings, "rgpd", "schedule")
        assert again.returncode == 0 and "mise à jour" in again.stdout, again.stderr
        described = await handle.describe()
        assert described.schedule.spec.cron_expressions == ["0 3 * * *"] or described.schedule.spec.calendars
        assert described.schedule.spec.time_zone_name == "Europe/Paris"
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "PurgeWorkflow"
        assert action.task_queue == "ami-rgpd-test"

        async with build_worker(dev_env.client, settings):
            await handle.trigger()

            async def ran() -> bool:
                return bool((await handle.describe()).info.recent_actions)

            await eventually(ran, what="une purge déclenchée par la planification")
            started = (await handle.describe()).info.recent_actions[-1].action
            result = await dev_env.client.get_workflow_handle(started.workflow_id, result_type=PurgeReport).result()
            assert isinstance(result, PurgeReport) and result.lines == [] and not result.dry_run

        dry = await asyncio.to_thread(ami, dev_env, settings, "rgpd", "purge", "--dry-run")
        assert dry.returncode == 0 and "simulation" in dry.stdout and "Rien n'a dépassé" in dry.stdout, dry.stderr
    finally:
        await handle.delete()
        controller.stop()
