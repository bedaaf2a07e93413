"""The SQLite store commits without an fsync each time (WAL with synchronous=NORMAL): every
email writes two commits and every audit record one. No time is asserted; the figures are in bench/."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from ami.infra.store import store_for


def test_sqlite_store_uses_wal_with_normal_sync(tmp_path: Path) -> None:
    store = store_for(f"sqlite:///{tmp_path / 'ami.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL (FULL is 2)
