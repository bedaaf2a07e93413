"""What `ami demo` leaves for a person: a quiet console and a readable index of its output.

- `quiet_logs`: worker and SDK log lines go to `ami-demo.log` in the output folder instead of the
  story on the console; a warning that matters gets one French line there, once per kind.
- `dossiers` and `summary_table`: each candidature's path through the lifecycle, for the console;
- `write_index`: `index.html` lists each dossier (its path through the lifecycle, its emails, its
  documents), linked to the `.eml` files and to the content-addressed PDFs;
- `write_jury_grid`: the jury's grid, as `ami export` writes it.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_binary_file, policy
from email.utils import parsedate_to_datetime
from pathlib import Path

from rich.table import Table
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from ami.app.ops import Coordination
from ami.infra.documents.addressee import full_name
from ami.infra.documents.typography import datetime_fr
from ami.infra.mail.filters import PURPOSE_LABELS
from ami.infra.private_files import write_private
from ami.infra.store import Store, store_for
from ami.models.campaign_messages import CampaignStatus
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature import CandidatureFile
from ami.models.tables import DocumentRow, EmailRow
from ami.models.values import Decision
from ami.workflows.candidature import candidature_workflow_id

LOG_NAME = "ami-demo.log"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")  # as the sink names its files

# Log messages worth a line in the story (the first of each kind), in French.
NOTES: dict[str, str] = {
    "email bounced": "un courriel a été refusé par le serveur de messagerie : les coordinateurs sont prévenus",
    "Task not found": "le SDK Temporal signale une tâche déjà terminée (sans effet sur les dossiers)",
}


class _Notes(logging.Handler):
    """Prints one French line per kind of warning (NOTES), pointing at the log file."""

    def __init__(self, say: Callable[[str], None], log: Path) -> None:
        super().__init__(level=logging.WARNING)
        self.say, self.log, self.seen = say, log, set[str]()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        kind = next((key for key in NOTES if key in message), "other")
        if kind in self.seen:
            return
        self.seen.add(kind)
        note = NOTES.get(kind, "un avertissement technique a été consigné")
        self.say(f"{note} (détails dans {self.log.name}).")


@contextlib.contextmanager
def quiet_logs(out_dir: Path, say: Callable[[str], None]) -> Iterator[Path]:
    """Every log record (worker, activities, SDK, Python warnings) to `out_dir/ami-demo.log`."""
    log = out_dir / LOG_NAME
    root = logging.getLogger()
    to_file = logging.FileHandler(log, mode="w", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    notes = _Notes(say, log)
    saved_level = root.level
    root.addHandler(to_file)
    root.addHandler(notes)
    root.setLevel(logging.INFO)
    quiet = logging.getLogger("fontTools")  # one line per PDF subset: noise, even in a log file
    saved_font_level = quiet.level
    quiet.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield log
    finally:
        logging.captureWarnings(False)
        root.removeHandler(notes)
        root.removeHandler(to_file)
        root.setLevel(saved_level)
        quiet.setLevel(saved_font_level)
        to_file.close()


def forwarding_runtime() -> Runtime:
    """A Temporal runtime whose core (Rust) warnings go through Python logging, hence to the log
    file, instead of being printed on the console among the demo's story."""
    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )
    return Runtime(telemetry=TelemetryConfig(logging=logging_config))


@dataclass(frozen=True)
class Dossier:
    receipt_number: str
    name: str
    decision: str
    state: str
    path: str  # « reçue → éligible → jury → notifiée → … »
    workflow_id: str


_ENDINGS = {"withdraw": "retrait", "expire": "date limite"}
_DECISIONS = {Decision.SELECTED: "retenue", Decision.WAITLISTED: "liste d'attente", Decision.NOT_SELECTED: "non retenue"}
_SHORT = {
    "submitted": "reçue",
    "ineligible": "inéligible",
    "eligibility_checked": "éligible",
    "jury_reviewed": "jury",
    "notified": "notifiée",
    "enrolled": "inscrite",
    "session_tracked": "séance",
    "capitalised": "capitalisée",
    "closed": "close",
}


async def dossiers(coord: Coordination, final: CampaignStatus, forms: dict[str, CandidatureFile]) -> list[Dossier]:
    """Each candidature of the campaign's final status, with its path read from its workflow."""
    result = []
    for entry in final.candidatures:
        cs = await coord.candidature_status(entry.key)
        path = _compact(["promue" if t.trigger == "promote" else _SHORT.get(t.dest, t.dest) for t in cs.transitions])
        if cs.transitions and cs.transitions[-1].trigger in _ENDINGS:
            path[-1] += f" ({_ENDINGS[cs.transitions[-1].trigger]})"
        form = forms.get(entry.key)
        view = cs.verdict.collectivite if cs.verdict else None
        name = full_name(view.name, view.kind) if view else (form.collectivite.name if form else entry.key)
        decision = _DECISIONS[entry.decision] if entry.decision else "—"
        workflow_id = candidature_workflow_id(final.campaign_id, entry.key)
        result.append(Dossier(entry.receipt_number, name, decision, entry.state, " → ".join(path), workflow_id))
    return result


