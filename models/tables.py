"""The store's tables (SQLAlchemy 2): projections and audit written only by activities.

Every write is idempotent: a natural key (workflow id + sequence, message id, sha256) makes a
retried activity find its own row instead of adding a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware in, aware out, on every database: stored in UTC (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


class CandidatureRow(Base):
    __tablename__ = "candidatures"

    workflow_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(100), index=True)
    receipt_number: Mapped[str] = mapped_column(String(50), index=True)
    official_name: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(30))
    departement: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(30), index=True)
    decision: Mapped[str | None] = mapped_column(String(20))
    form: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the form as last received (jury grid)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TransitionRow(Base):
    """The audit log: one row per transition, in the workflow's own order."""

    __tablename__ = "transitions"
    __table_args__ = (UniqueConstraint("workflow_id", "sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(30))
    dest: Mapped[str] = mapped_column(String(30))
    trigger: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    justification: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class EmailRow(Base):
    """The outbox: written before sending, marked sent after; the rendered bytes are kept so a retry
    sends exactly the same message."""

    __tablename__ = "emails"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    purpose: Mapped[str] = mapped_column(String(60))
    occurrence: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20))  # pending, sent, bounced
    detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("workflow_id", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    receipt_number: Mapped[str | None] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FactRow(Base):
    """Reviews, conflicts, attendance, feedback and experiments, one row per fact."""

    __tablename__ = "facts"

    fact_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    campaign_id: Mapped[str] = mapped_column(String(100), index=True)
    receipt_number: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
