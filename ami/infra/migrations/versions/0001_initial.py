"""The schema as `create_all` made it before migrations: projection, audit, outbox, documents, facts.

Revision ID: 0001
Revises:
Create Date: 2024-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "candidatures",
        sa.Column("workflow_id", sa.String(200), primary_key=True),
        sa.Column("campaign_id", sa.String(100), nullable=False),
        sa.Column("receipt_number", sa.String(50), nullable=False),
        sa.Column("official_name", sa.String(300)),
        sa.Column("kind", sa.String(30)),
        sa.Column("departement", sa.String(3)),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("decision", sa.String(20)),
        sa.Column("form", sa.JSON()),
        sa.Column("updated_at", _AT, nullable=False),
    )
    for column in ("campaign_id", "receipt_number", "state"):
        op.create_index(f"ix_candidatures_{column}", "candidatures", [column])

    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(30)),
        sa.Column("dest", sa.String(30), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("justification", sa.Text()),
        sa.Column("at", _AT, nullable=False),
        sa.UniqueConstraint("workflow_id", "sequence"),
    )
    op.create_index("ix_transitions_workflow_id", "transitions", ["workflow_id"])

    op.create_table(
        "emails",
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("occurrence", sa.String(60), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("sent_at", _AT),
    )
    op.create_index("ix_emails_workflow_id", "emails", ["workflow_id"])

    op.create_table(
        "documents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("receipt_number", sa.String(50)),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.UniqueConstraint("workflow_id", "kind", "sha256"),
    )
    op.create_index("ix_documents_workflow_id", "documents", ["workflow_id"])

    op.create_table(
        "facts",
        sa.Column("fact_id", sa.String(250), primary_key=True),
        sa.Column("workflow_id", sa.String(200), nullable=False),
        sa.Column("campaign_id", sa.String(100), nullable=False),
        sa.Column("receipt_number", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", _AT, nullable=False),
    )
    for column in ("workflow_id", "campaign_id", "kind"):
        op.create_index(f"ix_facts_{column}", "facts", [column])


def downgrade() -> None:
    for table in ("facts", "documents", "emails", "transitions", "candidatures"):
        op.drop_table(table)
