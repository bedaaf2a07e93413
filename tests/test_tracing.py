"""Optional tracing: with AMI_OTEL_ENDPOINT, `ami.infra.client.connect` gives a client (and its
workers) the SDK's tracing interceptor; the spans of a submitted candidature reach an OTLP/HTTP
collector (here a local HTTP server that keeps what it receives)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.infra.client import connect
from ami.infra.settings import Settings
from ami.infra.tracing import flush, tracing_interceptors
from ami.models.campaign import load_campaign
from ami.models.workflow_ids import candidature_workflow_id
from ami.worker.runner import build_worker
from tests.time_skipping import end_quietly


@pytest.fixture
def collector() -> Iterator[tuple[str, list[str]]]:
    names: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            request = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
            names.extend(span.name for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", names
    finally:
        server.shutdown()


def test_no_endpoint_no_interceptor() -> None:
    assert tracing_interceptors("") == []


async def test_spans_reach_the_collector(
    time_env: WorkflowEnvironment, settings: Settings, collector: tuple[str, list[str]], tmp_path: Path
) -> None:
    endpoint, names = collector
    traced = settings.model_copy(update={"temporal_address": time_env.client.service_client.config.target_host, "otel_endpoint": endpoint})
    client = await connect(traced)
    now = await time_env.get_current_time()
    plan = load_campaign("ami-2024").plan().compressed(now - timedelta(minutes=1), 1.0).model_copy(update={"id": "traced"})
    async with build_worker(client, traced):
        campaign = await start_campaign(client, plan, traced.task_queue, search_attributes=False)
        coord = Coordination(client, plan.id)
        form = example("01-henin-carvin")
        await coord.submit(form)
        for _ in range(100):
            if (await coord.candidature_status(form.collectivite.identifier)).state == "eligibility_checked":
                break
            await asyncio.sleep(0.1)
        # Ended once quiet, while the worker runs: a workflow terminated with a task in flight would
        # leave the shared time-skipping server unable to skip time (docs/testing.md).
        await end_quietly(client, [candidature_workflow_id(plan.id, form.collectivite.identifier), campaign.id])
    assert await asyncio.to_thread(flush, endpoint)
    for expected in (
        "StartWorkflow:CampaignWorkflow",
        "RunWorkflow:CampaignWorkflow",
        "RunWorkflow:CandidatureWorkflow",
        "RunActivity:send_email",
    ):
        assert expected in names, sorted(set(names))
