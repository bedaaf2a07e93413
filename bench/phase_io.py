"""Phase 6: documents/s and emails/s into the sink, against bare fpdf2 and a raw aiosmtplib loop."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from ami.app.examples import example
from bench.baseline_effects import parsed_message, plain_message, plain_send, summary_words
from bench.benchcore import Bench, log, stamp


async def io(bench: Bench) -> None:
    from temporalio.testing import ActivityEnvironment

    from ami.activities.documents import DocumentActivities
    from ami.activities.email import EmailActivities
    from ami.infra.store import store_for
    from ami.models.activity_payloads import SendEmailInput
    from ami.models.document_requests import SummaryRequest
    from bench.baseline import bare_pdf, bare_pdf_same_text, bare_send, bare_send_raw

    store = store_for(bench.settings.resolved_database_url())
    docs = DocumentActivities(bench.settings, store)
    mails = EmailActivities(bench.settings, store)
    env = ActivityEnvironment()
    d, m = bench.args.docs, bench.args.emails
    form = example("01-henin-carvin")
    tag = stamp()
    zone = "Europe/Paris"
    now = datetime.now(UTC)

    def summary(i: int) -> dict[str, Any]:
        return {
            "receipt_number": f"AMI-2024-{i:04d}",
            "campaign_name": bench.file_plan.name,
            "received_at": now.isoformat(),
            "form": form.model_dump(mode="json"),
            "official_name": "CA d'Hénin-Carvin",
            "kind_label": "communauté d'agglomération",
            "departement": "62",
        }

    # Documents: the engine's activity (render, hash, write, record) vs a bare one-page fpdf2 PDF.
    await env.run(
        docs.make_document, SummaryRequest.model_validate({"workflow_id": f"bench-doc-{tag}", "receipt_number": "W", "data": summary(0)})
    )
    t = time.perf_counter()
    refs = []
    for i in range(d):
        refs.append(
            await env.run(
                docs.make_document,
                SummaryRequest.model_validate({"workflow_id": f"bench-doc-{tag}", "receipt_number": f"R{i}", "data": summary(i + 1)}),
            )
        )
    engine_docs = d / (time.perf_counter() - t)
    from ami.infra.documents import pdf
    from ami.models.documents import SummaryDocInput

    t = time.perf_counter()
    for i in range(d):
        pdf.summary_pdf(SummaryDocInput.model_validate(summary(i + 1)))
    render_docs = d / (time.perf_counter() - t)
    bare_pdf(0)
    t = time.perf_counter()
    for i in range(d):
        bare_pdf(i)
    bare_docs = d / (time.perf_counter() - t)
    # The same words in the same font files: what fpdf2 itself costs for this document's text.
    texts, regular, bold = summary_words(form)
    bare_pdf_same_text(texts, regular, bold)
    t = time.perf_counter()
    for _ in range(d):
        bare_pdf_same_text(texts, regular, bold)
    same_text_docs = d / (time.perf_counter() - t)

    # Emails: the engine's activity (render, outbox, SMTP with the summary attached, mark) vs raw sends.
    context = {
        "campaign": {"id": "ami-2024", "name": bench.file_plan.name, "timezone": zone},
        "receipt_number": "AMI-2024-0001",
        "collectivite": {"name": form.collectivite.name, "official_name": "CA d'Hénin-Carvin"},
        "received_at": now.isoformat(),
        "deadline_at": bench.file_plan.deadline_at.isoformat(),
        "response_at": bench.file_plan.response_at.isoformat(),
        "reasons": [],
        "decision": None,
        "confirmation_deadline": None,
        "attendance": [],
    }

    def mail(i: int) -> SendEmailInput:
        return SendEmailInput(
            workflow_id=f"bench-mail-{tag}-{i}",
            purpose="receipt",
            occurrence="1",
            to=form.recipients(),
            context=context,
            attachments=[refs[0]],
        )

    await env.run(mails.send_email, mail(-1))
    t = time.perf_counter()
    for i in range(m):
        outcome = await env.run(mails.send_email, mail(i))
        assert outcome.status == "sent", outcome
    engine_mail = m / (time.perf_counter() - t)
    raw = bench.sink.received[-1][1]  # the engine's last message, as the sink received it
    await bare_send(bench.sink.port, -1)
    t = time.perf_counter()
    for i in range(m):
        await bare_send(bench.sink.port, i)
    bare_mail = m / (time.perf_counter() - t)
    # The engine's own bytes (summary attached) over raw aiosmtplib: SMTP's cost for that message.
    from ami.infra.mail.message import envelope

    sender, recipients = envelope(raw)
    t = time.perf_counter()
    for _ in range(m):
        await bare_send_raw(bench.sink.port, raw, sender, recipients)
    same_bytes_mail = m / (time.perf_counter() - t)
    # The same content built by the standard library and sent: what any sender of this email must do.
    plain = plain_message(parsed_message(raw), refs[0].path)
    await plain_send(bench.sink.port, plain, -1)
    t = time.perf_counter()
    for i in range(m):
        await plain_send(bench.sink.port, plain, i)
    plain_mail = m / (time.perf_counter() - t)
    bench.results["io"] = {
        "documents": d,
        "docs_per_s": round(engine_docs, 1),
        "render_only_docs_per_s": round(render_docs, 1),
        "bare_docs_per_s": round(bare_docs, 1),
        "docs_ratio": round(bare_docs / engine_docs, 2),
        "same_text_docs_per_s": round(same_text_docs, 1),
        "same_text_ratio": round(same_text_docs / engine_docs, 2),
        "emails": m,
        "emails_per_s": round(engine_mail, 1),
        "bare_emails_per_s": round(bare_mail, 1),
        "emails_ratio": round(bare_mail / engine_mail, 2),
        "same_bytes_emails_per_s": round(same_bytes_mail, 1),
        "same_bytes_ratio": round(same_bytes_mail / engine_mail, 2),
        "plain_built_emails_per_s": round(plain_mail, 1),
        "plain_built_ratio": round(plain_mail / engine_mail, 2),
        "email_bytes": len(raw),
    }
    bench.results["io"] |= await documents_beside_workflows(bench, summary, tag)
    log(f"io: {bench.results['io']}")


# --- Documents in a thread of the worker's process, or in the document processes ----------------


async def documents_beside_workflows(bench: Bench, summary: Any, tag: str) -> dict[str, Any]:
    """What the documents' rendering costs the workflow tasks of the same process: bare workflows
    (one activity each, on the bench's baseline worker, in this process), one after the other,
    while four summaries at a time are rendered through `make_document`, in a thread of this process
    (AMI_DOCUMENT_PROCESSES=0) or in one document process (ami/infra/documents/pool.py); the event
    loop's lag is sampled meanwhile. Also the documents/s of the activity, one at a time, through the pool."""
    from temporalio.testing import ActivityEnvironment

    from ami.activities.documents import DocumentActivities
    from ami.infra.documents.pool import DocumentPool
    from ami.infra.store import store_for
    from ami.models.document_requests import SummaryRequest
    from bench.baseline import BaselineWorkflow

    store = store_for(bench.settings.resolved_database_url())
    env = ActivityEnvironment()
    rounds = max(10, bench.args.docs)

    def request(i: int) -> SummaryRequest:
        return SummaryRequest.model_validate({"workflow_id": f"bench-pool-{tag}", "receipt_number": f"P{i}", "data": summary(1000 + i)})

    async def workflow_latencies(count: int) -> list[float]:
        out = []
        for i in range(count):
            t = time.perf_counter()
            handle = await bench.client.start_workflow(
                BaselineWorkflow.run, args=[1, 0], id=f"bench-pool-wf-{tag}-{stamp()}-{i}", task_queue="bench-baseline"
            )
            await handle.result()
            out.append(time.perf_counter() - t)
        return out

    async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - t - 0.005)

    def ms(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0

    out: dict[str, Any] = {"beside_quiet_wf_p50_ms": ms(await workflow_latencies(rounds), 0.5)}
    for mode, processes in (("thread", 0), ("pool", 1)):
        pool = DocumentPool(processes)
        pool.start()
        docs = DocumentActivities(bench.settings, store, pool)
        await env.run(docs.make_document, request(-1))  # the process is up and warm
        if processes:
            t = time.perf_counter()
            for i in range(bench.args.docs):
                await env.run(docs.make_document, request(i))
            out["pool_docs_per_s"] = round(bench.args.docs / (time.perf_counter() - t), 1)
        stop, lags, rendered = asyncio.Event(), list[float](), [0]

        async def render(k: int, docs: DocumentActivities = docs, stop: asyncio.Event = stop, rendered: list[int] = rendered) -> None:
            while not stop.is_set():
                await env.run(docs.make_document, request(rendered[0] % 7 + 10 * k))
                rendered[0] += 1

        t = time.perf_counter()
        load = [asyncio.create_task(render(k)) for k in range(4)] + [asyncio.create_task(loop_lag(stop, lags))]
        latencies = await workflow_latencies(rounds)
        stop.set()
        await asyncio.gather(*load)
        elapsed = time.perf_counter() - t
        pool.shutdown()
        out[f"beside_{mode}_wf_p50_ms"] = ms(latencies, 0.5)
        out[f"beside_{mode}_wf_max_ms"] = ms(latencies, 1.0)
        out[f"beside_{mode}_loop_lag_p99_ms"] = ms(lags, 0.99)
        out[f"beside_{mode}_loop_lag_max_ms"] = ms(lags, 1.0)
        out[f"beside_{mode}_docs_per_s"] = round(rendered[0] / elapsed, 1)
    log(f"io: documents beside workflows: {out}")
    return out
