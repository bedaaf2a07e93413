"""The bare floor's side effects, done plainly: what any program running this call must write and send.

The floor with messages (bench/baseline_messages.py) passes the engine's messages around empty
activities. The engine's activities are not empty: they write the journal and the candidature's
projection, keep an outbox, send the emails and render the documents. `PlainEffects` does the same
work without ami, as a developer would write it by hand:

- a journal row: one sqlite3 transaction that inserts the transition and upserts the projection;
- an email: an outbox row committed, the message built by the standard library from one of the
  engine's own messages (its words, addresses and attachment) and sent over a fresh aiosmtplib
  connection to the same sink, then the row marked sent (two commits, as the outbox must);
- a document: the words of the engine's document at that step (a candidature's summary before the
  decision, a decision letter after it) laid out by plain fpdf2 in the same font files (fonts added
  the ordinary way, per document), in a process of its own as the engine's documents are, written
  to a file and hashed, then a row recorded.

SQLite runs as the engine's store does (WAL, `synchronous=NORMAL`). Nothing is rendered from a
template, nothing is encrypted, no Temporal payload carries more than a step number: the floor is
the work, not our way of doing it.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from bench.baseline import bare_pdf_same_text

T = TypeVar("T")

_SCHEMA = """
create table if not exists transitions (workflow_id text, sequence integer, at real, primary key (workflow_id, sequence));
create table if not exists candidatures (workflow_id text primary key, state text, updated_at real);
create table if not exists emails (message_id text primary key, workflow_id text, raw blob, status text, created_at real, sent_at real);
create table if not exists documents (workflow_id text, sequence integer, path text, sha256 text, primary key (workflow_id, sequence));
"""
# The projection follows the latest transition, as the engine's does.
_PROJECTION = (
    "insert into candidatures values (?, ?, ?) on conflict (workflow_id) do update set state = excluded.state, "
    "updated_at = excluded.updated_at where candidatures.updated_at <= excluded.updated_at"
)


@dataclass(frozen=True)
class PlainMessage:
    """What a sender without ami has to start with: the same words, addresses and PDF (if any)."""

    sender: str
    to: list[str]
    subject: str
    text: str
    html: str | None
    pdf: str | None  # a file to read and attach at each send, as the engine reads its document
    filename: str


def parsed_message(raw: bytes) -> EmailMessage:
    """One of the engine's messages as the sink received it, parsed by the standard library."""
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def plain_message(parsed: EmailMessage, pdf: str | None) -> PlainMessage:
    """The content of one of the engine's messages, parsed (read once, outside any timing). `pdf` is
    where its attachment's bytes are (None: the message has none)."""
    text, html = (parsed.get_body((kind,)) for kind in ("plain", "html"))
    attachment = next(parsed.iter_attachments(), None)
    assert text is not None
    return PlainMessage(
        sender=str(parsed["From"]),
        to=[a.addr_spec for a in parsed["To"].addresses],
        subject=str(parsed["Subject"]),
        text=text.get_content(),
        html=html.get_content() if html is not None else None,
        pdf=pdf if attachment is not None else None,
        filename=(attachment.get_filename() if attachment is not None else None) or "document.pdf",
    )


