"""Where a bench run's CPU goes, by part of the engine, from a py-spy profile.

    py-spy record -r 50 -f raw -o run.raw -- python -m bench.run --only throughput --n 40 --per-campaign 40
    python -m bench.profile run.raw

py-spy samples every thread of the process (workflow activations on the event loop, activities in
the thread pool); a sample whose innermost frame waits (poll, a lock, a queue) is idle and left out.
Each busy sample goes to the first part whose marks appear in its stack, in the order of `PARTS`:
a PDF rendered inside an activity counts as "documents", not as "activity plumbing".
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# (part, marks in a frame's "function (file:line)" text), most specific first.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("documents: fpdf2 text layout", ("fpdf/line_break.py", "FPDF.multi_cell", "FPDF.cell", "fpdf/text_region.py")),
    ("documents: fonts embedded (fpdf2, fontTools)", ("OutputProducer._add_fonts", "fontTools/")),
    ("documents: the rest (ours and fpdf2)", ("ami/infra/documents/", "fpdf/", "docx/")),
    ("SMTP sink (the bench's receiver, not the engine)", ("aiosmtpd/",)),
    ("emails: MIME, templates, SMTP", ("ami/infra/mail/", "ami/activities/email.py", "email/", "aiosmtplib/", "jinja2/")),
    ("store: SQLAlchemy and SQLite, files", ("ami/infra/store.py", "sqlalchemy/", "sqlite3", "ami/infra/private_files.py")),
    # On every activation the SDK walks the payloads three times each way; in the sandbox each payload
    # asks the workflow instance for its serialization context (bench/replay_parts.py).
    ("SDK payload passes (each payload enters the sandbox)", ("decode_activation (", "encode_completion (")),
    ("workflow code (ours, and the SDK calls it makes)", ("ami/workflows/",)),
    ("SDK workflow activations and sandbox", ("temporalio/worker/_workflow", "temporalio/worker/workflow_sandbox/")),
    ("activity plumbing (SDK)", ("temporalio/worker/_activity.py",)),
    (
        "data converter and payloads",
        ("temporalio/converter.py", "temporalio/contrib/pydantic.py", "pydantic", "temporalio/bridge/_visitor.py"),
    ),
    ("client calls (bench driving the engine)", ("temporalio/client.py", "temporalio/service.py", "ami/app/ops", "bench/")),
    ("activity threads waking the event loop", ("call_soon_threadsafe",)),
)
IDLE = ("poll (", "select (", "wait (", "acquire (", "sleep (", "_worker (concurrent", "recv_into (", "accept (")


@dataclass
class Breakdown:
    samples: int
    idle: int
    native: int  # busy samples with no Python frame: the SDK core's threads (Rust)
    parts: Counter[str]

    @property
    def busy(self) -> int:
        return self.samples - self.idle

    def lines(self) -> list[str]:
        busy = max(1, self.busy)
        out = [f"{self.samples} samples, {self.busy} busy ({100 * self.busy / max(1, self.samples):.0f} %)"]
        rows = [*self.parts.most_common(), ("SDK core threads (no Python frame)", self.native)]
        for part, n in sorted(rows, key=lambda r: -r[1]):
            out.append(f"{100 * n / busy:5.1f} %  {n:7d}  {part}")
        return out


def breakdown(raw: str) -> Breakdown:
    parts: Counter[str] = Counter()
    samples = idle = native = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames:
            native += n
            continue
        if any(mark in frames[-1] for mark in IDLE):
            idle += n
            continue
        parts[_part(stack)] += n
    return Breakdown(samples, idle, native, parts)


def _part(stack: str) -> str:
    for part, marks in PARTS:
        if any(mark in stack for mark in marks):
            return part
    return "other (asyncio, threads, imports)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", type=Path, help="py-spy's output in its raw format (-f raw)")
    args = parser.parse_args()
    print("\n".join(breakdown(args.raw.read_text(encoding="utf-8")).lines()))


if __name__ == "__main__":
    main()
