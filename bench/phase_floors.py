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


async def effects_shape(bench: Bench, shape: Shape, prefix: str, forms: list[CandidatureFile]) -> tuple[Any, dict[str, Any]]:
    """The shape of the floor with side effects: the engine's mean emails and documents per
    candidature in this run (its outbox and document rows for `prefix`), loaded with a sample of its
    messages and the words of its summary and letter. Returns the shape and what it was sized from."""
    from bench.baseline_effects import document_words, messages_from
    from bench.baseline_messages import BareShape

    emails, documents = bench.probe.rows("emails", prefix), bench.probe.rows("documents", prefix)
    sample = bench.probe.sample_emails(prefix, EMAIL_SAMPLE)
    await bench.plain.load(messages_from(sample, bench.plain.directory / f"attachments-{stamp()}"), document_words(forms[0]))
    n = len(forms)
    each = BareShape(
        shape.activities, shape.local_activities, shape.timers, effects=True, emails=round(emails / n), documents=round(documents / n)
    )
    return each, {"emails": emails, "documents": documents, "candidatures": n, "messages_sampled": len(sample)}


async def floors_with_messages(
    bench: Bench, forms: list[CandidatureFile], members: list[str], comment: str | None, shape: Shape, prefix: str, response_after: float
) -> dict[str, Any]:
    """Both floors, one after the other, for the engine's `forms` scored by `members`, their decisions
    taking effect `response_after` seconds after the first score (the engine's response date, after
    its deadline); a floor that fails is recorded as its error, the other figures kept."""
    from bench.baseline_messages import BareShape, floor_with_messages

    plain, marks = plain_forms(forms), bare_marks(forms, members, comment)
    out: dict[str, Any] = {}
    empty = BareShape(shape.activities, shape.local_activities, shape.timers)
    for name, effects in (("baseline_with_messages", False), ("baseline_with_effects", True)):
        try:
            each, sized = await effects_shape(bench, shape, prefix, forms) if effects else (empty, None)
            before = dict(bench.plain.counts)
            result = await floor_with_messages(
                bench.client, "bench-baseline", plain, marks, each, bench.args.concurrency, f"bench-bare-campaign-{stamp()}", response_after
            )
            if sized is not None:
                done = {k: v - before[k] for k, v in bench.plain.counts.items()}
                result.update(sized_from=sized, emails_each=each.emails, documents_each=each.documents, effects_done=done)
        except Exception as error:  # noqa: BLE001 - the engine's figures are kept; the floor's error is one of them
            out[f"{name}_error"] = repr(error)[:300]
            log(f"the bare floor {name}: failed, {error!r}")
        else:
            out[name] = result
            log(f"the bare floor {name}: {result}")
    return out


def ratios(out: dict[str, Any]) -> None:
    """`ratio_with_messages` and `ratio_with_effects`: the engine's work over each floor's, when both ran whole."""
    for floor, ratio in (("baseline_with_messages", "ratio_with_messages"), ("baseline_with_effects", "ratio_with_effects")):
        figures = out.get(floor)
        if out.get("work_s") and figures and not figures["failed"]:
            out[ratio] = round(out["work_s"] / figures["work_s"], 2)
