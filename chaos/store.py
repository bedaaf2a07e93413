"""Which store a chaos run uses: PostgreSQL when one is reachable, else SQLite in the run's folder."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from ami.infra.store import normalise_url


def reachable(url: str) -> bool:
    engine = create_engine(normalise_url(url), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def database_url(out: Path, postgres: str | None) -> str:
    if postgres and reachable(postgres):
        return postgres
    return f"sqlite:///{out.resolve() / 'ami.db'}"
