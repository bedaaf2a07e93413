"""Property-based fuzz of the form readers (JSON, YAML, .docx) and of `ami check` / `ami submit`,
run in-process.

Each case is a hostile candidature file: the example form with hostile strings (controls, lone
surrogates, bidi marks, RFC 2047 encoded words, CR LF, rich and Jinja markup, spreadsheet formulas,
oversized values) or wrong types put into random fields, a malformed document, or a mutated .docx
archive. The property:

- `ami check` exits 0 or 1 with a JSON verdict, or 2 with a French message naming the faulty field
  (or the document), and never raises;
- `ami submit` (with a recording stand-in for the server) refuses exactly what `ami check` refuses;
- every accepted form goes through the payload converter, renders its summary PDF, its emails (whose
  headers and recipients read back unchanged) and its row of the jury grid (XLSX and CSV).

`python -m tests.fuzz_forms` (`make fuzz`) runs AMI_FUZZ_CASES cases (10,000 by default) and prints
the counts; tests/test_fuzz_forms.py runs a few thousand in the normal suite. Seeded: a failure is
reproduced with the same AMI_FUZZ_SEED.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import random
import sys
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from temporalio.contrib.pydantic import pydantic_data_converter

from ami.app.cli.cmd_coordination import _submit
from ami.app.cli.main import build_parser
from ami.infra.documents.jury_grid import jury_grid_csv, jury_grid_xlsx
from ami.infra.documents.pdf_summary import summary_pdf
from ami.infra.forms import load_form
from ami.infra.mail.guard import verify
from ami.infra.mail.message import build
from ami.infra.mail.render import render
from ami.infra.mail.sample import sample_context
from ami.models.candidature import CandidatureFile
from ami.models.documents import SummaryDocInput
from tests.fuzz_cases import Case, make_case

AT = "2024-08-01T12:00:00+02:00"
SENDER = "Apes Hauts-de-France <ami@example.org>"


@dataclass
class Tally:
    cases: int = 0
    tracebacks: int = 0
    wrong_exit: int = 0
    exits: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    rendered: int = 0
    failures: list[str] = field(default_factory=list)

    def fail(self, what: str, case: Case, detail: str) -> None:
        if what == "traceback":
            self.tracebacks += 1
        else:
            self.wrong_exit += 1
        if len(self.failures) < 10:
            self.failures.append(f"[{what}] {case.kind}{case.suffix} {case.fields}: {detail[-1500:]}")


def _capture(call: Any) -> tuple[int | None, str, str, str | None]:
    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    crash = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = call()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
        except BaseException:  # the property: never a traceback
            crash = traceback.format_exc()
    return code, out.getvalue(), err.getvalue(), crash


class _Coordination:
    """The server's stand-in for `ami submit`: records what it was given."""

    def __init__(self) -> None:
        self.forms: list[CandidatureFile] = []

    async def submit(self, form: CandidatureFile, received: datetime | None) -> Any:
        self.forms.append(form)
        return SimpleNamespace(
            workflow_id=f"candidature-ami-2024-{form.collectivite.identifier}", receipt_number="AMI-2024-0001", correction=False
        )


# Refusals of the whole document (a field's bytes may make it unreadable): they name no field.
_DOCUMENT_LEVEL = ("YAML illisible", "JSON illisible", "pas en UTF-8", "(racine)")


def _named(err: str, fields: list[str]) -> bool:
    """A field-level refusal names a mutated field (or the object holding it), or the document."""
    if "candidature mal formée" not in err:
        return False
    if any(marker in err for marker in _DOCUMENT_LEVEL):
        return True
    lines = [line.strip().removeprefix("- ") for line in err.splitlines()[1:]]
    return all(" : " in line for line in lines if line) and any(
        line.startswith(f) or f.startswith(line.split(" : ")[0]) for line in lines for f in fields
    )


def render_everything(form: CandidatureFile, pdf: bool = True) -> None:
    """What the engine does with an accepted form: payload, summary PDF, two emails, grid row
    (CSV, and XLSX with the PDF)."""
    payloads = pydantic_data_converter.payload_converter.to_payloads([form])
    assert pydantic_data_converter.payload_converter.from_payloads(payloads, [CandidatureFile]) == [form]
    received = datetime.fromisoformat(AT)
    if pdf:
        summary_pdf(SummaryDocInput(receipt_number="AMI-2024-0001", campaign_name="AMI 2024", received_at=received, form=form))
    context = {**sample_context(), "collectivite": {"name": form.collectivite.name, "official_name": None}}
    for purpose, to in (("receipt", form.recipients()), ("coord_new_candidature", ["coord@example.org"])):
        message = build(render(purpose, context), sender=SENDER, to=to, msg_id="<x@example.org>", created=received, attachments=[])
        verify(message.as_bytes(policy=policy.SMTP), message, "ami@example.org", to)
    from ami.app.cli.cmd_export import grid_rows

    row = SimpleNamespace(
        state="eligibility_checked",
        official_name="Hénin-Carvin",
        form=form.model_dump(mode="json"),
        receipt_number="AMI-2024-0001",
        departement="62",
        kind="epci_ca",
        submitted_at=received.astimezone(UTC),
        updated_at=received.astimezone(UTC),
    )
    rows = grid_rows([row])  # type: ignore[list-item]
    if pdf:  # the XLSX with the PDF: the two slow renders
        jury_grid_xlsx(rows, [("motivation", "Motivation")])
    jury_grid_csv(rows, [("motivation", "Motivation")])


