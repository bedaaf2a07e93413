"""Proper tables for the facts (reviews and conflicts, attendance, feedback, experiments), the
campaigns, and the time each candidature's form was recorded; the generic `facts` table goes.

Revision ID: 0002
Revises: 0001
Create Date: 2024-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)
_FACT_TABLES = ("reviews", "attendance", "feedback", "experiments")


def _fact_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("fact_id", sa.String(250), primary_key=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("campaign_id", sa.String(100), nullable=False),
        sa.Column("receipt_number", sa.String(50), nullable=False),
        sa.Column("at", _AT, nullable=False),
    ]


def _create_tables() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(300)),
        sa.Column("region", sa.String(3)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("opens_at", _AT),
        sa.Column("deadline_at", _AT),
        sa.Column("response_at", _AT),
        sa.Column("first_seen_at", _AT, nullable=False),
    )
    op.create_table(
        "reviews",
        *_fact_columns(),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("member_id", sa.String(100), nullable=False),
        sa.Column("scores", sa.JSON()),
        sa.Column("comment", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("replaces", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_reviews_member_id", "reviews", ["member_id"])
    op.create_table(
        "attendance",
        *_fact_columns(),
        sa.Column("session_number", sa.Integer(), nullable=False),
        sa.Column("elected_present", sa.Boolean(), nullable=False),
        sa.Column("technician_present", sa.Boolean(), nullable=False),
        sa.Column("others", sa.Integer(), nullable=False),
    )
    op.create_table(
        "feedback",
        *_fact_columns(),
        sa.Column("session_number", sa.Integer(), nullable=False),
        sa.Column("satisfaction", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text()),
    )
    op.create_table("experiments", *_fact_columns(), sa.Column("experiment", sa.Text(), nullable=False))
    for table in _FACT_TABLES:
        op.create_index(f"ix_{table}_workflow_id", table, ["workflow_id"])
        op.create_index(f"ix_{table}_campaign_id", table, ["campaign_id"])


def _split(kind: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A legacy fact's JSON as the columns of its new table (the shapes the workflows wrote)."""
    if kind in ("review", "conflict"):
        return "reviews", {
            "kind": "score" if kind == "review" else "conflict",
            "member_id": data["member_id"],
            "scores": data.get("scores"),
            "comment": data.get("comment"),
            "reason": data.get("reason"),
            "replaces": bool(data.get("replaces", False)),
        }
    if kind == "attendance":
        keys = ("session_number", "elected_present", "technician_present")
        return "attendance", {**{k: data[k] for k in keys}, "others": int(data.get("others", 0))}
    if kind == "feedback":
        return "feedback", {"session_number": data["session_number"], "satisfaction": data["satisfaction"], "comment": data.get("comment")}
    if kind == "experiment":
        return "experiments", {"experiment": data["experiment"]}
    raise RuntimeError(f"fait de nature inconnue {kind!r} dans la table facts : migration impossible sans perte")


def _copy_facts() -> None:
    connection = op.get_bind()
    meta = sa.MetaData()
    facts = sa.Table("facts", meta, autoload_with=connection)
    targets = {name: sa.Table(name, meta, autoload_with=connection) for name in _FACT_TABLES}
    for fact in connection.execute(sa.select(facts)).mappings():
        table, columns = _split(fact["kind"], dict(fact["data"]))
        common = {k: fact[k] for k in ("fact_id", "workflow_id", "campaign_id", "receipt_number", "at")}
        connection.execute(targets[table].insert().values(**common, **columns))


def upgrade() -> None:
    _create_tables()
    with op.batch_alter_table("candidatures") as batch:
        batch.add_column(sa.Column("submitted_at", _AT))
    op.execute(
        "UPDATE candidatures SET submitted_at = (SELECT max(t.at) FROM transitions t"
        " WHERE t.workflow_id = candidatures.workflow_id AND t.dest = 'submitted')"
    )
    # Only what the audit log knows of each campaign: its id and when it was first seen.
    op.execute(
        "INSERT INTO campaigns (id, first_seen_at) SELECT c.campaign_id, min(t.at)"
        " FROM candidatures c JOIN transitions t ON t.workflow_id = c.workflow_id GROUP BY c.campaign_id"
    )
    _copy_facts()
    op.drop_table("facts")


def _join(table: str, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The inverse of `_split`: a new-table row as a legacy fact."""
    if table == "reviews":
        if row["kind"] == "score":
            return "review", {
                "kind": "score",
                "member_id": row["member_id"],
                "receipt_number": row["receipt_number"],
                "scores": row["scores"],
                "comment": row["comment"],
                "replaces": row["replaces"],
            }
        return "conflict", {
            "kind": "conflict",
            "member_id": row["member_id"],
            "receipt_number": row["receipt_number"],
            "reason": row["reason"],
        }
    if table == "attendance":
        return "attendance", {k: row[k] for k in ("session_number", "elected_present", "technician_present", "others")}
    if table == "feedback":
        return "feedback", {k: row[k] for k in ("session_number", "satisfaction", "comment")}
    return "experiment", {"experiment": row["experiment"]}


def downgrade() -> None:
    facts = op.create_table(
        "facts",
        sa.Column("fact_id", sa.String(250), primary_key=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("campaign_id", sa.String(100), nullable=False),
        sa.Column("receipt_number", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", _AT, nullable=False),
    )
    assert facts is not None
    for column in ("workflow_id", "campaign_id", "kind"):
        op.create_index(f"ix_facts_{column}", "facts", [column])
    connection = op.get_bind()
    meta = sa.MetaData()
    for name in _FACT_TABLES:
        table = sa.Table(name, meta, autoload_with=connection)
        for row in connection.execute(sa.select(table)).mappings():
            kind, data = _join(name, dict(row))
            common = {k: row[k] for k in ("fact_id", "workflow_id", "campaign_id", "receipt_number", "at")}
            connection.execute(facts.insert().values(**common, kind=kind, data=data))
        op.drop_table(name)
    op.drop_table("campaigns")
    with op.batch_alter_table("candidatures") as batch:
        batch.drop_column("submitted_at")
