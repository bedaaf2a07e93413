"""The store's schema history (Alembic), run from code so `ami db upgrade` works from any directory.

No `alembic.ini`: the script location is this package, and the connection comes from the caller
(ami/infra/store.py), so the URL, its SQLite pragmas and its PostgreSQL search_path are the store's own.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

HERE = Path(__file__).resolve().parent

# Databases made by `create_all` before the migrations existed hold exactly revision 0001's tables,
# without a version table: they are stamped 0001 and upgraded from there, keeping their rows.
LEGACY_REVISION = "0001"
_LEGACY_TABLES = frozenset({"candidatures", "transitions", "emails", "documents", "facts"})


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(config()).get_current_head()
    assert head is not None  # the versions folder is never empty
    return head


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(config()).walk_revisions()}


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection, target: str = "head") -> None:
    """Bring the schema to `target` inside the caller's transaction."""
    if connection.dialect.name == "postgresql":
        # Two processes starting at once (a worker and `ami demo`, say) migrate one after the other;
        # the key includes the schema so that databases side by side (tests) do not wait on each other.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('ami-migrations:' || current_schema()))"))
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and tables >= _LEGACY_TABLES:
        command.stamp(config(connection), LEGACY_REVISION)
    command.upgrade(config(connection), target)


def downgrade(connection: Connection, target: str) -> None:
    command.downgrade(config(connection), target)
