"""The bare baselines: a workflow with as many activities and timers as a real candidature, with
empty bodies; a template-less PDF; a raw SMTP send."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def empty_activity(step: int) -> None:
    return None


async def steps(activities: int, local_activities: int, start: int = 0, kinds: Sequence[str] = (), local: str = "empty_activity") -> int:
    """Activities, each after a local activity while those last (as the engine writes its journal row
    before the side effect it causes); numbered from `start`. Returns how many ran.

    Each is `empty_activity` unless named otherwise: the step-th activity by `kinds[step]` while
    `kinds` lasts, every local activity by `local` (the floor with side effects,
    bench/baseline_effects.py)."""
    done = 0
    for step in range(max(activities, local_activities)):
        if step < local_activities:
            await workflow.execute_local_activity(local, start + step, start_to_close_timeout=timedelta(seconds=30))
            done += 1
        if step < activities:
            name = kinds[step] if step < len(kinds) else "empty_activity"
            await workflow.execute_activity(name, start + step, start_to_close_timeout=timedelta(seconds=60))
            done += 1
    return done


@workflow.defn(sandboxed=True)
class BaselineWorkflow:
    """`activities` empty activities, each after an empty local activity while `local_activities`
    last (as the engine writes its journal row before the side effect it causes), then `timers`
    one-millisecond timers, one after the other."""

    @workflow.run
    async def run(self, activities: int, timers: int, local_activities: int = 0) -> int:
        done = await steps(activities, local_activities)
        for _ in range(timers):
            await workflow.sleep(timedelta(milliseconds=1))
            done += 1
        return done


def bare_pdf(i: int) -> bytes:
    """One A4 page, a core font, two lines: what fpdf2 costs without our templates and fonts."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, f"Recapitulatif de candidature AMI-2024-{i:04d}")
    pdf.ln()
    pdf.multi_cell(0, 8, "Collectivite : commune de test. Date de reception : 12/07/2024.")
    return bytes(pdf.output())


async def bare_send(port: int, i: int) -> None:
    """A minimal text message over a fresh SMTP connection (as aiosmtplib.send does for the engine)."""
    from email.message import EmailMessage

    import aiosmtplib

    msg = EmailMessage()
    msg["From"] = "ami@example.org"
    msg["To"] = f"contact.{i}@example.org"
    msg["Subject"] = "Accuse de reception"
    msg["Message-ID"] = f"<bare-{i}@bench.example.org>"
    msg.set_content("Votre candidature a bien ete recue.")
    await aiosmtplib.send(msg, hostname="127.0.0.1", port=port)


def bare_pdf_same_text(texts: list[str], regular: str, bold: str) -> bytes:
    """The same words as the engine's summary in the same font files, each a plain paragraph, the
    font added the ordinary way (`add_font`, parsed per document): fpdf2's own cost for that text."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF()
    pdf.add_font("DejaVu", "", regular)
    pdf.add_font("DejaVu", "B", bold)
    pdf.add_page()
    for i, text in enumerate(texts):
        pdf.set_font("DejaVu", "B" if i % 2 == 0 else "", 10)
        pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


async def bare_send_raw(port: int, raw: bytes, sender: str, recipients: list[str]) -> None:
    """The bytes of one of the engine's emails (attachment included), sent as they are."""
    import aiosmtplib

    await aiosmtplib.send(raw, sender=sender, recipients=recipients, hostname="127.0.0.1", port=port)
