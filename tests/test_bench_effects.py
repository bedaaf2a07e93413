"""The floor with side effects (`bench/baseline_effects.py`): its activities do the work they stand
for, once per step; the bare candidature's shape places it; the bench reads the engine's counts."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from ami.app.examples import example
from ami.app.harness import free_port
from ami.infra.mail.sink import start_sink
from bench.baseline import bare_pdf
from bench.baseline_effects import PlainEffects, document_words, messages_from, plain_build
from bench.baseline_messages import BareShape
from bench.common import StoreProbe
from bench.report import _floors


def _engine_message(attached: bool) -> bytes:
    """A message shaped as the engine's: text and HTML, a PDF attached or not."""
    msg = EmailMessage()
    msg["From"] = "AMI Hauts-de-France <ami@example.org>"
    msg["To"] = "contact@example.org"
    msg["Subject"] = "Accusé de réception"
    msg.set_content("Votre candidature a bien été reçue.")
    msg.add_alternative("<p>Votre candidature a bien été reçue.</p>", subtype="html")
    if attached:
        msg.add_attachment(bare_pdf(1), maintype="application", subtype="pdf", filename="recapitulatif.pdf")
    return msg.as_bytes()


def _rows(effects: PlainEffects, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(effects.directory / "plain.db") as conn:
        return conn.execute(sql).fetchall()


# --- the shape ------------------------------------------------------------------------------------


def test_documents_and_emails_split_between_the_halves() -> None:
    shape = BareShape(6, 5, 1, effects=True, emails=3, documents=2)
    assert shape.kinds(True) == ["plain_summary", "plain_email", "plain_email"]
    assert shape.kinds(False) == ["plain_letter", "plain_email"]
    shape.check()


def test_without_effects_every_activity_stays_empty() -> None:
    shape = BareShape(6, 5, 1, emails=3, documents=2)
    assert shape.kinds(True) == [] and shape.kinds(False) == []
    assert shape.work(False) == ["plain_letter", "plain_email"]  # where its clock stops all the same


def test_more_work_than_activities_is_refused() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        BareShape(4, 2, 0, effects=True, emails=3, documents=2).check()


# --- the engine's messages, built again ---------------------------------------------------------


def test_messages_keep_their_words_and_attachment(tmp_path: Path) -> None:
    with_pdf, without = messages_from([_engine_message(True), _engine_message(False)], tmp_path)
    assert with_pdf.pdf is not None and Path(with_pdf.pdf).read_bytes().startswith(b"%PDF")
    assert without.pdf is None and without.html is not None
    built = message_from_bytes(plain_build(with_pdf, 7).as_bytes(), policy=policy.default)
    assert isinstance(built, EmailMessage)
    assert built["Subject"] == "Accusé de réception" and built["To"] == "contact@example.org"
    [attachment] = built.iter_attachments()
    assert attachment.get_filename() == "recapitulatif.pdf" and attachment.get_content() == Path(with_pdf.pdf).read_bytes()
    bare = message_from_bytes(plain_build(without, 8).as_bytes(), policy=policy.default)
    assert isinstance(bare, EmailMessage)
    assert list(bare.iter_attachments()) == []


# --- the activities -------------------------------------------------------------------------------


@pytest.fixture
def effects(tmp_path: Path) -> Iterator[PlainEffects]:
    made = PlainEffects(free_port(), tmp_path / "floor")
    yield made
    made.close()


async def test_a_journal_row_is_written_once_and_moves_the_projection(effects: PlainEffects) -> None:
    env = ActivityEnvironment()
    for step in (0, 0, 1):  # a step run twice adds nothing
        await env.run(effects.journal, step)
    assert _rows(effects, "select sequence from transitions order by sequence") == [(0,), (1,)]
    assert _rows(effects, "select state from candidatures") == [("step-1",)]


async def test_nothing_is_sent_or_rendered_before_the_floor_is_loaded(effects: PlainEffects) -> None:
    env = ActivityEnvironment()
    for step in (effects.email, effects.summary, effects.letter):
        with pytest.raises(ApplicationError, match="not loaded"):
            await env.run(step, 0)
    assert _rows(effects, "select count(*) from emails") == [(0,)]


async def test_an_email_goes_through_the_outbox_to_the_sink(tmp_path: Path) -> None:
    controller, sink = start_sink(tmp_path / "sink", port=free_port())
    effects = PlainEffects(sink.port, tmp_path / "floor")
    try:
        await effects.load(messages_from([_engine_message(True)], tmp_path / "att"), document_words(example("01-henin-carvin")))
        env = ActivityEnvironment()
        await env.run(effects.email, 3)
        await env.run(effects.email, 3)  # run again: the outbox says sent, nothing is sent twice
        [(message_id, status, raw)] = _rows(effects, "select message_id, status, raw from emails")
        assert status == "sent" and str(message_id).endswith("-3")
        [(recipients, received)] = list(sink.received)
        assert recipients == ["contact@example.org"] and received.replace(b"\r\n", b"\n") == bytes(raw).replace(b"\r\n", b"\n")  # type: ignore[arg-type]
        assert effects.counts["email"] == 1
    finally:
        effects.close()
        controller.stop()


async def test_a_document_is_rendered_in_its_process_written_and_recorded(tmp_path: Path) -> None:
    effects = PlainEffects(free_port(), tmp_path / "floor")
    try:
        await effects.load(messages_from([_engine_message(False)], tmp_path / "att"), document_words(example("01-henin-carvin")))
        env = ActivityEnvironment()
        await asyncio.wait_for(env.run(effects.summary, 2), 60)
        await asyncio.wait_for(env.run(effects.letter, 5), 60)
        rows = _rows(effects, "select path, sha256 from documents order by sequence")
        assert len(rows) == 2 and all(Path(str(p)).read_bytes().startswith(b"%PDF") and len(str(h)) == 64 for p, h in rows)
        assert rows[0][1] != rows[1][1]  # a summary and a letter, not the same page twice
    finally:
        effects.close()


# --- what the bench reads of the engine, and reports --------------------------------------------


def test_the_probe_counts_only_the_engine_tables_it_knows(tmp_path: Path) -> None:
    db = tmp_path / "ami.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table emails (workflow_id text, status text, raw blob)")
        conn.execute("create table documents (workflow_id text)")
        conn.executemany("insert into emails values (?, 'sent', ?)", [("candidature-x-1", b"a"), ("candidature-y-1", b"b")])
        conn.execute("insert into documents values ('candidature-x-1')")
    probe = StoreProbe(db)
    assert probe.rows("emails", "candidature-x-") == 1 and probe.rows("documents", "candidature-x-") == 1
    assert probe.sample_emails("candidature-", 5) in ([b"a", b"b"], [b"b", b"a"])
    with pytest.raises(ValueError):
        probe.rows("transitions; drop table emails", "")


def test_the_report_names_both_floors_and_a_failed_one() -> None:
    lines: list[tuple[str, object]] = []
    out = {
        "ratio_with_effects": 1.22,
        "baseline_with_effects": {"work_s": 8.1, "failed": 0, "emails_each": 3, "documents_each": 2, "effects_done": {"email": 180}},
        "baseline_with_messages_error": "TimeoutError()",
    }
    _floors(lambda name, value, note="": lines.append((name, value)), "throughput", out)
    assert ("throughput: ratio engine / bare floor with messages and side effects", 1.22) in lines
    assert ("throughput: with messages floor FAILED", "TimeoutError()") in lines
