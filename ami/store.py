"""The store: synchronous SQLAlchemy calls, run by activities in a thread (`asyncio.to_thread`)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from models.tables import Base, CandidatureRow, DocumentRow, EmailRow, FactRow, TransitionRow


class Store:
    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        Base.metadata.create_all(self.engine)

    # --- transitions and the candidature projection ------------------------------------------

    def record_transition(self, row: TransitionRow, projection: CandidatureRow) -> bool:
        """Insert the audit row once; returns False when a retried activity finds it already there."""
        with self.sessions.begin() as session:
            exists = session.scalar(
                select(TransitionRow.id).where(TransitionRow.workflow_id == row.workflow_id, TransitionRow.sequence == row.sequence)
            )
            if exists is not None:
                return False
            session.add(row)
            current = session.get(CandidatureRow, projection.workflow_id)
            if current is None:
                session.add(projection)
            elif current.updated_at <= projection.updated_at:
                for column in ("official_name", "kind", "departement", "state", "decision", "form", "updated_at"):
                    value = getattr(projection, column)
                    if value is not None:
                        setattr(current, column, value)
        return True

    def transitions(self, workflow_id: str) -> list[TransitionRow]:
        with self.sessions() as session:
            return list(session.scalars(select(TransitionRow).where(TransitionRow.workflow_id == workflow_id).order_by(TransitionRow.sequence)))

    def candidatures(self, campaign_id: str) -> list[CandidatureRow]:
        with self.sessions() as session:
            return list(session.scalars(select(CandidatureRow).where(CandidatureRow.campaign_id == campaign_id).order_by(CandidatureRow.receipt_number)))

    def record_fact(self, row: FactRow) -> bool:
        """Insert once per `fact_id`; a retried activity finds its row and adds nothing."""
        with self.sessions.begin() as session:
            if session.get(FactRow, row.fact_id) is not None:
                return False
            session.add(row)
        return True

    def facts(self, campaign_id: str, kind: str | None = None) -> list[FactRow]:
        with self.sessions() as session:
            query = select(FactRow).where(FactRow.campaign_id == campaign_id).order_by(FactRow.at)
            if kind:
                query = query.where(FactRow.kind == kind)
            return list(session.scalars(query))

    # --- the outbox ----------------------------------------------------------------------------

    def outbox_get(self, message_id: str) -> EmailRow | None:
        with self.sessions() as session:
            return session.get(EmailRow, message_id)

    def outbox_put(self, row: EmailRow) -> EmailRow:
        """Write the rendered message before sending; if a previous attempt wrote it, keep that one."""
        try:
            with self.sessions.begin() as session:
                session.add(row)
            return row
        except IntegrityError:
            existing = self.outbox_get(row.message_id)
            assert existing is not None
            return existing

    def outbox_mark(self, message_id: str, status: str, detail: str | None = None) -> None:
        with self.sessions.begin() as session:
            row = session.get(EmailRow, message_id)
            if row is None:
                return
            row.status, row.detail = status, detail
            row.attempts += 1
            if status in ("sent", "bounced"):
                row.sent_at = datetime.now(UTC)

    def emails(self, workflow_id: str | None = None) -> list[EmailRow]:
        with self.sessions() as session:
            query = select(EmailRow).order_by(EmailRow.created_at)
            if workflow_id:
                query = query.where(EmailRow.workflow_id == workflow_id)
            return list(session.scalars(query))

    # --- documents -----------------------------------------------------------------------------

    def record_document(self, row: DocumentRow) -> None:
        with self.sessions.begin() as session:
            exists = session.scalar(
                select(DocumentRow.id).where(DocumentRow.workflow_id == row.workflow_id, DocumentRow.kind == row.kind, DocumentRow.sha256 == row.sha256)
            )
            if exists is None:
                session.add(row)

    def documents(self, workflow_id: str | None = None) -> list[DocumentRow]:
        with self.sessions() as session:
            query = select(DocumentRow).order_by(DocumentRow.id)
            if workflow_id:
                query = query.where(DocumentRow.workflow_id == workflow_id)
            return list(session.scalars(query))


def _sqlite_pragmas(connection: object, _record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@cache
def store_for(url: str) -> Store:
    store = Store(url)
    store.create_schema()
    return store


