"""The data keys of the payload codec (crypto-shredding of Temporal histories), and the
date each dossier, message and document was erased by the purge (the rows stay, for the statistics).

Revision ID: 0003_data_keys
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_data_keys"
down_revision = "0002"
branch_labels = None
depends_on = None

_AT = sa.DateTime(timezone=True)
_ERASABLE = ("candidatures", "emails", "documents")


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("master_key_id", sa.String(64), nullable=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("destroyed_at", _AT, nullable=True),
    )
    op.create_index("ix_data_keys_scope", "data_keys", ["scope"])
    for table in _ERASABLE:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("erased_at", _AT, nullable=True))


def downgrade() -> None:
    for table in _ERASABLE:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("erased_at")
    op.drop_index("ix_data_keys_scope", table_name="data_keys")
    op.drop_table("data_keys")
