"""The release check on live histories: `ami replay --from-server --query …` downloads
every run a visibility query finds on the real dev server — a campaign that continued as new and its
candidatures — and replays them with the working tree; an unguarded change fails it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pytest
    from temporalio.client import Client, WorkflowExecutionStatus
    from temporalio.testing import WorkflowEnvironment

    from ami.app.cli.cmd_replay import _replay_server, replay_command
    from ami.app.cli.main import build_parser
    from ami.app.examples import example
    from ami.app.ops import Coordination, start_campaign
    from ami.infra.mail.sink import start_sink
    from ami.infra.settings import Settings
    from ami.models.campaign import load_campaign
    from ami.worker.runner import build_worker
    from ami.workflows.campaign import CampaignWorkflow
    from tests.conftest import free_port
    from tests.test_replay import UnguardedTimer

pytestmark = pytest.mark.devserver

STEMS = ["01-henin-carvin", "02-mel", "03-libercourt"]


def cli(argv: list[str], workflows: list[type] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = replay_command(args, workflows) if workflows else args.handler(args)
    return code


async def test_replay_from_server_by_query(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    controller, _ = start_sink(tmp_path / "mail", port=free_port())
    client = dev_env.client
    settings = Settings(
        data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'ami.db'}", smtp_port=controller.port, task_queue="ami-live"
    )

    async def connect(*_: object, **__: object) -> Client:
        return client

    monkeypatch.setattr("ami.infra.client.connect", connect)
    now = await dev_env.get_current_time()
    plan = load_campaign("ami-2024").plan().compressed(now - timedelta(minutes=1), 600 / 86400).model_copy(update={"id": "live-replay"})
    query = f"AmiCampaign = '{plan.id}'"
    try:
        async with build_worker(client, settings):
            campaign = await start_campaign(client, plan, settings.task_queue, continue_as_new_at=40)
            coord = Coordination(client, plan.id)
            for stem in STEMS:
                await coord.submit(example(stem))
            # The campaign's history grows past the threshold: it continues as new at least once.
            runs: list[WorkflowExecutionStatus | None] = []
            for _ in range(100):
                runs = [w.status async for w in client.list_workflows(f"WorkflowId = '{campaign.id}'")]
                if WorkflowExecutionStatus.CONTINUED_AS_NEW in runs and len(runs) >= 2:
                    break
                await asyncio.sleep(0.2)
            assert WorkflowExecutionStatus.CONTINUED_AS_NEW in runs, runs
            expected = len(runs) + len(STEMS)
            for _ in range(100):
                if len([w async for w in client.list_workflows(query)]) == expected:
                    break
                await asyncio.sleep(0.2)

            # As an operator types it, in its own process, on the server's address.
            environ = {**os.environ, "AMI_TEMPORAL_ADDRESS": client.service_client.config.target_host, "COLUMNS": "200"}
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "ami.app.cli.main", "replay", "--from-server", "--query", query],
                capture_output=True, text=True, env=environ, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert f"Compatible : le code actuel rejoue sans erreur {expected} historiques." in done.stdout, done.stdout
            assert done.stdout.count("CampaignWorkflow") == len(runs) and done.stdout.count("CandidatureWorkflow") == len(STEMS)

            # A timer added at the top of the candidature, without workflow.patched: refused before deploying.
            # (The command's coroutine, on this loop, with the modified workflows.)
            assert await _replay_server(None, None, None, [UnguardedTimer, CampaignWorkflow], query=query) == 1
            captured = capsys.readouterr()
            assert "non-déterminisme" in captured.err and f"Incompatible : {len(STEMS)} sur {expected} historiques" in captured.err

            assert await _replay_server(None, None, None, None, query=query, limit=1) == 0
            assert "1 historique." in capsys.readouterr().out
            assert await _replay_server(None, None, None, None, query="AmiCampaign = 'aucune'") == 2
            assert await _replay_server(None, None, None, None, query="Ceci n'est pas = une requête (") == 2
            assert "refusée" in capsys.readouterr().err
            assert cli(["replay", "--query", query]) == 2  # refused before connecting
            assert cli(["replay", "--from-server", "--campaign", plan.id]) == 2
            await campaign.terminate("fin du test")
            async for execution in client.list_workflows(f"{query} AND ExecutionStatus = 'Running'"):
                await client.get_workflow_handle(execution.id).terminate("fin du test")
    finally:
        controller.stop()
