"""The store: synchronous SQLAlchemy calls, run by activities on threads of their own (ami/activities/store_calls.py).

SQLite (a file under var/ by default) or PostgreSQL through psycopg 3, same code. Writes insert with
« ON CONFLICT DO NOTHING » on each row's natural key, so a retried activity, even one racing its own
first attempt, never adds a second row. The schema comes from the Alembic migrations (ami/infra/migrations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Insert, Select, Table, create_engine, event, func, inspect, make_url, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ami.infra import migrations
from ami.infra.private_files import private_dir, touch_private
from ami.models.tables import (
    AttendanceRow,
    Base,
    CampaignRow,
    CandidatureRow,
    DocumentRow,
    EmailRow,
    ExperimentRow,
    FeedbackRow,
    OutboxStatus,
    ReviewRow,
    TransitionRow,
)

FactRow = ReviewRow | AttendanceRow | FeedbackRow | ExperimentRow
_Fact = TypeVar("_Fact", ReviewRow, AttendanceRow, FeedbackRow, ExperimentRow)
_Row = TypeVar("_Row")
UPGRADE_COMMAND = "ami db upgrade"


class SchemaError(RuntimeError):
    """The database's schema is not the one this code expects; the message says what to run."""


def normalise_url(url: str) -> str:
    """`postgresql://` (what people write) means psycopg 3 here, not SQLAlchemy's default psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def shown(url: str) -> str:
    """The URL as it may appear in a message: without its password."""
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    path = _sqlite_path(url)
    if path is not None:
        private_dir(path.parent)
        touch_private(path)
    # A server's connection can drop while it waits in the pool, hence the ping before each use; a
    # SQLite file has no server, and the ping (SELECT 1 per checkout) was a third of a journal write.
    engine = create_engine(url, pool_pre_ping=make_url(url).get_backend_name() != "sqlite")
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # SQLite's own advice for WAL: a commit survives a crash of the process, and only a power cut
    # may lose the last ones; no fsync per commit. Each email writes two (outbox row, then mark):
    # about 15 ms each with FULL on this machine's disk, most of an email's cost (docs/performance.md).
    # Losing a mark resends identical bytes under the same Message-ID. PostgreSQL is unaffected.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Erased values are overwritten with zeros, not left in free pages (the purge, docs/privacy.md).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _insert_once(session: Session, model: type[Base], values: dict[str, Any], keys: Sequence[str]) -> bool:
    """Insert unless a row with the same key exists; True when this call added it.

    Decided by RETURNING, not rowcount: drivers disagree on rowcount for « DO NOTHING ».
    """
    table = cast(Table, model.__table__)
    dialect = session.get_bind().dialect.name
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise ValueError(f"base non prise en charge : {dialect}")
    return session.execute(statement.returning(*table.primary_key)).first() is not None


def _values(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns if getattr(row, column.key) is not None}


@dataclass(frozen=True)
class CandidatureSummary:
    """One line of a campaign's listing from the store (`ami status --from-store`)."""

    receipt_number: str
    workflow_id: str
    collectivite: str  # the register's name, else the name the applicant wrote
    departement: str | None
    state: str
    decision: str | None
    reviews: int  # scores given (a conflict voids none of the history)
    conflicts: int
    sessions_attended: int  # sessions with someone present, latest record per session
    updated_at: datetime


