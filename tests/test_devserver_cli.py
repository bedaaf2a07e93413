"""On the real dev server: the `ami` commands as a coordinator types them, the custom search
attributes the time-skipping server cannot hold, and a refusal that leaves the workflow running."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ami.infra.mail.sink import start_sink
from ami.infra.settings import Settings
from ami.worker.runner import build_worker
from tests.conftest import free_port

pytestmark = pytest.mark.devserver

EXAMPLES = Path(__file__).resolve().parent.parent / "ami" / "data" / "examples"


def ami(env: WorkflowEnvironment, settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "AMI_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "AMI_TASK_QUEUE": settings.task_queue,
        "AMI_DATA_DIR": str(settings.data_dir),
        "AMI_DATABASE_URL": settings.resolved_database_url(),
        "AMI_SMTP_PORT": str(settings.smtp_port),
        "COLUMNS": "200",
    }
    return subprocess.run([sys.executable, "-m", "ami.app.cli.main", *args], capture_output=True, text=True, env=environ, timeout=120)


async def test_cli_drives_a_campaign_with_search_attributes(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    controller, sink = start_sink(tmp_path / "mail", port=free_port())
    settings = Settings(
        data_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path / 'ami.db'}",
        smtp_port=controller.port,
        task_queue="ami-cli-test",
    )
    try:
        async with build_worker(dev_env.client, settings):
            # A day lasts a minute: the call opens within seconds and stays open for the test.
            started = await asyncio.to_thread(ami, dev_env, settings, "campaign", "start", "ami-2024", "--day-seconds", "60")
            assert started.returncode == 0, started.stderr
            await asyncio.sleep(6)
            submitted = await asyncio.to_thread(
                ami, dev_env, settings, "submit", str(EXAMPLES / "01-henin-carvin.yaml"), "--campaign", "ami-2024"
            )
            assert submitted.returncode == 0, submitted.stderr
            assert submitted.stdout.strip() == "candidature-ami-2024-246200299"
            assert "AMI-2024-0001" in submitted.stderr

            duplicate = await asyncio.to_thread(
                ami, dev_env, settings, "submit", str(EXAMPLES / "01-henin-carvin.yaml"), "--campaign", "ami-2024"
            )
            assert duplicate.returncode == 3
            assert "une seule candidature par collectivité" in duplicate.stderr

            handle = dev_env.client.get_workflow_handle("candidature-ami-2024-246200299")
            for _ in range(100):
                status = await asyncio.to_thread(ami, dev_env, settings, "status", "--campaign", "ami-2024", "246200299", "--json")
                if json.loads(status.stdout)["state"] == "eligibility_checked":
                    break
                await asyncio.sleep(0.2)
            assert json.loads(status.stdout)["state"] == "eligibility_checked"
            resume = await asyncio.to_thread(ami, dev_env, settings, "status", "--campaign", "ami-2024", "--resume")
            assert resume.returncode == 0 and "1 candidature(s) reçue(s)" in resume.stdout and "eligibility_checked" in resume.stdout
            missing = await asyncio.to_thread(ami, dev_env, settings, "status", "--campaign", "inconnue", "--resume")
            assert missing.returncode == 3 and "Introuvable" in missing.stderr and "Traceback" not in missing.stderr

            # An action the machine does not allow is refused; the workflow goes on.
            refused = await asyncio.to_thread(
                ami, dev_env, settings, "attendance", "record", "246200299", "--campaign", "ami-2024",
                "--session", "1", "--elected", "oui", "--technician", "oui",
            )  # fmt: skip
            assert refused.returncode == 3
            assert "impossible" in refused.stderr
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

            # The coordinators' filters: what the UI's search box runs.
            query = 'AmiCampaign = "ami-2024" AND AmiState = "eligibility_checked" AND AmiDepartement = "62" AND AmiKind = "CA"'
            found: list[str] = []
            for _ in range(50):
                found = [w.id async for w in dev_env.client.list_workflows(query)]
                if found:
                    break
                await asyncio.sleep(0.2)
            assert found == ["candidature-ami-2024-246200299"]
            assert [w.id async for w in dev_env.client.list_workflows('AmiState = "capitalised"')] == []
            assert sink.count >= 1  # the receipt
            await dev_env.client.get_workflow_handle("campaign-ami-2024").terminate("fin du test")
            await handle.terminate("fin du test")
    finally:
        controller.stop()
