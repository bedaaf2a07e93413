"""Alembic's entry point: migrations run on the connection ami/infra/store.py hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ami.models.tables import Base


def _run(connection: Connection) -> None:
    # Batch mode lets SQLite alter a table by copying it; PostgreSQL alters in place.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Les migrations ne s'exécutent que sur une base : lancez « ami db upgrade ».")

_connection = context.config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:
    # `alembic` run by hand (autogenerate while writing a revision): the configured database.
    from ami.infra.settings import get_settings
    from ami.infra.store import make_engine

    with make_engine(get_settings().resolved_database_url()).begin() as connection:
        _run(connection)
