"""The portal's drafts of candidature forms and its consumed form nonces.

Revision ID: 0003_portal
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_portal"
down_revision = "0003_data_keys"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portal_drafts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("updated_at", _AT, nullable=False),
    )
    op.create_index("ix_portal_drafts_campaign_id", "portal_drafts", ["campaign_id"])
    op.create_table(
        "portal_nonces",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("used_at", _AT, nullable=False),
    )
    op.create_index("ix_portal_nonces_used_at", "portal_nonces", ["used_at"])


def downgrade() -> None:
    op.drop_index("ix_portal_nonces_used_at", table_name="portal_nonces")
    op.drop_table("portal_nonces")
    op.drop_index("ix_portal_drafts_campaign_id", table_name="portal_drafts")
    op.drop_table("portal_drafts")
