"""The production services started as compose starts them, but outside Docker: `ami db
upgrade`, then `ami worker` with its Prometheus endpoint and its health endpoints, on the real dev
server; a candidature goes through and the counters move; a bounced email raises the bounce counter;
the readiness says so when the SMTP relay goes away."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.infra.mail.sink import start_sink
from ami.models.campaign import load_campaign
from ami.models.candidature import CandidatureFile
from tests.conftest import free_port
from tests.test_compose_production import LIVE_SDK_METRICS

pytestmark = pytest.mark.devserver

REFUSED = "refuse@example.org"  # the sink answers 550 for it


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()
    except OSError:
        return 0, ""


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when absent)."""
    total = 0.0
    for match in re.finditer(rf"^{name}(?:_total)?(\{{[^}}]*\}})? ([0-9.eE+-]+)$", text, re.M):
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def until(probe: object, what: str, attempts: int = 150) -> None:
    """Poll `probe()` (sync, run in a thread) until it is true; fail naming `what`."""
    for _ in range(attempts):
        if await asyncio.to_thread(probe):  # type: ignore[arg-type]
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"jamais atteint : {what}")


def bouncing(form: CandidatureFile) -> CandidatureFile:
    """The same form with every address refused by the relay."""
    people = {
        k: getattr(form, k).model_copy(update={"email": REFUSED})
        for k in ("political_referent", "technical_referent", "contact_point")
        if getattr(form, k)
    }
    return form.model_copy(update={"collectivite": form.collectivite.model_copy(update={"email": REFUSED}), **people})


@pytest.fixture
def service_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AMI_", "TEMPORAL_"))}
    environ.update(
        AMI_DATA_DIR=str(tmp_path / "var"),
        AMI_DATABASE_URL=f"sqlite:///{tmp_path / 'ami.db'}",
        AMI_TASK_QUEUE=f"ami-prod-{tmp_path.name}",
        COLUMNS="200",
    )
    yield environ


