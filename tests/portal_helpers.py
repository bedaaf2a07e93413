"""Helpers of the portal's tests: a portal on a test store, its forms, its links in the emails."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from html import unescape
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client

from ami.app.portal.app import build_portal, create_app
from ami.app.portal.core import Portal
from ami.infra.links import new_key_entry
from ami.infra.mail.sink import EmlWriter
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.campaign import load_campaign

BASE_URL = "http://portail.test"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def portal_settings(settings: Settings, base_url: str = BASE_URL) -> Settings:
    return settings.model_copy(update={"portal_keys": SecretStr(new_key_entry("k1")), "portal_base_url": base_url})


class Clock:
    """The portal's clock, set by the test (the time-skipping server's time is not the wall clock)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def make_portal(settings: Settings, client: Client, campaign_id: str, clock: Callable[[], datetime] | None = None, **kw: Any) -> Portal:
    async def factory() -> Client:
        return client

    return build_portal(
        settings,
        factory,
        campaign_file=load_campaign("ami-2024"),
        campaign_id=campaign_id,
        store=store_for(settings.resolved_database_url()),
        now=clock,
        **kw,
    )


def http(portal: Portal) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(portal)), base_url="http://portail.test")


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "aucun jeton CSRF dans la page"
    return unescape(found.group(1))


def csrf_all(html: str) -> list[str]:
    return [unescape(t) for t in _CSRF.findall(html)]


def field_errors(html: str) -> dict[str, str]:
    """Each field's error, by the id of the field that names it in aria-describedby."""
    found = {}
    for field_id, message in re.findall(r'<p class="field-error" id="([^"]+)-erreur"><span class="sr">Erreur : </span>(.*?)</p>', html):
        found[field_id] = unescape(message)
    return found


def summary_errors(html: str) -> list[str]:
    """The items of the error summary at the top of the page (links' text included)."""
    block = re.search(r'<div class="error-summary".*?</ul>', html, re.DOTALL)
    return (
        [unescape(re.sub(r"<[^>]+>", "", li)).strip() for li in re.findall(r"<li>(.*?)</li>", block.group(0), re.DOTALL)] if block else []
    )


def emails(sink: EmlWriter) -> list[Any]:
    return [BytesParser(policy=policy.default).parsebytes(raw) for _, raw in list(sink.received)]


def link_in(message: Any, kind: str = "dossier", base: str = BASE_URL) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(rf"{re.escape(base)}(/{kind}/[A-Za-z0-9._-]+)", body)
    assert found, f"aucun lien {kind} dans « {message['Subject']} »"
    return found.group(1)


def form_fields(form: Any) -> dict[str, str]:
    """A candidature file as the online form's fields."""
    from ami.app.portal.formdata import from_file

    return {k: v for k, v in from_file(form.model_dump(mode="json")).items() if v}
