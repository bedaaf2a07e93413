"""The portal inside `ami dev` and `ami demo`, and the demo's own visitor: a few candidatures, one
juror's marks and one binôme confirmation go through the portal's pages over real HTTP, exactly as
a browser would post them (CSRF token included)."""

from __future__ import annotations

import asyncio
import re
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

import httpx
from pydantic import SecretStr
from temporalio.client import Client

from ami.app.ops import Refused
from ami.app.portal.app import build_portal, create_app, serving
from ami.app.portal.core import Portal
from ami.app.portal.formdata import from_file
from ami.infra.links import KeyringError, new_key_entry
from ami.infra.mail.portal_links import dossier_path, juror_path
from ami.infra.settings import Settings
from ami.models.campaign import load_campaign
from ami.models.campaign_plan import CampaignPlan
from ami.models.candidature import CandidatureFile, Person

# What the demo sends through the portal rather than through `Coordination` directly.
PORTAL_STEMS = ("01-henin-carvin", "03-libercourt")
PORTAL_JUROR = "apes"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_RECEIPT = re.compile(r'class="receipt-number">([^<]+)<')
_ERRORS = re.compile(r'<p class="(?:field-error|form-error|message)"[^>]*>(?:<span class="sr">Erreur : </span>)?(.*?)</p>')


def with_portal(settings: Settings, port: int, key_file: Path | None = None) -> Settings:
    """Settings whose emails carry portal links: the configured keys, else a local key (kept in
    `key_file` so that links survive a restart of `ami dev`, or made for this run)."""
    updates: dict[str, object] = {"portal_port": port}
    if not settings.portal_keys.get_secret_value().strip():
        entry = ""
        if key_file is not None and key_file.is_file():
            entry = key_file.read_text(encoding="utf-8").strip()
        if not entry:
            entry = new_key_entry("local")
            if key_file is not None:
                key_file.parent.mkdir(parents=True, exist_ok=True)
                key_file.write_text(entry + "\n", encoding="utf-8")
                key_file.chmod(0o600)
        updates["portal_keys"] = SecretStr(entry)
    if not settings.portal_base_url:
        updates["portal_base_url"] = f"http://localhost:{port}"
    return settings.model_copy(update=updates)


class PortalError(Refused):
    """The portal answered with an error page; the message is the page's French text (a refusal,
    like the workflow's, for whoever drives the portal)."""


@dataclass
class EmbeddedPortal:
    portal: Portal
    url: str
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _http: httpx.AsyncClient | None = None
    _scores: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, settings: Settings, client: Client, campaign_id: str, host: str = "127.0.0.1", plan: CampaignPlan | None = None
    ) -> EmbeddedPortal:
        async def factory() -> Client:
            return client

        try:
            portal = build_portal(
                settings, factory, campaign_file=load_campaign(settings.portal_campaign), campaign_id=campaign_id, running_plan=plan
            )
        except KeyringError as error:
            raise PortalError(str(error)) from None
        me = cls(portal=portal, url=settings.portal_base_url.rstrip("/") or f"http://localhost:{settings.portal_port}")
        await me._stack.enter_async_context(serving(create_app(portal), host, settings.portal_port))
        me._http = await me._stack.enter_async_context(httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.portal_port}", timeout=60))
        return me

    async def stop(self) -> None:
        await self._stack.aclose()

    # --- the demo's visitor -------------------------------------------------------------------------

    async def _post(self, page: str, action: str, data: dict[str, str], form_index: int = 0) -> httpx.Response:
        assert self._http is not None
        shown = await self._http.get(page)
        tokens = _CSRF.findall(shown.text)
        if len(tokens) <= form_index:
            raise PortalError(f"{page.split('/')[1]} : aucun formulaire sur la page ({_errors(shown.text)})")
        answer = await self._http.post(action, data={**data, "csrf": unescape(tokens[form_index])})
        if answer.status_code >= 400:
            raise PortalError(_errors(answer.text))
        return answer

    async def submit(self, form: CandidatureFile) -> str:
        """The online form, filled in with a candidature file; returns the receipt number."""
        fields = {k: v for k, v in from_file(form.model_dump(mode="json")).items() if v}
        answer = await self._post("/candidature", "/candidature", {**fields, "action": "deposer"})
        found = _RECEIPT.search(answer.text)
        if not found:
            raise PortalError(_errors(answer.text))
        return found.group(1)

    async def score(self, member: str, receipt: str, marks: dict[str, int], comment: str | None = None) -> None:
        base = juror_path(self.portal.signer, self.portal.campaign_id, member, self.portal.link_lifetime)
        data = {f"note-{k}": str(v) for k, v in marks.items()} | ({"comment": comment} if comment else {})
        await self._post(f"{base}/dossier/{receipt}", f"{base}/dossier/{receipt}/notes", data)

    def score_later(self, member: str, receipt: str, marks: dict[str, int]) -> None:
        """Queue a score: the portal's scores go one after another, beside the coordinators' calls,
        so that the juror's HTTP round trips do not delay the demo's compressed calendar."""
        previous = self._scores

        async def next_one() -> None:
            if previous is not None:
                await previous
            await self.score(member, receipt, marks)

        self._scores = asyncio.create_task(next_one())

    async def drain(self) -> None:
        """Wait for the queued scores; raises the first refusal."""
        if self._scores is not None:
            await self._scores

    async def confirm_binome(self, key: str, political: Person, technical: Person) -> None:
        # The same link as the one in the decision email (signed the same way, from the same key).
        base = dossier_path(self.portal.signer, self.portal.campaign_id, key, self.portal.link_lifetime)
        data = {
            f"{who}.{k}": getattr(p, k) or ""
            for who, p in (("political", political), ("technical", technical))
            for k in ("name", "role", "email", "phone")
        }
        await self._post(base, f"{base}/binome", data)


def _errors(html: str) -> str:
    """The page's French errors: its error summary (where a refusal always appears), else its message."""
    summary = re.search(r'<div class="error-summary".*?</ul>', html, re.DOTALL)
    items = re.findall(r"<li>(.*?)</li>", summary.group(0), re.DOTALL) if summary else _ERRORS.findall(html)
    found = [" ".join(unescape(re.sub(r"<[^>]+>", "", m)).split()) for m in items]
    return " ; ".join(found) or "réponse inattendue du portail"
