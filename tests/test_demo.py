"""The main job, as a person runs it: `ami demo` plays the whole 2024 campaign and exits 0; a second
`ami demo` while the first runs says so instead of crashing on the port."""

from __future__ import annotations

import email
import os
import sqlite3
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ami.app.devserver import UI_PORT, port_in_use
from tests.published_dates import email_text, outside, pdf_text, read_eml

pytestmark = pytest.mark.devserver


def ami(*args: str, timeout: float) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "ami.app.cli.main", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def test_demo_runs_the_whole_campaign(tmp_path: Path) -> None:
    if port_in_use(UI_PORT):
        pytest.skip("une démonstration tourne déjà sur ce poste")
    out = tmp_path / "demo"
    first = ami("demo", "--out", str(out), timeout=400)
    try:
        deadline = time.monotonic() + 60
        while not port_in_use(UI_PORT) and time.monotonic() < deadline:
            time.sleep(0.2)
        second = subprocess.run(
            [sys.executable, "-m", "ami.app.cli.main", "demo", "--out", str(tmp_path / "other")], capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 4
        assert "tourne déjà" in second.stderr and "http://localhost:8233" in second.stderr
        stdout, stderr = first.communicate(timeout=400)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, stderr[-3000:]
    assert "Parcours de chaque candidature" in stdout
    # The portal: two candidatures, one juror's marks and one binôme went through it over HTTP.
    assert "Portail des collectivités et du jury : http://localhost:" in stdout
    assert stdout.count("dépôt sur le portail") == 2 and "« apes » sur le portail" in stdout
    assert "confirmé sur son espace dossier du portail" in stdout
    for branch in ("refusée", "correction", "promue depuis la liste d'attente", "déplacée", "retrait en cours de cycle", "une absence"):
        assert branch in stdout, branch

    # Every candidature reached a final state, and the store holds the whole run.
    with sqlite3.connect(out / "ami.db") as db:
        states = dict(db.execute("select receipt_number, state from candidatures").fetchall())
        transitions = db.execute("select count(*) from transitions").fetchone()[0]
        documents = db.execute("select count(*) from documents").fetchone()[0]
        emails = db.execute("select count(*) from emails where status in ('sent', 'bounced')").fetchone()[0]
        attended = dict(db.execute("select receipt_number, count(distinct session_number) from attendance group by 1").fetchall())
        feedback = db.execute("select count(*) from feedback").fetchone()[0]
    assert len(states) == 13 and set(states.values()) == {"capitalised", "closed"}
    assert transitions > 100 and documents >= 30
    # Six collectivités went through the six sessions (the seventh withdrew after the second).
    assert sorted(attended.values()).count(6) == 6 and feedback > 30

    # Every email is a well-formed French HTML + text message; every PDF was written.
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in (out / "mail").glob("*.eml")]
    assert len(messages) == emails
    purposes = {m["Subject"] for m in messages}
    assert any("retenue" in s for s in purposes) and any("Invitation" in s for s in purposes)
    for message in messages:
        kinds = {part.get_content_type() for part in message.walk()}
        assert {"text/plain", "text/html"} <= kinds, message["Subject"]
    assert any(part.get_filename() == "seance.ics" for m in messages for part in m.walk())
    # The refused address is reported to the coordinators; its dossier went on.
    assert any("refusé" in str(m["Subject"]) for m in messages)
    # The collectivités' emails carry their dossier's link; the coordinators' never do.
    receipts = [m for m in messages if "Accusé de réception" in str(m["Subject"])]
    assert receipts and all("/dossier/" in m.get_body(preferencelist=("plain",)).get_content() for m in receipts)
    assert not any(
        "/dossier/" in m.get_body(preferencelist=("plain",)).get_content() for m in messages if "Nouvelle candidature" in str(m["Subject"])
    )
    assert len(list((out / "documents").rglob("*.pdf"))) >= 30
    grid = load_workbook(out / "grille-jury.xlsx")
    assert grid.active is not None and grid.active.max_row >= 12
    assert (out / "formulaire-candidature.docx").stat().st_size > 5000

    # The demo reads like the 2024 call: no email and no PDF dated outside its calendar.
    for path in (out / "mail").glob("*.eml"):
        assert not outside(email_text(read_eml(path))), (path.name, outside(email_text(read_eml(path))))
    for path in (out / "documents").rglob("*.pdf"):
        assert not outside(pdf_text(path.read_bytes())), (path.name, outside(pdf_text(path.read_bytes())))
    assert "warn" not in stdout.lower() and "email bounced" not in stdout  # worker logs are in the log file
    assert "email bounced" in (out / "ami-demo.log").read_text(encoding="utf-8")
    check_index(out, set(states))
    check_campaign_report(out)


def check_index(out: Path, receipts: set[str]) -> None:
    """index.html lists every dossier, and each of its links leads to a file of the output."""
    import re

    page = (out / "index.html").read_text(encoding="utf-8")
    assert all(receipt in page for receipt in receipts)
    links = re.findall(r'href="([^"]+)"', page)
    assert sum(link.endswith(".eml") for link in links) >= 100 and sum(link.endswith(".pdf") for link in links) >= 30
    assert all((out / link).is_file() for link in links), [link for link in links if not (out / link).is_file()]


def check_campaign_report(out: Path) -> None:
    """The report counts sessions 1 and 2 with the collectivité that withdrew after session 2."""
    with sqlite3.connect(out / "ami.db") as db:
        (path,) = db.execute("select path from documents where kind = 'campaign_report'").fetchone()
        per_session = dict(db.execute("select session_number, count(distinct workflow_id) from attendance group by 1").fetchall())
    assert per_session[1] == per_session[2] == 7 and per_session[3] == 6
    text = pdf_text(Path(path).read_bytes())
    assert "Hauts-de-France" in text and "Région 32" not in text
