"""Worker Versioning on the real dev server: a campaign started on build v1 moves to build
v2 when v2 is made current, in mid-campaign, and its new candidature runs on v2 (AUTO_UPGRADE)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.common import VersioningBehavior
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from ami.app.cli.cmd_deploy import connected, set_current_command, show_command
from ami.app.deployment import describe, set_current, versions
from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.infra.mail.sink import start_sink
from ami.infra.settings import Settings
from ami.models.campaign import load_campaign
from ami.worker.runner import build_worker
from tests.conftest import free_port

pytestmark = pytest.mark.devserver

DEPLOYMENT = "ami-versioning-test"


async def make_current(client: Client, build_id: str) -> None:
    """The server learns a version when its first poller arrives: retry until it knows it."""
    for _ in range(100):
        try:
            await set_current(client, DEPLOYMENT, build_id)
            return
        except RPCError:
            await asyncio.sleep(0.2)
    pytest.fail(f"la version {build_id} n'a jamais pu devenir courante")


async def versioning_of(client: Client, workflow_id: str) -> tuple[str, int]:
    info = (await client.get_workflow_handle(workflow_id).describe()).raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id, info.behavior


async def until_build(client: Client, workflow_id: str, build_id: str) -> None:
    for _ in range(100):
        if (await versioning_of(client, workflow_id))[0] == build_id:
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"{workflow_id} ne tourne pas sur {build_id} : {await versioning_of(client, workflow_id)}")


async def test_a_running_campaign_moves_to_the_new_build(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    controller, _ = start_sink(tmp_path / "mail", port=free_port())
    client = dev_env.client
    base = Settings(
        data_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'ami.db'}",
        smtp_port=controller.port,
        task_queue="ami-versioning",
        deployment_name=DEPLOYMENT,
    )
    v1, v2 = base.model_copy(update={"build_id": "v1"}), base.model_copy(update={"build_id": "v2"})
    now = await dev_env.get_current_time()
    plan = load_campaign("ami-2024").plan().compressed(now - timedelta(minutes=1), 600 / 86400).model_copy(update={"id": "versioning"})
    try:
        async with build_worker(client, v1):
            await make_current(client, "v1")
            campaign = await start_campaign(client, plan, base.task_queue)
            await until_build(client, campaign.id, "v1")
            assert (await versioning_of(client, campaign.id))[1] == VersioningBehavior.AUTO_UPGRADE.value
            async with build_worker(client, v2):
                await make_current(client, "v2")
                rows = {row.build_id: row for row in versions(await describe(client, DEPLOYMENT))}
                assert rows["v2"].current and not rows["v1"].current

                async def connect(*_: object, **__: object) -> Client:
                    return client

                monkeypatch.setattr("ami.infra.client.connect", connect)
                # The commands' coroutines, on this loop (the CLI runs them with asyncio.run).
                name = argparse.Namespace(name=DEPLOYMENT)
                assert await connected(show_command, DEPLOYMENT, name) == 0
                assert "* v2  current" in capsys.readouterr().out
                assert await connected(set_current_command, DEPLOYMENT, argparse.Namespace(name=DEPLOYMENT, build_id="v1")) == 0
                assert "version courante v1 (précédente : v2)" in capsys.readouterr().out
                assert await connected(set_current_command, DEPLOYMENT, argparse.Namespace(name=DEPLOYMENT, build_id="v2")) == 0
                assert await connected(set_current_command, DEPLOYMENT, argparse.Namespace(name=DEPLOYMENT, build_id="v3")) == 4
                assert "Refusé par le serveur" in capsys.readouterr().err
                # v1 still polls, but the current version takes every new task: the campaign is mid-flight.
                coord = Coordination(client, plan.id)
                receipt = await coord.submit(example("01-henin-carvin"))  # a workflow task: taken by v2
                await until_build(client, campaign.id, "v2")
                await until_build(client, f"candidature-{plan.id}-{example('01-henin-carvin').collectivite.identifier}", "v2")
                assert receipt.receipt_number
                await campaign.terminate("fin du test")
                await client.get_workflow_handle(f"candidature-{plan.id}-246200299").terminate("fin du test")
    finally:
        controller.stop()