def messages_from(received: list[bytes], directory: Path) -> list[PlainMessage]:
    """The engine's messages as the sink received them, each ready to be built again; an attachment's
    bytes go to a file of `directory`, read again at each send."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i, raw in enumerate(received):
        parsed = parsed_message(raw)
        attachment = next(parsed.iter_attachments(), None)
        pdf = None
        if attachment is not None:
            path = directory / f"attachment-{i}.pdf"
            path.write_bytes(attachment.get_content())
            pdf = str(path)
        out.append(plain_message(parsed, pdf))
    return out


def plain_build(content: PlainMessage, i: int | str) -> Any:
    """The message built by the standard library: text, HTML, the PDF read and attached."""
    from email.message import EmailMessage
    from email.utils import formatdate

    msg = EmailMessage()
    msg["From"] = content.sender
    msg["To"] = ", ".join(content.to)
    msg["Subject"] = content.subject
    msg["Message-ID"] = f"<plain-{i}@bench.example.org>"
    msg["Date"] = formatdate()
    msg.set_content(content.text)
    if content.html is not None:
        msg.add_alternative(content.html, subtype="html")
    if content.pdf is not None:
        msg.add_attachment(Path(content.pdf).read_bytes(), maintype="application", subtype="pdf", filename=content.filename)
    return msg


async def plain_send(port: int, content: PlainMessage, i: int | str) -> None:
    """The fair floor for one email: built by the standard library (`plain_build`), sent by aiosmtplib
    over a fresh connection; no templates, no outbox."""
    import aiosmtplib

    await aiosmtplib.send(plain_build(content, i), hostname="127.0.0.1", port=port)


Words = tuple[list[str], str, str]  # paragraphs, and the regular and bold font files they need


def _with_fonts(texts: list[str]) -> Words:
    from ami.infra.documents._pdf_base import font_files

    regular, bold = (str(p) for p in font_files("".join(texts)))
    return texts, regular, bold


def summary_words(form: Any) -> Words:
    """The words of the engine's summary of `form` and the font files it would use for them."""
    from datetime import UTC, datetime

    from ami.models.documents import SummaryDocInput

    sample = SummaryDocInput.model_validate(
        {
            "receipt_number": "AMI-2024-0001",
            "campaign_name": "Appel à manifestation d'intérêt",
            "received_at": datetime.now(UTC).isoformat(),
            "form": form.model_dump(mode="json"),
            "official_name": form.collectivite.name,
            "kind_label": "collectivité",
            "departement": "59",
        }
    )
    return _with_fonts([v for v in strings(sample.model_dump(mode="json")) if v.strip()])


def letter_words(form: Any, signatory: Any = None) -> Words:
    """The words of the engine's decision letter (not selected, the most frequent) to `form`'s
    collectivité, built by the letter's own functions: heading, addressee, date, subject,
    salutation, body, closing, signature."""
    import datetime as dt

    from ami.infra.documents.branding import ORGANISATION
    from ami.infra.documents.pdf_letters import _OBJECT, _addressing, _body  # the letter's own words, not a copy
    from ami.infra.documents.typography import date_fr
    from ami.models.documents import DecisionLetterInput
    from ami.models.values import Decision

    data = DecisionLetterInput(
        receipt_number="AMI-2024-0001",
        campaign_name="Appel à manifestation d'intérêt",
        collectivite_name=form.collectivite.name,
        decision=Decision.NOT_SELECTED,
        response_date=dt.date(2024, 9, 15),
        signatory=signatory,
    )
    to = _addressing(data)
    subject = f"Objet : {data.campaign_name} — {_OBJECT[data.decision]} (dossier n° {data.receipt_number})"
    closing = f"Nous vous prions d'agréer, {to.closing_title}, l'expression de nos salutations distinguées."
    sign = [signatory.name, signatory.role, ORGANISATION] if signatory is not None else [f"L'équipe de l'{ORGANISATION}"]
    texts = [ORGANISATION, *to.block, f"Le {date_fr(data.response_date)}", subject, to.salutation, *_body(data), closing, *sign]
    return _with_fonts([t for t in texts if t])


def document_words(form: Any, signatory: Any = None) -> dict[str, Words]:
    """The words of each document the floor lays out, by activity: the summary and the letter."""
    return {"plain_summary": summary_words(form), "plain_letter": letter_words(form, signatory)}


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def _render(texts: list[str], regular: str, bold: str, path: str) -> str:
    """In the document process: the page laid out, written to its file; returns its SHA-256."""
    data = bare_pdf_same_text(texts, regular, bold)
    Path(path).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