async def test_worker_serves_metrics_and_health(dev_env: WorkflowEnvironment, tmp_path: Path, service_env: dict[str, str]) -> None:
    controller, sink = start_sink(tmp_path / "mail", port=free_port(), refuse={REFUSED})
    metrics, health = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = {
        **service_env,
        "AMI_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "AMI_SMTP_PORT": str(controller.port),
        "AMI_METRICS_ADDRESS": metrics,
        "AMI_HEALTH_ADDRESS": health,
        "AMI_METRICS_SCAN_SECONDS": "0.5",
        # Two cached workflows for three (the campaign, two candidatures): each task of one evicts
        # another, as at a response date with too small a cache, and the counter that the cache alert reads appears.
        "AMI_MAX_CACHED_WORKFLOWS": "2",
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "ami.app.cli.main", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stderr
    worker = subprocess.Popen(
        [sys.executable, "-m", "ami.app.cli.main", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    campaign = None
    relay_up = True
    try:
        await until(lambda: get(f"http://{health}/healthz")[0] == 200 or worker.poll() is not None, "/healthz")
        assert worker.poll() is None, worker.communicate()
        status, body = get(f"http://{health}/readyz")
        assert status == 200, body
        assert json.loads(body) == {
            "temporal": "serveur joignable",
            "base": "schéma à jour",
            "smtp": f"relais 127.0.0.1:{controller.port} joignable",
            "prêt": True,
        }
        await until(lambda: "temporal_" in get(f"http://{metrics}/metrics")[1], "les métriques du SDK")
        assert metric(get(f"http://{metrics}/metrics")[1], "ami_emails_sent") == 0

        # A campaign open for a while (a day lasts ten minutes), two candidatures.
        now = await dev_env.get_current_time()
        plan = (
            load_campaign("ami-2024").plan().compressed(now - timedelta(minutes=1), 600 / 86400).model_copy(update={"id": "prod-metrics"})
        )
        campaign = await start_campaign(dev_env.client, plan, env["AMI_TASK_QUEUE"])
        coord = Coordination(dev_env.client, plan.id)
        await coord.submit(example("01-henin-carvin"))

        def sent() -> bool:
            return metric(get(f"http://{metrics}/metrics")[1], "ami_emails_sent", purpose="receipt") >= 1

        await until(sent, "le compteur des courriels envoyés")
        text = get(f"http://{metrics}/metrics")[1]
        assert metric(text, "ami_emails_bounced") == 0
        await coord.submit(bouncing(example("10-amiens")))
        await until(lambda: metric(get(f"http://{metrics}/metrics")[1], "ami_emails_bounced") >= 1, "le compteur des rebonds")
        assert REFUSED not in get(f"http://{metrics}/metrics")[1]  # no personal data in labels

        def counted() -> bool:
            text = get(f"http://{metrics}/metrics")[1]
            return metric(text, "ami_candidatures", campaign=plan.id, state="eligibility_checked") == 2

        await until(counted, "les candidatures par état (visibilité)")
        text = get(f"http://{metrics}/metrics")[1]
        assert metric(text, "ami_candidatures_stuck") == 0
        # Both deadlines (ten hours away: a day lasts ten minutes), counted from the search attribute.
        await until(lambda: metric(get(f"http://{metrics}/metrics")[1], "ami_timers_due_next_24h") == 2, "les échéances des 24 heures")
        assert metric(text, "ami_monitor_scan_errors") == 0
        for name in LIVE_SDK_METRICS:  # what the dashboard reads from the SDK is really exported
            assert f"{name}_bucket" in text or f"{name}{{" in text, name
        assert metric(text, "temporal_sticky_cache_total_forced_eviction") >= 1  # deploy/prometheus/alerts.yml reads it
        Path(os.environ.get("AMI_METRICS_SAMPLE", os.devnull)).write_text(text, encoding="utf-8")

        controller.stop()  # the relay goes away: not ready any more, still alive
        relay_up = False
        status, body = get(f"http://{health}/readyz")
        assert status == 503 and json.loads(body)["prêt"] is False and "injoignable" in json.loads(body)["smtp"]
        assert get(f"http://{health}/healthz")[0] == 200
    finally:
        if campaign is not None:
            await campaign.terminate("fin du test")
            async for execution in dev_env.client.list_workflows("AmiCampaign = 'prod-metrics' AND ExecutionStatus = 'Running'"):
                await dev_env.client.get_workflow_handle(execution.id).terminate("fin du test")
        worker.terminate()  # SIGTERM, as `docker compose stop` sends: a clean shutdown
        _, stderr = worker.communicate(timeout=30)
        if relay_up:
            controller.stop()
    assert worker.returncode == 0, stderr
    assert sink.count >= 1


def test_codec_server_runs_as_compose_starts_it(service_env: dict[str, str]) -> None:
    """The `codec-server` service's command and environment (docker-compose.yml), outside Docker: it
    decodes what a worker encrypted, for the token in the path the Web UI uses behind the proxy."""
    import base64

    import yaml
    from google.protobuf import json_format
    from temporalio.api.common.v1 import Payloads
    from temporalio.converter import DataConverter

    from ami.infra.codec import EncryptionCodec
    from tests.test_compose import COMPOSE_FILE, command, environment

    svc = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]["codec-server"]
    port, token = free_port(), "jeton-de-test-assez-long"
    key = os.urandom(32)
    keys = "k1:" + base64.b64encode(key).decode()
    values = {"AMI_CODEC_KEYS": keys, "AMI_CODEC_SERVER_TOKEN": token, "PUBLIC_HOST": "ami.example.org"}
    env = dict(service_env)
    for name, value in environment(svc).items():
        env[name] = re.sub(r"\$\{(\w+)(?::[-?][^}]*)?\}", lambda m: values.get(m.group(1), ""), value)
    env["AMI_CODEC_SERVER_HOST"], env["AMI_CODEC_SERVER_PORT"] = "127.0.0.1", str(port)  # a free port, here
    server = subprocess.Popen(
        [sys.executable, "-m", "ami.app.cli.main", *command(svc)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        codec = EncryptionCodec({"k1": key}, "k1")
        (encrypted,) = [codec.encrypt(p) for p in DataConverter.default.payload_converter.to_payloads(["secret"])]
        body = json_format.MessageToJson(Payloads(payloads=[encrypted])).encode()
        for _ in range(150):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/{token}/decode",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "Origin": "https://ami.example.org"},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    decoded = json_format.Parse(response.read(), Payloads())
                    break
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.2)
        else:
            pytest.fail("le serveur de codec ne répond pas")
        assert DataConverter.default.payload_converter.from_payloads(decoded.payloads) == ["secret"]
    finally:
        server.terminate()
        server.communicate(timeout=30)
