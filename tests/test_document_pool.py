"""The worker's document processes (ami/infra/documents/pool.py): the same bytes as a thread of the
worker, the same errors for a bad input, a killed process gives a retryable failure then a new pool,
and the processes stop with the worker. One pool process is shared by the module's tests (each
spawn imports fpdf2 and the renderers: about a second of CPU)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.failure.v1 import Failure
from temporalio.common import RetryPolicy
from temporalio.converter import DataConverter
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ami.activities.documents import DocumentActivities
from ami.infra.documents.pool import DocumentPool, RenderProcessLost, _render_in_child
from ami.infra.documents.render import RENDERERS
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.document_requests import SummaryRequest
from ami.models.documents import CertificateInput
from ami.models.values import DocumentKind, DocumentRef
from ami.worker.runner import build_worker
from tests.test_documents import _campaign_report, _certificate, _collectivite_report, _decision, _summary

CASES: list[tuple[DocumentKind, BaseModel]] = [
    (DocumentKind.SUMMARY, _summary()),
    # Greek and Cyrillic: the full fonts, which the processes do not parse in advance.
    (DocumentKind.SUMMARY, _summary().model_copy(update={"official_name": "Δήμος Αθηναίων — Москва"})),
    (DocumentKind.DECISION_LETTER, _decision("selected")),
    (DocumentKind.DECISION_LETTER, _decision("waitlisted")),
    (DocumentKind.CERTIFICATE, _certificate()),
    (DocumentKind.COLLECTIVITE_REPORT, _collectivite_report()),
    (DocumentKind.CAMPAIGN_REPORT, _campaign_report()),
]


@pytest.fixture(scope="module")
def pool() -> Iterator[DocumentPool]:
    documents = DocumentPool(1)
    documents.start()
    yield documents
    documents.shutdown()


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'ami.db'}")


async def _running(pool: DocumentPool) -> list[int]:
    """The pool's process ids, once it has started one."""
    for _ in range(200):
        if pids := pool.pids():
            return pids
        await asyncio.sleep(0.05)
    raise AssertionError("aucun processus de rendu n'a démarré")


async def test_a_process_renders_the_same_bytes_as_a_thread(pool: DocumentPool, tmp_path: Path) -> None:
    in_thread, in_process = DocumentPool(0), pool
    for kind, data in CASES:
        path_t, digest_t = await in_thread.render(kind, data, demo=False, data_dir=tmp_path / "thread")
        path_p, digest_p = await in_process.render(kind, data, demo=False, data_dir=tmp_path / "process")
        assert digest_p == digest_t, kind
        assert Path(path_p).read_bytes() == Path(path_t).read_bytes() == RENDERERS[kind](data, demo=False)
        assert Path(path_p).relative_to(tmp_path / "process") == Path(path_t).relative_to(tmp_path / "thread")
    demo_t = await in_thread.render(*CASES[0], demo=True, data_dir=tmp_path / "thread")
    demo_p = await in_process.render(*CASES[0], demo=True, data_dir=tmp_path / "process")
    assert demo_p[1] == demo_t[1] != digest_t  # the demonstration mark crosses too
    assert (os.stat(path_p).st_mode & 0o777) == 0o600  # written by the process, private as before


async def test_a_bad_input_fails_as_in_a_thread(pool: DocumentPool, tmp_path: Path) -> None:
    wrong = CertificateInput.model_validate(_certificate().model_dump())  # a certificate's input for a summary
    errors = []
    for documents in (DocumentPool(0), pool):
        with pytest.raises(Exception) as caught:
            await documents.render(DocumentKind.SUMMARY, wrong, demo=False, data_dir=tmp_path)
        errors.append(caught.value)
    in_thread, in_process = errors
    assert type(in_process) is type(in_thread) and str(in_process) == str(in_thread)
    assert not isinstance(in_process, RenderProcessLost)
    assert pool.pids(), "une erreur du document ne doit pas arrêter le processus"


async def _in_flight(pool: DocumentPool) -> None:
    """Until the pool holds a render (sent to its process, no result yet)."""
    for _ in range(5000):
        pending = getattr(pool._executor, "_pending_work_items", None) or {}
        if any(item.fn is _render_in_child for item in list(pending.values())):
            return
        await asyncio.sleep(0.001)
    raise AssertionError("aucun rendu en cours")


def _failure(error: BaseException) -> tuple[str, bool]:
    """The error as the worker reports it to Temporal: its type and whether it is non-retryable."""
    failure = Failure()
    DataConverter.default.failure_converter.to_failure(error, DataConverter.default.payload_converter, failure)
    return failure.application_failure_info.type, failure.application_failure_info.non_retryable


