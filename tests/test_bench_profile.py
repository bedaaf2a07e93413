"""The profile breakdown of the bench (`python -m bench.profile`): samples go to the most specific
part of the engine their stack names; waiting samples are idle."""

from __future__ import annotations

from bench.profile import breakdown

RAW = "\n".join(
    [
        "main (bench/run.py:1);make_document (ami/activities/documents.py:9);FPDF.multi_cell (fpdf/fpdf.py:3) 5",
        "main (bench/run.py:1);render (ami/infra/documents/_pdf_base.py:2);OutputProducer._add_fonts (fpdf/output.py:7) 3",
        "_worker (concurrent/futures/thread.py:1);record_transition (ami/infra/store.py:5);do_execute (sqlalchemy/engine/default.py:9) 2",
        "run (asyncio/runners.py:1);_run_once (asyncio/base_events.py:2);poll (select.epoll:0) 40",
        " 4",
    ]
)


def test_breakdown_sorts_busy_samples_by_part() -> None:
    result = breakdown(RAW)
    assert (result.samples, result.idle, result.native, result.busy) == (54, 40, 4, 14)
    assert result.parts == {
        "documents: fpdf2 text layout": 5,
        "documents: fonts embedded (fpdf2, fontTools)": 3,
        "store: SQLAlchemy and SQLite, files": 2,
    }
    assert result.lines()[1].endswith("documents: fpdf2 text layout")


def test_the_sdk_payload_passes_are_told_apart_from_the_workflow_code() -> None:
    activation = "_handle_activation (temporalio/worker/_workflow.py:310)"
    raw = "\n".join(
        [
            f"run (asyncio/runners.py:1);{activation};encode_completion (temporalio/bridge/worker.py:341);"
            "get_serialization_context (temporalio/worker/workflow_sandbox/_runner.py:206) 7",
            f"run (asyncio/runners.py:1);{activation};decode_activation (temporalio/bridge/worker.py:307) 2",
            "_worker (concurrent/futures/thread.py:1);activate (temporalio/worker/workflow_sandbox/_runner.py:160);"
            "_send (ami/workflows/candidature_effects.py:161);execute_activity (temporalio/workflow.py:9) 3",
            "_worker (concurrent/futures/thread.py:1);activate (temporalio/worker/workflow_sandbox/_runner.py:160) 4",
        ]
    )
    assert breakdown(raw).parts == {
        "SDK payload passes (each payload enters the sandbox)": 9,
        "workflow code (ours, and the SDK calls it makes)": 3,
        "SDK workflow activations and sandbox": 4,
    }
