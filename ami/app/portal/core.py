"""What every view shares: the portal's state, page rendering, link checks, CSRF, rate limits."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from temporalio.client import Client
from temporalio.service import RPCError

from ami.app.ops import Coordination
from ami.app.portal import csrf
from ami.app.portal.security import Bucket, RateLimiter
from ami.app.portal.storage import Attachments, PortalStore
from ami.infra.links import Audience, Grant, LinkError, LinkProblem, Signer
from ami.infra.mail.filters import FILTERS
from ami.infra.settings import Settings
from ami.infra.store import Store
from ami.models.campaign import CampaignFile
from ami.models.campaign_plan import CampaignPlan

HERE = Path(__file__).resolve().parent
UNAVAILABLE = "Le service est momentanément indisponible. Réessayez dans quelques minutes : rien n'a été enregistré."
DEPARTEMENTS = {"32": "Aisne (02), Nord (59), Oise (60), Pas-de-Calais (62) et Somme (80)"}


class PageError(Exception):
    """Stop the view and show a French page with this status (a refused link, a limit, a 404)."""

    def __init__(self, status: int, title: str, message: str) -> None:
        self.status, self.title, self.message = status, title, message
        super().__init__(message)


def not_found() -> PageError:
    return PageError(404, "Page introuvable", "Cette page n'existe pas.")


@dataclass
class Portal:
    settings: Settings
    signer: Signer
    campaign_file: CampaignFile
    campaign_id: str
    store: Store
    client_factory: Callable[[], Awaitable[Client]]
    limiter: RateLimiter
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    running_plan: CampaignPlan | None = None  # the plan the campaign was started with, when known (a compressed demo)
    _client: Client | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.drafts = PortalStore(self.store)
        self.attachments = Attachments(self.settings.data_dir / "portal" / "pieces")
        env = Environment(
            loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True), undefined=StrictUndefined
        )
        env.filters.update(FILTERS)
        self.env = env
        self.plan: CampaignPlan = self.running_plan or self.campaign_file.plan()

    async def coordination(self) -> Coordination:
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await self.client_factory()
                except Exception:  # the server is away: say so, retry on the next request
                    raise PageError(503, "Service indisponible", UNAVAILABLE) from None
        return Coordination(self._client, self.campaign_id)

    def window(self) -> tuple[datetime, datetime] | None:
        """The engine's own opening and deadline instants, as the campaign workflow recorded them in
        the store; before that record, those of the plan the campaign runs (known to `ami demo`);
        else None, and nothing is accepted until the campaign has started."""
        row = self.store.campaign(self.campaign_id)
        if row is not None and row.opens_at and row.deadline_at:
            return row.opens_at, row.deadline_at
        if self.running_plan is not None:
            return self.running_plan.opens_at, self.running_plan.deadline_at
        return None

    @property
    def link_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.portal_link_days)

    # --- pages ----------------------------------------------------------------------------------

    def page(self, request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
        token_cookie = request.cookies.get(csrf.COOKIE)
        cookie = token_cookie if token_cookie and csrf.valid_cookie(token_cookie) else csrf.new_cookie_value()
        base = {
            "campaign": self.campaign_file,
            "tz": self.campaign_file.timezone,
            "csrf_token": lambda form: csrf.issue(self.signer, cookie, form, self.now()),
            "errors": {},
            "notice": None,
            "values": {},
        }
        html = self.env.get_template(template).render({**base, **context})
        response = HTMLResponse(html, status_code=http_status)
        if cookie != token_cookie:
            # Behind a TLS reverse proxy the request may arrive in plain http: the public URL decides too.
            secure = request.url.scheme == "https" or self.settings.portal_base_url.startswith("https://")
            response.set_cookie(csrf.COOKIE, cookie, httponly=True, samesite="lax", secure=secure, path="/")
        return response

    def error_page(self, request: Request, error: PageError) -> HTMLResponse:
        return self.page(request, "message.html", http_status=error.status, title=error.title, message=error.message)

    # --- guards ---------------------------------------------------------------------------------

    def client_key(self, request: Request) -> str:
        address = request.client.host if request.client else "?"
        return hashlib.sha256(address.encode()).hexdigest()[:16]

    def limit(self, request: Request, bucket: Bucket) -> None:
        if not self.limiter.allow(bucket, self.client_key(request)):
            raise PageError(429, "Trop de demandes", "Trop de demandes en peu de temps. Patientez une minute, puis recommencez.")

    def grant(self, request: Request, token: str, audience: Audience) -> Grant:
        self.limit(request, Bucket.LINK)
        try:
            grant = self.signer.verify(token, audience, self.now())
        except LinkError as error:
            raise PageError(403, "Lien refusé", f"{error} Demandez un nouveau lien à l'équipe de l'Apes.") from None
        if grant.campaign != self.campaign_id:
            raise PageError(403, "Lien refusé", f"{LinkProblem.FOREIGN.message} Demandez un nouveau lien à l'équipe de l'Apes.")
        return grant

    async def form(self, request: Request, name: str) -> FormData:
        """The posted form once its CSRF token is checked and its nonce consumed (else PageError 400)."""
        self.limit(request, Bucket.SUBMIT)
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > self.settings.portal_max_upload_bytes * 11:
            raise PageError(
                413, "Envoi trop volumineux", "L'envoi dépasse la taille permise : joignez moins de fichiers, ou des fichiers plus petits."
            )
        try:
            data = await request.form(max_files=10, max_fields=200, max_part_size=self.settings.portal_max_upload_bytes + 1024)
        except Exception:  # malformed multipart, too many parts, a part too large: the client's fault
            raise PageError(400, "Formulaire refusé", "Le formulaire envoyé est illisible ou trop volumineux.") from None
        token = data.get(csrf.FIELD)
        try:
            nonce = csrf.check(self.signer, request.cookies.get(csrf.COOKIE), name, token if isinstance(token, str) else None, self.now())
        except csrf.CsrfError as error:
            raise PageError(400, "Formulaire refusé", str(error)) from None
        if not await asyncio.to_thread(self.drafts.consume_nonce, nonce):
            raise PageError(409, "Formulaire déjà envoyé", csrf.CsrfProblem.REPLAYED.message)
        return data

    async def posted(self, request: Request, name: str) -> tuple[FormData, dict[str, str]]:
        """The posted form (`form`), and its text fields as the page shows them back with its errors."""
        data = await self.form(request, name)
        return data, echoed(data)


def echoed(data: FormData) -> dict[str, str]:
    """The text fields of a posted form, as a page shows them back with its errors: each cut to
    5,000 characters, the CSRF token left out."""
    return {k: v[:5000] for k, v in data.items() if isinstance(v, str) and k != csrf.FIELD}


def text(data: FormData, name: str, limit: int = 20_000) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


def optional_text(data: FormData, name: str, limit: int, label: str, errors: dict[str, str]) -> str | None:
    """A free text the person may leave blank (None then); longer than `limit` characters, an error
    under `name` that names it by `label` (« Commentaire trop long (5 000 caractères au plus). »)."""
    value = text(data, name, limit + 1).strip() or None
    if value and len(value) > limit:
        errors[name] = f"{label} trop long ({format(limit, ',').replace(',', ' ')} caractères au plus)."
    return value


def guarded(portal: Portal, view: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        try:
            return await view(request)
        except PageError as error:
            return portal.error_page(request, error)
        except RPCError:
            return portal.error_page(request, PageError(503, "Service indisponible", UNAVAILABLE))
        except Exception as error:  # inside the middleware, so even this page has the secure headers
            logging.getLogger("ami.app.portal").error("erreur interne (%s)", type(error).__name__)
            return portal.error_page(request, PageError(500, "Erreur du service", "Une erreur est survenue. Réessayez plus tard."))

    return run