async def test_a_killed_process_fails_the_attempt_retryably_then_a_new_pool_renders(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    documents = DocumentPool(1)
    activities = DocumentActivities(settings, store_for(settings.resolved_database_url()), documents)
    request = SummaryRequest(workflow_id="candidature-x", receipt_number="AMI-2024-0007", data=_summary())
    env = ActivityEnvironment()
    try:
        first = await env.run(activities.make_document, request)
        for pid in await _running(documents):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(RenderProcessLost) as caught:
            await env.run(activities.make_document, request)
        assert _failure(caught.value) == ("RenderProcessLost", False)
        assert documents.started == 2  # the broken pool was replaced at once
        again = await env.run(activities.make_document, request)
        assert again == first  # the same document, at the same path
        # Killed while rendering: the render in flight fails the same way.
        rendering = asyncio.ensure_future(env.run(activities.make_document, request))
        await _in_flight(documents)
        for pid in documents.pids():
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(RenderProcessLost):
            await rendering
        assert await env.run(activities.make_document, request) == first
    finally:
        documents.shutdown()


@workflow.defn(sandboxed=False)
class MakeOneDocument:
    @workflow.run
    async def run(self, request: SummaryRequest) -> DocumentRef:
        ref: DocumentRef = await workflow.execute_activity(
            "make_document",
            request,
            result_type=DocumentRef,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
        )
        return ref


async def test_temporal_retries_a_document_whose_process_died(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    documents = DocumentPool(1)
    documents.start()
    activities = DocumentActivities(settings, store_for(settings.resolved_database_url()), documents)
    request = SummaryRequest(workflow_id="candidature-y", receipt_number="AMI-2024-0008", data=_summary())
    queue = f"pool-{tmp_path.name}"
    try:
        for pid in await _running(documents):
            os.kill(pid, signal.SIGKILL)  # before the first attempt: that attempt finds a broken pool
        async with Worker(
            time_env.client,
            task_queue=queue,
            workflows=[MakeOneDocument],
            activities=[activities.make_document],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            handle = await time_env.client.start_workflow(MakeOneDocument.run, request, id=f"pool-{tmp_path.name}", task_queue=queue)
            ref = await handle.result()
            attempts = [e for e in [e async for e in handle.fetch_history_events()] if e.HasField("activity_task_started_event_attributes")]
        assert attempts[-1].activity_task_started_event_attributes.attempt == 2
        assert ref.sha256 == (await DocumentPool(0).render(DocumentKind.SUMMARY, _summary(), demo=False, data_dir=tmp_path / "t"))[1]
        assert Path(ref.path).exists()
    finally:
        documents.shutdown()


async def test_the_processes_start_and_stop_with_the_worker(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"document_processes": 1, "task_queue": f"pool-{tmp_path.name}"})
    worker = build_worker(time_env.client, settings)
    assert worker.documents.pids() == []  # nothing runs before the worker does
    async with worker:
        pids = await _running(worker.documents)
    assert worker.documents.pids() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped and reaped


def test_zero_processes_renders_in_a_thread_and_starts_nothing() -> None:
    documents = DocumentPool(0)
    documents.start()
    assert documents.pids() == [] and documents.started == 0
    with pytest.raises(ValueError):
        DocumentPool(-1)


_KILLED_WORKER = """
import time
from ami.infra.documents.pool import DocumentPool
pool = DocumentPool(1)
pool.start()
pool._current().submit(time.monotonic).result()  # started, warm, watching its parent
print(pool.pids()[0], flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return "\nState:\tZ" not in status.read()  # a zombie has exited
    except FileNotFoundError:
        return False


def test_the_processes_leave_when_the_worker_is_killed() -> None:
    """A worker killed outright (SIGKILL, the OOM killer) cannot stop its processes: they leave by themselves."""
    worker = subprocess.Popen([sys.executable, "-c", _KILLED_WORKER], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    assert worker.stdout is not None
    child = int(worker.stdout.readline())
    worker.kill()
    worker.wait()
    deadline = time.monotonic() + 15
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(child):
        os.kill(child, signal.SIGKILL)
        raise AssertionError("le processus de rendu a survécu au worker")


class _WontUnpickle(Exception):
    def __init__(self, what: str, where: str) -> None:
        super().__init__(f"{what} à {where}")  # unpickling calls __init__ with this one string


def test_an_error_that_cannot_cross_back_is_named_not_lost(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An exception that would not unpickle in the worker would break the pool: it crosses as a RenderError."""
    import ami.infra.documents.pool as pool_module

    def failing(error: Exception) -> None:
        def render(*_: object) -> tuple[str, str]:
            raise error

        monkeypatch.setattr(pool_module, "render_to_store", render)

    failing(_WontUnpickle("ligne", "page 2"))
    with pytest.raises(pool_module.RenderError, match="^_WontUnpickle: ligne à page 2$"):
        _render_in_child(DocumentKind.SUMMARY, _summary(), False, tmp_path)
    failing(ValueError("trop long"))
    with pytest.raises(ValueError, match="^trop long$"):
        _render_in_child(DocumentKind.SUMMARY, _summary(), False, tmp_path)
