"""Static checks of the production stack: one authenticating entry, mTLS to the frontend,
Mailpit only in the dev profile, the worker's health and metrics wired to compose and Prometheus, alert
rules and a dashboard that use metrics the worker really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ami.infra.telemetry import BUSINESS_METRICS
from tests.test_compose import COMPOSE_FILE, ROOT, command, environment, ours, services

DEPLOY = ROOT / "deploy"
CADDYFILE = DEPLOY / "caddy" / "Caddyfile"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "ami.json"

# SDK metrics the dashboard and the alerts may use: seen on a worker's /metrics (tests/test_production.py
# checks the non-failure ones live), plus the counters that only appear once their event happened: a
# failure, or a workflow evicted from a full cache (sdk-core's `sticky_cache_total_forced_eviction`).
SDK_EVENT_COUNTERS = {
    "temporal_workflow_task_execution_failed",
    "temporal_activity_execution_failed",
    "temporal_sticky_cache_total_forced_eviction",
}
_METRIC = re.compile(r"\b((?:ami|temporal)_[a-z0-9_]+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _port(address: str) -> str:
    return address.rsplit(":", 1)[1]


def test_the_stack_has_every_production_service(compose: dict[str, Any]) -> None:
    names = set(services(compose))
    for expected in ("temporal-schema", "temporal-namespace", "proxy", "oauth2-proxy", "prometheus", "alertmanager", "grafana"):
        assert expected in names, f"service {expected} absent de docker-compose.yml"
    images = [str(svc.get("image", "")) for svc in services(compose).values()]
    assert not any("auto-setup" in image for image in images), "auto-setup est une image de développement"


def test_only_the_proxy_listens_publicly(compose: dict[str, Any]) -> None:
    for name, svc in services(compose).items():
        for port in svc.get("ports", []):
            if name != "proxy":
                assert str(port).startswith("127.0.0.1:"), f"{name} : {port} est exposé hors de la machine ; passez par le proxy"
    assert {str(p) for p in services(compose)["proxy"]["ports"]} == {"80:80", "443:443"}


def test_mailpit_only_in_the_dev_profile(compose: dict[str, Any]) -> None:
    svcs = services(compose)
    assert svcs["mailpit"].get("profiles") == ["dev"]
    for name, svc in svcs.items():
        assert "mailpit" not in (svc.get("depends_on") or {}), f"{name} dépend de Mailpit, absent en production"


def test_the_proxy_signs_in_everything_but_the_portal() -> None:
    text = CADDYFILE.read_text(encoding="utf-8")
    public, _, portal = text.partition("{$PORTAL_HOST}")
    guarded = public.split("forward_auth oauth2-proxy:4180", 1)
    assert len(guarded) == 2, "le site des coordinateurs doit demander la connexion (forward_auth)"
    before, after = guarded
    for upstream in ("temporal-ui:8080", "codec-server:8081", "grafana:3000"):
        assert upstream in after and upstream not in before, f"{upstream} doit être derrière la connexion"
    assert "copy_headers X-Auth-Request-User X-Auth-Request-Email" in after
    assert "reverse_proxy portal:8090" in portal  # the collectivités have no account: signed links


def test_grafana_trusts_only_the_proxy_header(compose: dict[str, Any]) -> None:
    env = environment(services(compose)["grafana"])
    assert env["GF_AUTH_PROXY_ENABLED"] == "true" and env["GF_AUTH_PROXY_HEADER_NAME"] == "X-Auth-Request-Email"
    assert env["GF_AUTH_DISABLE_LOGIN_FORM"] == "true"
    assert "ports" not in services(compose)["grafana"]


def test_mutual_tls_to_the_frontend(compose: dict[str, Any]) -> None:
    svcs = services(compose)
    server = environment(svcs["temporal"])
    assert server["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    assert server["TEMPORAL_TLS_CLIENT1_CA_CERT"] == "/certs/ca.pem"
    for name, svc in ours(compose).items():
        env = environment(svc)
        if "AMI_TEMPORAL_ADDRESS" in env:
            assert env["TEMPORAL_TLS_CLIENT_CERT_PATH"] == "/certs/client.pem", name
            assert env["TEMPORAL_TLS_SERVER_NAME"] == "temporal", name
            assert any(str(v).endswith(":/certs:ro") for v in svc.get("volumes", [])), f"{name} : certificats non montés"
    ui = environment(svcs["temporal-ui"])
    assert ui["TEMPORAL_TLS_CERT"] == "/certs/client.pem" and ui["TEMPORAL_TLS_SERVER_NAME"] == "temporal"
    assert "--tls-cert-path /certs/client.pem" in " ".join(command(svcs["temporal-namespace"]))
    assert (DEPLOY / "certs" / ".gitignore").read_text(encoding="utf-8").split("\n")[1] == "*", "les clés ne vont pas dans git"
    assert "deploy" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split(), "les clés ne vont pas dans l'image"


def test_worker_health_and_metrics_are_wired(compose: dict[str, Any]) -> None:
    worker = services(compose)["worker"]
    env = environment(worker)
    check = " ".join(worker["healthcheck"]["test"])
    assert f"127.0.0.1:{_port(env['AMI_HEALTH_ADDRESS'])}/readyz" in check
    assert env["AMI_BUILD_ID"].startswith("${AMI_BUILD_ID:?"), "chaque image déployée porte sa version"
    scrape = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    (sd,) = jobs["ami-worker"]["dns_sd_configs"]
    assert sd["names"] == ["worker"] and str(sd["port"]) == _port(env["AMI_METRICS_ADDRESS"]), "Prometheus doit trouver chaque réplique"
    assert scrape["rule_files"] == ["/etc/prometheus/alerts.yml"]
    mounts = services(compose)["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in mounts


def _known(metric: str) -> bool:
    base = re.sub(r"_(bucket|sum|count)$", "", metric)
    return metric in BUSINESS_METRICS or base in SDK_EVENT_COUNTERS or base in LIVE_SDK_METRICS


# Seen on a worker's /metrics (tests/test_production.py asserts these are live).
LIVE_SDK_METRICS = {
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_schedule_to_start_latency",
}


def test_alerts_cover_what_a_coordinator_must_hear() -> None:
    rules = [rule for group in yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"] for rule in group["rules"]]
    by_metric: dict[str, list[str]] = {}
    for rule in rules:
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        for metric in _METRIC.findall(rule["expr"]):
            assert _known(metric), f"{rule['alert']} : {metric} n'est exporté par aucun worker"
            by_metric.setdefault(metric, []).append(rule["alert"])
    for needed in ("ami_workflow_tasks_failing", "ami_emails_pending_over_hour", "ami_emails_bounced", "ami_candidatures_stuck"):
        assert needed in by_metric, f"aucune alerte sur {needed}"


def test_dashboard_uses_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {m for e in exprs for m in _METRIC.findall(e)}
    assert all(_known(m) for m in used), sorted(m for m in used if not _known(m))
    assert {"ami_candidatures", "ami_emails_sent", "ami_emails_retried", "ami_emails_bounced", "ami_timers_due_next_24h"} <= used
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "ami.yml").read_text(encoding="utf-8"))
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def dashboard_sdk_metrics() -> set[str]:
    """The SDK metrics the dashboard reads, without histogram suffixes (for the live check)."""
    dashboard = json.loads(Path(DASHBOARD).read_text(encoding="utf-8"))
    used = {m for panel in dashboard["panels"] for t in panel["targets"] for m in _METRIC.findall(t["expr"])}
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in used if m.startswith("temporal_")} - SDK_EVENT_COUNTERS


def test_the_live_list_covers_the_dashboard() -> None:
    assert dashboard_sdk_metrics() <= LIVE_SDK_METRICS


def test_the_server_enables_worker_versioning(compose: dict[str, Any]) -> None:
    temporal = services(compose)["temporal"]
    path = environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"]
    mount = next(v for v in temporal["volumes"] if str(v).startswith("./deploy/temporal/"))
    source, target, _ = str(mount).split(":")
    assert target == "/etc/temporal/" + path, "le serveur lit sa configuration dynamique depuis /etc/temporal"
    config = yaml.safe_load((ROOT / source).read_text(encoding="utf-8"))
    assert config["system.enableDeploymentVersions"] == [{"value": True}]
    assert config["frontend.workerVersioningWorkflowAPIs"] == [{"value": True}]
