"""The short chaos run, with the same checks as `make chaos`: a dozen candidatures to their
decisions through real processes (a Temporal dev server on a file, two workers SIGKILLed every few
seconds, an SMTP relay stopped across the response date, the store behind a proxy).

It failed before the protocol between workflows described in docs/architecture.md (a candidature
terminated from outside made the campaign FAILED, and the candidatures that reported to it after). Speed targets are printed, not
asserted (no timed tests): `make chaos` holds them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.run import SHORT, run
from chaos.store import database_url

pytestmark = pytest.mark.devserver


async def test_short_chaos_run(tmp_path: Path) -> None:
    postgres = os.environ.get("AMI_TEST_POSTGRES_URL")
    url = database_url(tmp_path, postgres)
    if os.environ.get("CI") == "true" and postgres:
        assert url == postgres, "CI : PostgreSQL injoignable pour la course de chaos"
    figures = await run(SHORT, tmp_path / "chaos", url, seed=15)
    print(figures.render())
    assert not figures.failures, figures.render()
