"""The floors with the campaign's messages, run beside the engine in the throughput and region phases.

Two bare floors after the plain one (bench/baseline.py), each a campaign with the engine's
submissions and scores (bench/baseline_messages.py):

- with messages: empty activities;
- with messages and side effects: the same activities doing the engine's work plainly
  (bench/baseline_effects.py), as many emails and documents per candidature as the engine wrote
  in the same run, sampled from its own outbox.

The engine's time over the second is what our way of doing the work costs; over the first, what the
work costs at all.
"""

from __future__ import annotations

from typing import Any

from ami.models.candidature import CandidatureFile
from bench.benchcore import Bench, log, marks_for, stamp
from bench.common import Shape

EMAIL_SAMPLE = 300  # of the engine's messages, rebuilt by the floor with side effects


def plain_forms(forms: list[CandidatureFile]) -> list[dict[str, Any]]:
    """The forms as plain JSON, each with the key the bare campaign files it under."""
    return [{"key": f.collectivite.identifier, **f.model_dump(mode="json")} for f in forms]


def bare_marks(forms: list[CandidatureFile], members: list[str], comment: str | None) -> list[tuple[str, str, dict[str, int], str | None]]:
    """The scores the engine's bench sends: each member scores each form, marks as `marks_for`."""
    return [(f.collectivite.identifier, member, marks_for(i), comment) for i, f in enumerate(forms) for member in members]


def engine_work(bench: Bench, prefix: str, n: int) -> dict[str, int]:
    """The emails and documents the engine wrote for the candidatures of `prefix` in this run, and
    their means per candidature (rounded: the floor gives each the same)."""
    emails, documents = bench.probe.rows("emails", prefix), bench.probe.rows("documents", prefix)
    return {
        "emails": emails,
        "documents": documents,
        "candidatures": n,
        "emails_each": round(emails / n),
        "documents_each": round(documents / n),
    }


async def floors_with_messages(
    bench: Bench, forms: list[CandidatureFile], members: list[str], comment: str | None, shape: Shape, prefix: str, response_after: float
) -> dict[str, Any]:
    """Both floors, one after the other, for the engine's `forms` scored by `members`, their decisions
    taking effect `response_after` seconds after the first score (the engine's response date, after
    its deadline); a floor that fails is recorded as its error, the other figures kept. Both have the
    engine's count of emails and documents per candidature, the first as empty activities; the
    second does them, from a sample of the engine's messages and the words of its documents."""
    from bench.baseline_effects import document_words, messages_from
    from bench.baseline_messages import BareShape, floor_with_messages

    plain, marks = plain_forms(forms), bare_marks(forms, members, comment)
    work = engine_work(bench, prefix, len(forms))
    out: dict[str, Any] = {"engine_work": work}
    for name, effects in (("baseline_with_messages", False), ("baseline_with_effects", True)):
        each = BareShape(
            shape.activities, shape.local_activities, shape.timers, effects, emails=work["emails_each"], documents=work["documents_each"]
        )
        try:
            if effects:
                sample = bench.probe.sample_emails(prefix, EMAIL_SAMPLE)
                await bench.plain.load(
                    messages_from(sample, bench.plain.directory / f"attachments-{stamp()}"),
                    document_words(forms[0], bench.file_plan.signatory),
                )
            before = dict(bench.plain.counts)
            result = await floor_with_messages(
                bench.client, "bench-baseline", plain, marks, each, bench.args.concurrency, f"bench-bare-campaign-{stamp()}", response_after
            )
            result.update(emails_each=each.emails, documents_each=each.documents, effects=effects)
            if effects:
                result.update(messages_sampled=len(sample), effects_done={k: v - before[k] for k, v in bench.plain.counts.items()})
        except Exception as error:  # noqa: BLE001 - the engine's figures are kept; the floor's error is one of them
            out[f"{name}_error"] = repr(error)[:300]
            log(f"the bare floor {name}: failed, {error!r}")
        else:
            out[name] = result
            log(f"the bare floor {name}: {result}")
    return out


def ratios(out: dict[str, Any], complete: bool) -> None:
    """The engine's work over each floor's, when the engine and the floor ran whole:
    `ratio_with_messages` and `ratio_with_effects`; and the same with the wait for the response date
    taken out of both (`..._less_wait`), which is idle time in each and pulls a ratio towards 1."""
    wait = out.get("response_after_deadline_s") or 0.0
    for floor, ratio in (("baseline_with_messages", "ratio_with_messages"), ("baseline_with_effects", "ratio_with_effects")):
        figures = out.get(floor)
        if complete and out.get("work_s") and figures and not figures["failed"]:
            out[ratio] = round(out["work_s"] / figures["work_s"], 2)
            out[f"{ratio}_less_wait"] = round((out["work_s"] - wait) / max(1e-9, figures["work_s"] - wait), 2)


def response_after(plan: Any) -> float:
    """Seconds from the plan's deadline to its response date: what the decisions wait for."""
    return round(float((plan.response_at - plan.deadline_at).total_seconds()), 2)