class Store:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def flush_erased(self) -> None:
        """After an erasure: SQLite's write-ahead log still holds the old pages until a checkpoint."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def upgrade(self) -> None:
        with self.engine.begin() as connection:
            migrations.upgrade(connection)

    # --- transitions, the candidature projection and its campaign ----------------------------

    def record_transition(self, row: TransitionRow, projection: CandidatureRow) -> bool:
        """Insert the audit row once; returns False when a retried activity finds it already there."""
        with self.sessions.begin() as session:
            added = _insert_once(session, TransitionRow, _values(row), ("workflow_id", "sequence"))
            if not added:
                return False
            _insert_once(session, CampaignRow, {"id": projection.campaign_id, "first_seen_at": row.at}, ("id",))
            current = session.get(CandidatureRow, projection.workflow_id)
            if current is None:
                session.add(projection)
            elif current.updated_at <= projection.updated_at:
                for column in ("official_name", "kind", "departement", "state", "decision", "form", "submitted_at", "updated_at"):
                    value = getattr(projection, column)
                    if value is not None:
                        setattr(current, column, value)
        return True

    def record_campaign(self, campaign: CampaignRow) -> None:
        """Fill in what a holder of the campaign's plan knows (name, region, zone, dates)."""
        with self.sessions.begin() as session:
            current = session.get(CampaignRow, campaign.id)
            if current is None:
                session.add(campaign)
                return
            for column in ("name", "region", "timezone", "opens_at", "deadline_at", "response_at"):
                setattr(current, column, getattr(campaign, column))

    def campaign(self, campaign_id: str) -> CampaignRow | None:
        with self.sessions() as session:
            return session.get(CampaignRow, campaign_id)

    def _all(self, query: Select[_Row]) -> list[_Row]:
        with self.sessions() as session:
            return list(session.scalars(query))

    def transitions(self, workflow_id: str) -> list[TransitionRow]:
        return self._all(select(TransitionRow).where(TransitionRow.workflow_id == workflow_id).order_by(TransitionRow.sequence))

    def candidatures(self, campaign_id: str) -> list[CandidatureRow]:
        return self._all(select(CandidatureRow).where(CandidatureRow.campaign_id == campaign_id).order_by(CandidatureRow.receipt_number))

    # --- facts: reviews and conflicts, attendance, feedback, experiments ----------------------

    def record_fact(self, row: FactRow) -> bool:
        """Insert once per `fact_id`; a retried activity finds its row and adds nothing."""
        with self.sessions.begin() as session:
            return _insert_once(session, type(row), _values(row), ("fact_id",))

    def facts(self, model: type[_Fact], campaign_id: str, workflow_id: str | None = None) -> list[_Fact]:
        """Every row of one kind of fact for a campaign (or one candidature), oldest first."""
        query = select(model).where(model.campaign_id == campaign_id).order_by(model.at, model.fact_id)
        return self._all(query.where(model.workflow_id == workflow_id) if workflow_id else query)

    def summary(self, campaign_id: str) -> list[CandidatureSummary]:
        reviews = {r.fact_id: r for r in self.facts(ReviewRow, campaign_id)}
        latest: dict[tuple[str, int], AttendanceRow] = {}
        for record in self.facts(AttendanceRow, campaign_id):
            latest[(record.workflow_id, record.session_number)] = record  # oldest first: the last one wins
        lines = []
        for c in self.candidatures(campaign_id):
            written = (c.form or {}).get("collectivite", {}).get("name")
            mine = [r for r in reviews.values() if r.workflow_id == c.workflow_id]
            attended = [a for (wid, _), a in latest.items() if wid == c.workflow_id and (a.elected_present or a.technician_present)]
            lines.append(
                CandidatureSummary(
                    receipt_number=c.receipt_number,
                    workflow_id=c.workflow_id,
                    collectivite=c.official_name or written or "",
                    departement=c.departement,
                    state=c.state,
                    decision=c.decision,
                    reviews=sum(1 for r in mine if r.kind == "score"),
                    conflicts=sum(1 for r in mine if r.kind == "conflict"),
                    sessions_attended=len(attended),
                    updated_at=c.updated_at,
                )
            )
        return lines

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

    def outbox_mark(self, message_id: str, status: OutboxStatus, detail: str | None = None) -> None:
        """One UPDATE (nothing when the row is absent): the ORM read the row first, its 45 KB of bytes
        included, to change three small columns (0.8 ms of an email's 2 ms here, docs/performance.md)."""
        values: dict[str, Any] = {"status": status, "detail": detail, "attempts": EmailRow.attempts + 1}
        if status is not OutboxStatus.PENDING:
            values["sent_at"] = datetime.now(UTC)
        with self.engine.begin() as connection:
            connection.execute(update(EmailRow).where(EmailRow.message_id == message_id).values(**values))

    def emails(self, workflow_id: str | None = None) -> list[EmailRow]:
        query = select(EmailRow).order_by(EmailRow.created_at)
        return self._all(query.where(EmailRow.workflow_id == workflow_id) if workflow_id else query)

    # --- documents -----------------------------------------------------------------------------

    def record_document(self, row: DocumentRow) -> None:
        with self.sessions.begin() as session:
            _insert_once(session, DocumentRow, _values(row), ("workflow_id", "kind", "sha256"))

    def documents(self, workflow_id: str | None = None) -> list[DocumentRow]:
        query = select(DocumentRow).order_by(DocumentRow.id)
        return self._all(query.where(DocumentRow.workflow_id == workflow_id) if workflow_id else query)


# --- the schema ---------------------------------------------------------------------------------


def upgrade(url: str) -> None:
    """Migrate the database at `url` to the head revision (creating it from nothing if need be)."""
    store = Store(url)
    try:
        store.upgrade()
    finally:
        store.engine.dispose()


def check_schema(url: str) -> None:
    """Raise `SchemaError` unless the database at `url` is exactly at the head revision.

    Never writes: a worker must not migrate a shared database behind its operators' back.
    """
    url = normalise_url(url)
    head = migrations.head_revision()
    fix = f"lancez « {UPGRADE_COMMAND} » (avec le même AMI_DATABASE_URL)"
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        raise SchemaError(f"La base {shown(url)} n'existe pas encore : {fix} pour la créer.")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = migrations.current_revision(connection)
            legacy = current is None and bool(inspect(connection).get_table_names())
    except OperationalError as error:
        raise SchemaError(f"Base de données injoignable ({shown(url)}) : {error.orig or error}") from None
    finally:
        engine.dispose()
    if current == head:
        return
    if current is None:
        what = "a été créée avant les migrations" if legacy else "est vide"
        raise SchemaError(f"La base {shown(url)} {what} (schéma attendu : {head}) : {fix}.")
    if current not in migrations.known_revisions():
        raise SchemaError(
            f"La base {shown(url)} est à la version {current}, inconnue de ce code (plus récent ?) : mettez ami à jour plutôt que la base."
        )
    raise SchemaError(f"Le schéma de la base {shown(url)} n'est pas à jour (version {current}, attendue {head}) : {fix}.")


@cache
def store_for(url: str) -> Store:
    """The process's store for `url`, migrated to head once (demo, tests, activities)."""
    store = Store(url)
    store.upgrade()
    return store


def campaign_summary(campaign_id: str, url: str | None = None) -> list[CandidatureSummary]:
    """The campaign's candidatures as the store knows them, by receipt number; `url` defaults to the
    settings' database. Reads only: an out-of-date schema raises `SchemaError`."""
    from ami.infra.settings import get_settings

    url = url or get_settings().resolved_database_url()
    check_schema(url)
    store = Store(url)
    try:
        return store.summary(campaign_id)
    finally:
        store.engine.dispose()


def count_rows(store: Store, model: type[Any]) -> int:
    """How many rows a table holds (tests use it to prove a retry adds nothing)."""
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)