def summary_table(dossiers: list[Dossier]) -> Table:
    table = Table(title="Parcours de chaque candidature", show_lines=False)
    for column in ("Dossier", "Collectivité", "Décision", "État final", "Parcours"):
        table.add_column(column)
    for d in dossiers:
        table.add_row(d.receipt_number, d.name, d.decision, d.state, d.path)
    return table


def _compact(states: list[str]) -> list[str]:
    """session_tracked × 6 reads better as one step."""
    result: list[str] = []
    for state in states:
        if result and result[-1].startswith(state):
            count = int(result[-1].split("×")[1]) + 1 if "×" in result[-1] else 2
            result[-1] = f"{state}×{count}"
        else:
            result.append(state)
    return result


def write_jury_grid(database_url: str, plan: CampaignPlan, out_dir: Path) -> str:
    """The jury's grid, read back from the store like `ami export` does, in XLSX and CSV."""
    from ami.app.cli.cmd_export import grid_rows
    from ami.infra.documents.jury_grid import jury_grid_csv, jury_grid_xlsx

    rows = grid_rows(store_for(database_url).candidatures(plan.id))
    criteria = [(c.id, c.label) for c in plan.criteria]
    xlsx = out_dir / "grille-jury.xlsx"
    write_private(xlsx, jury_grid_xlsx(rows, criteria, plan.timezone))
    write_private(out_dir / "grille-jury.csv", jury_grid_csv(rows, criteria, plan.timezone).encode("utf-8-sig"))
    return f"{xlsx.name} et grille-jury.csv, {len(rows)} lignes"


def eml_path(mail_dir: Path, message_id: str) -> Path:
    return mail_dir / f"{_SAFE.sub('_', message_id.strip().strip('<>'))}.eml"


def _sent_on(path: Path) -> str:
    """The Date of a stored message (on the campaign's published calendar), in French."""
    with path.open("rb") as handle:
        value = message_from_binary_file(handle, policy=policy.default).get("Date")
    if not value:
        return ""
    moment = parsedate_to_datetime(str(value))
    return datetime_fr(moment, moment.tzinfo) if moment.tzinfo else ""


def _link(target: Path, root: Path, text: str) -> str:
    return f'<a href="{html.escape(target.relative_to(root).as_posix())}">{html.escape(text)}</a>'


def _emails(rows: list[EmailRow], out_dir: Path, mail_dir: Path) -> str:
    if not rows:
        return "<p>Aucun courriel.</p>"
    items = []
    for row in rows:
        path = eml_path(mail_dir, row.message_id)
        label = PURPOSE_LABELS.get(row.purpose, row.purpose)
        if path.exists():
            when = _sent_on(path)
            items.append(
                f"<li>{_link(path, out_dir, row.subject)} <small>({html.escape(label)}{', ' + html.escape(when) if when else ''})</small></li>"
            )
        else:
            items.append(f"<li>{html.escape(row.subject)} <small>({html.escape(label)} — refusé par le serveur, non remis)</small></li>")
    return "<ul>" + "".join(items) + "</ul>"


def _documents(rows: list[DocumentRow], out_dir: Path) -> str:
    if not rows:
        return ""
    items = [f"<li>{_link(Path(row.path), out_dir, row.filename)}</li>" for row in rows if Path(row.path).is_relative_to(out_dir)]
    return "<p>Documents :</p><ul>" + "".join(items) + "</ul>"


def write_index(out_dir: Path, store: Store, campaign_workflow_id: str, campaign_name: str, dossiers: list[Dossier]) -> Path:
    """`out_dir/index.html`: the campaign's documents and alerts, then each dossier with its own."""
    out_dir = out_dir.resolve()
    mail_dir = out_dir / "mail"
    emails, documents = store.emails(), store.documents()

    def section(title: str, workflow_id: str, intro: str = "") -> str:
        mine = [e for e in emails if e.workflow_id == workflow_id]
        docs = [d for d in documents if d.workflow_id == workflow_id]
        return f"<section><h2>{html.escape(title)}</h2>{intro}{_documents(docs, out_dir)}<p>Courriels :</p>{_emails(mine, out_dir, mail_dir)}</section>"

    parts = [section("La campagne (coordination)", campaign_workflow_id)]
    for d in dossiers:
        intro = f"<p>Décision : {html.escape(d.decision)} — état final : {html.escape(d.state)}</p><p>Parcours : {html.escape(d.path)}</p>"
        parts.append(section(f"{d.receipt_number} — {d.name}", d.workflow_id, intro))
    others = [f for f in ("grille-jury.xlsx", "grille-jury.csv", "formulaire-candidature.docx", LOG_NAME) if (out_dir / f).exists()]
    files = "".join(f"<li>{_link(out_dir / f, out_dir, f)}</li>" for f in others)
    page = f"""<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Démonstration — {html.escape(campaign_name)}</title>
<style>body {{ font-family: Arial, Helvetica, sans-serif; max-width: 60rem; margin: auto; line-height: 1.5; color: #222; }}
section {{ border-top: 1px solid #ccc; }} small {{ color: #555; }}</style></head>
<body>
<h1>Démonstration — {html.escape(campaign_name)}</h1>
<p>Ce que la démonstration (<code>ami demo</code>) a produit, dossier par dossier. Les dates sont celles du calendrier publié de l'appel ; les personnes sont fictives.</p>
<ul>{files}</ul>
{"".join(parts)}
</body>
</html>
"""
    index = out_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
