"""Hostile input through the portal (Starlette's TestClient, no Temporal server needed): the fuzz
suite's strings, oversized and disguised uploads, replayed and forged forms, bad links. Always a
French message, on the field when there is one; never a 500."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from starlette.testclient import TestClient

from ami.app.examples import example
from ami.app.portal import csrf
from ami.app.portal.app import build_portal, create_app
from ami.app.portal.core import Portal
from ami.app.portal.security import Bucket
from ami.infra.links import Audience, Role, new_key_entry
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.campaign import load_campaign
from ami.models.tables import CampaignRow
from tests.portal_helpers import csrf_of, field_errors, form_fields
from tests.test_portal_units import PDF, PNG

NOW = datetime(2024, 8, 1, 12, tzinfo=UTC)
HOSTILE = ["", "   ", "a\nb", "x\u2028y", "é" * 301, "<script>alert(1)</script>", "' OR 1=1 --", "\x00\x01", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "%s%n{{7*7}}"]


async def _no_temporal() -> object:
    raise RuntimeError("aucun serveur Temporal dans ce test")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Portal:
    root: Path = tmp_path_factory.mktemp("portal")
    config = Settings(
        data_dir=root,
        database_url=f"sqlite:///{root / 'ami.db'}",
        portal_keys=SecretStr(new_key_entry("k1")),
        portal_max_upload_bytes=4096,
    )
    store = store_for(config.resolved_database_url())
    plan = load_campaign("ami-2024").plan()
    store.record_campaign(CampaignRow.from_plan(plan, first_seen_at=NOW))
    many = {b: (10_000, 60.0) for b in Bucket}
    return build_portal(config, _no_temporal, store=store, limits=many, now=lambda: NOW)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def web(portal: Portal) -> Iterator[TestClient]:
    with TestClient(create_app(portal), base_url="http://portail.test", raise_server_exceptions=False) as client:
        yield client


def _post(web: TestClient, path: str, data: dict[str, str], files: object = None) -> object:
    token = csrf_of(web.get("/candidature").text)
    return web.post(path, data={**data, "csrf": token, "action": "deposer"}, files=files)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        ["collectivite.name", "collectivite.siren", "collectivite.email", "political_referent.email", "letter.objective"]
    ),
    value=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60)),
)
def test_fuzzed_fields_get_a_french_error_or_none_never_a_500(web: TestClient, field: str, value: str) -> None:
    fields = form_fields(example("01-henin-carvin"))
    fields[field] = value
    response = _post(web, "/candidature", fields)
    # 503: a valid form reaches for the Temporal server, absent here, and says so in French.
    assert response.status_code in (400, 303, 503), response.status_code  # type: ignore[attr-defined]
    html = unescape(response.text)  # type: ignore[attr-defined]
    if response.status_code == 503:  # type: ignore[attr-defined]
        assert "rien n'a été enregistré" in html
    assert "<script>alert" not in response.text  # type: ignore[attr-defined]
    if response.status_code == 400:  # type: ignore[attr-defined]
        errors = field_errors(html)
        assert errors, html[:2000]
        assert all(re.search(r"[a-zA-Zéèà]", m) for m in errors.values())


def test_oversized_and_disguised_uploads_are_refused_on_their_field(web: TestClient) -> None:
    fields = form_fields(example("01-henin-carvin"))
    files = [
        ("pieces", ("lettre.pdf", PDF + b"0" * 5000, "application/pdf")),
        ("pieces", ("photo.pdf", PNG, "application/pdf")),
        ("pieces", ("virus.png", b"MZ\x90\x00", "image/png")),
    ]
    response = _post(web, "/candidature", fields, files)
    assert response.status_code == 400  # type: ignore[attr-defined]
    message = field_errors(response.text)["f-pieces"]  # type: ignore[attr-defined]
    assert "taille maximale" in message and "« photo.pdf » n'est pas un vrai fichier PDF" in message and "virus.png" in message
    assert 'aria-describedby="f-pieces-aide f-pieces-erreur"' in response.text  # type: ignore[attr-defined]


def test_a_good_upload_is_kept_in_the_draft_content_addressed(web: TestClient, portal: Portal) -> None:
    response = _post(web, "/candidature", {"collectivite.name": ""}, [("pieces", ("Lettre signée.pdf", PDF, "application/pdf"))])
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Lettre signée.pdf" in unescape(response.text), response.text  # type: ignore[attr-defined]
    stored = list((portal.settings.data_dir / "portal" / "pieces").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == PDF for p in stored)


def test_replayed_forged_and_tokenless_forms_are_refused(web: TestClient) -> None:
    token = csrf_of(web.get("/candidature").text)
    first = web.post("/candidature", data={"csrf": token, "action": "brouillon"}, follow_redirects=False)
    assert first.status_code == 303
    again = web.post("/candidature", data={"csrf": token, "action": "brouillon"}, follow_redirects=False)
    assert again.status_code == 409 and "déjà été envoyé" in again.text
    forged = token[:-1] + ("1" if token.endswith("0") else "0")  # never the token itself (1 time in 64 it ended in 0)
    assert "vérifié" in web.post("/candidature", data={"csrf": forged}).text
    assert web.post("/candidature", data={"action": "deposer"}).status_code == 400
    stranger = TestClient(web.app, base_url="http://portail.test")  # another browser: no cookie of ours
    assert stranger.post("/candidature", data={"csrf": csrf_of(web.get("/candidature").text)}).status_code == 400


def test_refused_links_say_why(web: TestClient, portal: Portal) -> None:
    s = portal.signer
    expired = s.sign(Audience.DOSSIER, "ami-2024", "246200299", Role.COLLECTIVITE, timedelta(days=1), NOW - timedelta(days=2))
    juror = s.sign(Audience.JUROR, "ami-2024", "apes", Role.JUROR, timedelta(days=1), NOW)
    other = s.sign(Audience.DOSSIER, "ami-2023", "246200299", Role.COLLECTIVITE, timedelta(days=1), NOW)
    payload, key, mac = juror.split(".")
    cases = {
        f"/dossier/{expired}": "expiré",
        f"/dossier/{juror}": "ne donne pas accès",
        f"/dossier/{other}": "ne donne pas accès",
        f"/jury/{payload}.{key}.{mac[:-2]}AA": "modifié",
        f"/jury/{payload}.autre.{mac}": "révoqué",
        "/brouillon/n-importe-quoi": "incomplet",
    }
    for path, needle in cases.items():
        response = web.get(path)
        assert response.status_code == 403 and needle in unescape(response.text), (path, response.text[-800:])
        assert "Lien refusé" in response.text


def test_secure_headers_and_no_token_in_the_access_log(web: TestClient, portal: Portal, caplog: pytest.LogCaptureFixture) -> None:
    token = portal.signer.sign(Audience.DOSSIER, "ami-2024", "246200299", Role.COLLECTIVITE, timedelta(days=1), NOW)
    with caplog.at_level(logging.INFO, logger="ami.app.portal.access"):
        response = web.get(f"/dossier/{token}")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY" and response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["cache-control"] == "no-store"
    cookie = TestClient(web.app, base_url="http://portail.test").get("/").headers.get("set-cookie", "")  # a first visit
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    lines = [r.getMessage() for r in caplog.records if r.name == "ami.app.portal.access"]
    assert lines and all(token not in line and "246200299" not in line for line in lines)
    assert any("/dossier/{token}" in line for line in lines)


def test_unknown_pages_and_methods_answer_in_french(web: TestClient) -> None:
    assert "n'existe pas" in unescape(web.get("/admin").text)
    response = web.delete("/candidature")
    assert response.status_code == 405 and "ne reçoit pas" in unescape(response.text)


def test_rate_limit_answers_429_in_french(portal: Portal) -> None:
    tight = build_portal(
        portal.settings,
        _no_temporal,  # type: ignore[arg-type]
        store=portal.store,
        limits={Bucket.LINK: (2, 60.0), Bucket.SUBMIT: (1, 60.0), Bucket.DOWNLOAD: (1, 60.0)},
        now=lambda: NOW,
    )
    with TestClient(create_app(tight), base_url="http://portail.test") as client:
        codes = [client.get("/jury/x.y.z").status_code for _ in range(3)]
        assert codes == [403, 403, 429]
        assert "Patientez" in unescape(client.get("/jury/x.y.z").text)
    assert csrf.COOKIE == "ami_csrf"


def test_nothing_is_accepted_after_the_deadline(web: TestClient, portal: Portal) -> None:
    late = datetime(2024, 9, 8, 22, 0, 1, tzinfo=UTC)  # the deadline is the end of 8 September, Paris time (UTC+2)
    web.get("/candidature")
    token = csrf.issue(portal.signer, web.cookies[csrf.COOKIE], "candidature", late)  # a form loaded just before
    opened = portal.now
    portal.now = lambda: late
    try:
        page = web.get("/candidature")
        assert "date limite de dépôt est passée" in unescape(page.text) and 'name="csrf"' not in page.text
        refused = web.post("/candidature", data={"csrf": token, "action": "brouillon", "collectivite.name": "Lens"})
        assert refused.status_code == 403 and "date limite" in unescape(refused.text)
    finally:
        portal.now = opened