class PlainEffects:
    """The floor's activities with side effects (their names are what `BareCandidature` schedules).
    They refuse to run until `load` has given them the engine's messages and the documents' words.

    Their SQLite writes run on two small pools of threads, the journal's and the others', as the
    engine's do (ami/activities/store_calls.py): a journal row never queues behind an outbox write."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.messages: list[PlainMessage] = []
        self.words: dict[str, Words] = {}
        self.counts = {"journal": 0, "email": 0, "document": 0}
        self._connections: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._journal = ThreadPoolExecutor(2, thread_name_prefix="plain-journal")
        self._store = ThreadPoolExecutor(3, thread_name_prefix="plain-store")
        self._pool: ProcessPoolExecutor | None = None
        directory.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.directory / "plain.db") as conn:
            conn.executescript(_SCHEMA)

    async def load(self, messages: list[PlainMessage], words: dict[str, Words]) -> None:
        """The engine's messages and the documents' words (`document_words`); the document process
        started and warm (the engine's starts with its worker), so that no run of the floor pays for
        its start."""
        self.messages, self.words = messages, words
        for kind, each in words.items():
            await self._render(each, self.directory / f"warm-{kind}.pdf")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        self._journal.shutdown()
        self._store.shutdown()
        for conn in self._connections:
            conn.close()

    def _db(self) -> sqlite3.Connection:
        """One connection per thread, kept (as the engine's pool keeps its own)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.directory / "plain.db", timeout=10, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._connections.append(conn)
        return conn

    def _write(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        """The statements, in one transaction (one commit)."""
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, values in statements:
                conn.execute(sql, values)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _read(self, sql: str, values: tuple[Any, ...]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db().execute(sql, values).fetchone()
        return row

    async def _on(self, pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def _render(self, words: Words, path: Path) -> str:
        """In the document process, started on first use; a process that died is replaced, as the
        engine's document pool replaces its own."""
        if self._pool is None:  # spawned, as the engine's document process (the worker runs Temporal's threads)
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, _render, *words, str(path))
        except BrokenProcessPool:
            self._pool = None
            raise

    def _ready(self) -> None:
        if not self.messages or not self.words:
            raise ApplicationError("the plain floor was not loaded with the engine's messages", non_retryable=True)

    @activity.defn(name="plain_journal")
    async def journal(self, step: int) -> None:
        workflow_id, now = activity.info().workflow_id, time.time()
        rows = (
            ("insert or ignore into transitions values (?, ?, ?)", (workflow_id, step, now)),
            (_PROJECTION, (workflow_id, f"step-{step}", now)),
        )
        await self._on(self._journal, self._write, *rows)
        self.counts["journal"] += 1

    @activity.defn(name="plain_email")
    async def email(self, step: int) -> None:
        """Once per step: the outbox is read first; a message already sent is not sent again, and a
        retry sends the bytes the outbox kept."""
        import aiosmtplib

        self._ready()
        workflow_id = activity.info().workflow_id
        message_id = f"{workflow_id}-{step}"
        content = self.messages[zlib.crc32(message_id.encode()) % len(self.messages)]
        found = await self._on(self._store, self._read, "select raw, status from emails where message_id = ?", (message_id,))
        if found is not None and found[1] == "sent":
            return
        if found is None:
            raw = plain_build(content, message_id).as_bytes()
            insert = "insert or ignore into emails values (?, ?, ?, 'pending', ?, null)"
            await self._on(self._store, self._write, (insert, (message_id, workflow_id, raw, time.time())))
        else:
            raw = bytes(found[0])
        await aiosmtplib.send(raw, sender=parseaddr(content.sender)[1], recipients=content.to, hostname="127.0.0.1", port=self.port)
        mark = "update emails set status = 'sent', sent_at = ? where message_id = ?"
        await self._on(self._store, self._write, (mark, (time.time(), message_id)))
        self.counts["email"] += 1

    @activity.defn(name="plain_summary")
    async def summary(self, step: int) -> None:
        await self._document("plain_summary", step)

    @activity.defn(name="plain_letter")
    async def letter(self, step: int) -> None:
        await self._document("plain_letter", step)

    async def _document(self, kind: str, step: int) -> None:
        self._ready()
        workflow_id = activity.info().workflow_id
        path = self.directory / f"{workflow_id}-{step}.pdf"
        sha = await self._render(self.words[kind], path)
        row = ("insert or ignore into documents values (?, ?, ?, ?)", (workflow_id, step, str(path), sha))
        await self._on(self._store, self._write, row)
        self.counts["document"] += 1

    def activities(self) -> list[Any]:
        return [self.journal, self.email, self.summary, self.letter]