_PARSER: list[argparse.ArgumentParser] = []


def ami(*argv: str) -> int:
    """`ami ARGV` in-process, the parser built once (as `ami.app.cli.main.main` does for each call)."""
    if not _PARSER:
        _PARSER.append(build_parser())
    args = _PARSER[0].parse_args(list(argv))
    code: int = args.handler(args)
    return code


def run_case(case: Case, folder: Path, tally: Tally, with_submit: bool, with_pdf: bool = True) -> None:
    path = folder / f"candidature{case.suffix}"
    path.write_bytes(case.data)
    tally.cases += 1
    tally.kinds[case.kind] += 1
    code, out, err, crash = _capture(lambda: ami("check", str(path), "--at", AT))
    if crash is not None:
        return tally.fail("traceback", case, crash)
    assert code is not None
    tally.exits[code] += 1
    if code in (0, 1):
        try:
            verdict = json.loads(out)
            ok = verdict["eligible"] is (code == 0) and isinstance(verdict["reasons"], list)
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            return tally.fail("exit", case, f"exit {code} sans verdict JSON : {out!r}")
        try:
            render_everything(load_form(path), pdf=with_pdf)
            tally.rendered += 1
        except Exception:
            return tally.fail("traceback", case, traceback.format_exc())
    elif code == 2:
        if not err.strip() or "Traceback" in err or (case.fields and "candidature mal formée" in err and not _named(err, case.fields)):
            return tally.fail("exit", case, f"exit 2 sans message nommant le champ : {err!r}")
    else:
        return tally.fail("exit", case, f"code de sortie {code} : {err!r}")
    if with_submit:
        coordination = _Coordination()
        args = argparse.Namespace(file=str(path), campaign="ami-2024", received_at=None)
        submitted, _, _, crash = _capture(lambda: asyncio.run(_submit(coordination, args)))  # type: ignore[arg-type]
        if crash is not None:
            return tally.fail("traceback", case, crash)
        if (submitted == 2) != (code == 2) or (submitted == 0) != bool(coordination.forms):
            return tally.fail("exit", case, f"ami submit : {submitted}, ami check : {code}")
    return None


def fuzz(cases: int, seed: int, submit_every: int = 3, pdf_every: int = 1) -> Tally:
    """`pdf_every` > 1 renders the summary PDF and the XLSX of one accepted form in that many (the slow part),
    for the normal test suite; `make fuzz` renders every one."""
    rng = random.Random(seed)
    tally = Tally()
    logging.getLogger("fpdf").setLevel(logging.ERROR)  # a glyph missing from the font is not a failure
    with tempfile.TemporaryDirectory(prefix="ami-fuzz-") as folder:
        for index in range(cases):
            run_case(make_case(rng), Path(folder), tally, index % submit_every == 0, tally.rendered % pdf_every == 0)
    return tally


def report(tally: Tally) -> str:
    lines = [
        f"cas : {tally.cases} ({', '.join(f'{k} {v}' for k, v in sorted(tally.kinds.items()))})",
        f"codes de sortie : {', '.join(f'{k} → {v}' for k, v in sorted(tally.exits.items()))}",
        f"formulaires acceptés rendus (PDF, courriels relus, grille) : {tally.rendered}",
        f"tracebacks : {tally.tracebacks}",
        f"codes de sortie erronés : {tally.wrong_exit}",
        *tally.failures,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    count = int(os.environ.get("AMI_FUZZ_CASES", "10000"))
    # AMI_FUZZ_PDF_EVERY=10: the PDF and XLSX of one accepted form in ten, as in the normal suite.
    result = fuzz(count, int(os.environ.get("AMI_FUZZ_SEED", "14")), pdf_every=int(os.environ.get("AMI_FUZZ_PDF_EVERY", "1")))
    print(report(result))
    sys.exit(1 if result.tracebacks or result.wrong_exit else 0)
