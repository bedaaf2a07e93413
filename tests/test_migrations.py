"""Migrations on both databases: empty to head, back down and up, and a pre-migration database
(made by `create_all`, holding the generic `facts` table) upgraded without losing a fact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ami.infra import migrations
from ami.infra.store import SchemaError, Store, check_schema, upgrade
from ami.models.tables import AttendanceRow, Base, ExperimentRow, FeedbackRow, ReviewRow
from tests.test_store import database_url  # noqa: F401  (the fixture, parametrized over both databases)

AT = datetime(2024, 10, 14, 14, 0, tzinfo=UTC)


def _tables(store: Store) -> set[str]:
    with store.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def test_empty_to_head_matches_the_models(database_url: str) -> None:  # noqa: F811
    upgrade(database_url)
    check_schema(database_url)
    store = Store(database_url)
    try:
        with store.engine.connect() as connection:
            assert migrations.current_revision(connection) == migrations.head_revision()
            # What autogenerate would write now: nothing, or ami/models/tables.py and the migrations drifted.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert "facts" not in _tables(store)
    finally:
        store.engine.dispose()


def test_down_to_empty_and_up_again(database_url: str) -> None:  # noqa: F811
    store = Store(database_url)
    try:
        store.upgrade()
        with store.engine.begin() as connection:
            migrations.downgrade(connection, "base")
        assert _tables(store) <= {"alembic_version"}
        store.upgrade()
        check_schema(database_url)
    finally:
        store.engine.dispose()


def test_out_of_date_schema_is_refused_with_the_command(database_url: str) -> None:  # noqa: F811
    store = Store(database_url)
    try:
        with store.engine.begin() as connection:
            migrations.upgrade(connection, "0001")
        with pytest.raises(SchemaError, match=rf"version 0001, attendue {migrations.head_revision()}.*ami db upgrade"):
            check_schema(database_url)
        with store.engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaError, match="inconnue de ce code"):
            check_schema(database_url)
    finally:
        store.engine.dispose()


def test_database_made_before_migrations_keeps_its_facts(database_url: str) -> None:  # noqa: F811
    store = Store(database_url)
    try:
        with store.engine.begin() as connection:
            migrations.upgrade(connection, "0001")
            connection.execute(sa.text("DROP TABLE alembic_version"))  # as `create_all` left it
            meta = sa.MetaData()
            candidatures, transitions, facts = (
                sa.Table(n, meta, autoload_with=connection) for n in ("candidatures", "transitions", "facts")
            )
            common = {"workflow_id": "candidature-ami-2024-246200299", "campaign_id": "ami-2024", "receipt_number": "AMI-2024-0001"}
            connection.execute(
                candidatures.insert().values(**common, state="session_tracked", form={"collectivite": {"name": "Hénin"}}, updated_at=AT)
            )
            connection.execute(
                transitions.insert().values(
                    workflow_id=common["workflow_id"], sequence=1, dest="submitted", trigger="submit", actor="coordination", at=AT
                )
            )
            rows = [
                (
                    "review",
                    {"kind": "score", "member_id": "apes", "scores": {"motivation": 5}, "comment": "«\u00a0oui\u00a0»", "replaces": False},
                ),
                ("conflict", {"kind": "conflict", "member_id": "cress", "reason": None}),
                (
                    "attendance",
                    {"session_number": 1, "elected_present": True, "technician_present": False, "others": 1, "recorded_at": AT.isoformat()},
                ),
                ("feedback", {"session_number": 1, "satisfaction": 5, "comment": None}),
                ("experiment", {"experiment": "Réemploi"}),
            ]
            for number, (kind, data) in enumerate(rows):
                connection.execute(facts.insert().values(**common, fact_id=f"f-{number}", kind=kind, data=data, at=AT))

        upgrade(database_url)
        check_schema(database_url)
        assert "facts" not in _tables(store)
        score, conflict = store.facts(ReviewRow, "ami-2024")
        assert (score.kind, score.scores, score.comment, conflict.kind, conflict.member_id) == (
            "score",
            {"motivation": 5},
            "«\u00a0oui\u00a0»",
            "conflict",
            "cress",
        )
        [attendance] = store.facts(AttendanceRow, "ami-2024")
        assert (attendance.elected_present, attendance.technician_present, attendance.others, attendance.at) == (True, False, 1, AT)
        assert [f.satisfaction for f in store.facts(FeedbackRow, "ami-2024")] == [5]
        assert [e.experiment for e in store.facts(ExperimentRow, "ami-2024")] == ["Réemploi"]
        [candidature] = store.candidatures("ami-2024")
        assert candidature.submitted_at == AT
        campaign = store.campaign("ami-2024")
        assert campaign is not None and campaign.first_seen_at == AT

        # And back: the facts return to their generic table.
        with store.engine.begin() as connection:
            migrations.downgrade(connection, "0001")
            back = connection.execute(sa.text("SELECT kind FROM facts ORDER BY fact_id")).scalars().all()
        assert back == ["review", "conflict", "attendance", "feedback", "experiment"]
    finally:
        store.engine.dispose()
