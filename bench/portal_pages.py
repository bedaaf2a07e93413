"""How fast the portal renders its pages, in process (no network, no Temporal): the call page, the
empty form, and a form posted with errors (validation, CSRF, nonce in SQLite, draft saved).

    .venv/bin/python -m bench.portal_pages [N]
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr

from ami.app.portal.app import build_portal, create_app
from ami.app.portal.security import Bucket
from ami.infra.links import new_key_entry
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.campaign import load_campaign
from ami.models.tables import CampaignRow


async def main(n: int) -> None:
    root = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=root, database_url=f"sqlite:///{root / 'ami.db'}", portal_keys=SecretStr(new_key_entry("k")))
    store = store_for(settings.resolved_database_url())
    plan = load_campaign("ami-2024").plan()
    now = datetime(2024, 8, 1, tzinfo=UTC)
    store.record_campaign(CampaignRow.from_plan(plan, first_seen_at=now))

    async def nothing() -> object:
        raise RuntimeError("pas de Temporal ici")

    portal = build_portal(settings, nothing, store=store, limits={b: (10**9, 60.0) for b in Bucket}, now=lambda: now)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(portal)), base_url="http://bench") as web:
        for label, path in (("page de l'appel", "/"), ("formulaire vide", "/candidature")):
            started = time.perf_counter()
            for _ in range(n):
                assert (await web.get(path)).status_code == 200
            print(f"{label:<28} {n / (time.perf_counter() - started):7.0f} pages/s")
        started = time.perf_counter()
        for _ in range(n):
            token = re.search(r'name="csrf" value="([^"]+)"', (await web.get("/candidature")).text)[1]  # type: ignore[index]
            answer = await web.post("/candidature", data={"csrf": token, "action": "deposer", "collectivite.siren": "123"})
            assert answer.status_code == 400
        print(f"{'formulaire en erreur (GET+POST)':<28} {n / (time.perf_counter() - started):7.0f} envois/s")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
