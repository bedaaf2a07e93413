"""The store's tables (SQLAlchemy 2): projections and audit written only by activities.

Every write is idempotent: a natural key (workflow id + sequence, fact id, message id, sha256) makes
a retried activity find its own row instead of adding a second one. The schema itself is owned by
the Alembic migrations in `ami/infra/migrations/`; these classes must stay in step with their head
(tests/test_migrations.py compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, Dialect, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from ami.models.campaign_plan import CampaignPlan


class OutboxStatus(StrEnum):
    """Where a message of the outbox stands (the `status` column of `emails`)."""

    PENDING = "pending"  # written, not yet accepted by the relay
    SENT = "sent"
    BOUNCED = "bounced"  # refused for good


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
        moment: datetime = value  # SQLite hands back a naive UTC datetime, PostgreSQL an aware one
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


_PLAN_COLUMNS = {"id", "name", "region", "timezone", "opens_at", "deadline_at", "response_at"}


class CampaignRow(Base):
    """A campaign as the store knows it. The audit activity only knows the id, so it writes the id
    alone; name, region, zone and dates stay empty until someone who holds the plan records them."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(3))
    timezone: Mapped[str | None] = mapped_column(String(64))
    opens_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    response_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())

    @classmethod
    def from_plan(cls, plan: CampaignPlan, first_seen_at: datetime) -> CampaignRow:
        """The row of a campaign whose plan is at hand: every column filled."""
        return cls(first_seen_at=first_seen_at, **plan.model_dump(include=_PLAN_COLUMNS))


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
    # When the engine recorded that form (its `submitted` transition): the jury grid's « Reçue le ».
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set by the purge: personal fields replaced by a marker, the row kept for the statistics.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


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
    status: Mapped[str] = mapped_column(String(20))  # an OutboxStatus
    detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # raw bytes deleted by the purge, row kept


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
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # file deleted by the purge, row kept


class _Fact:
    """What every fact row shares: `fact_id` is the workflow's own key for the fact, so a retried
    activity finds its row. Facts are history: a corrected attendance is a second row, the latest wins."""

    fact_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(200), index=True)
    campaign_id: Mapped[str] = mapped_column(String(100), index=True)
    receipt_number: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReviewRow(_Fact, Base):
    """A jury member's scores on a candidature (`kind` "score") or a declared conflict of interest
    (`kind` "conflict", which voids that member's earlier scores on it)."""

    __tablename__ = "reviews"

    kind: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[str] = mapped_column(String(100), index=True)
    scores: Mapped[dict[str, int] | None] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)  # the member's comment on a score
    reason: Mapped[str | None] = mapped_column(Text)  # the reason given for a conflict
    replaces: Mapped[bool] = mapped_column(Boolean, default=False)  # a new score by the same member


class AttendanceRow(_Fact, Base):
    __tablename__ = "attendance"

    session_number: Mapped[int] = mapped_column(Integer)
    elected_present: Mapped[bool] = mapped_column(Boolean)
    technician_present: Mapped[bool] = mapped_column(Boolean)
    others: Mapped[int] = mapped_column(Integer, default=0)


class FeedbackRow(_Fact, Base):
    __tablename__ = "feedback"

    session_number: Mapped[int] = mapped_column(Integer)
    satisfaction: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


class ExperimentRow(_Fact, Base):
    """What the collectivité commits to experiment on its territory; the latest statement wins."""

    __tablename__ = "experiments"

    experiment: Mapped[str] = mapped_column(Text)


class DataKeyRow(Base):
    """A data key of one scope (a workflow id: a candidature, or a campaign's own payloads), wrapped by
    a master key of the codec. Destroying it (wrapped set to NULL, the row kept as the proof and the
    date of the erasure) makes every payload it encrypted unreadable for good: crypto-shredding."""

    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    scope: Mapped[str] = mapped_column(String(200), index=True)
    master_key_id: Mapped[str | None] = mapped_column(String(64))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class PortalDraftRow(Base):
    """A candidature form being filled in on the portal, resumable by its signed link (ami/app/portal)."""

    __tablename__ = "portal_drafts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random; only its signed link reaches it
    campaign_id: Mapped[str] = mapped_column(String(100), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the form's fields as typed
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{sha256, filename, media_type, size}]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PortalNonceRow(Base):
    """Each form's one-time nonce, consumed when the form is posted: a replayed form finds it here."""

    __tablename__ = "portal_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
