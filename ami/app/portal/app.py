"""The portal's ASGI application (Starlette) and how to serve it (uvicorn, in this process)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from functools import partial
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from temporalio.client import Client

from ami.app.portal import core, views_dossier, views_jury, views_public
from ami.app.portal.core import HERE, PageError, Portal, guarded
from ami.app.portal.security import DEFAULT_LIMITS, AccessLog, Bucket, RateLimiter, SecurityHeaders
from ami.infra.links import Signer
from ami.infra.mail.portal_links import signer_for
from ami.infra.settings import Settings
from ami.infra.store import Store, store_for
from ami.models.campaign import CampaignFile, load_campaign
from ami.models.campaign_plan import CampaignPlan

View = Callable[[Portal, Request], Awaitable[Response]]


def build_portal(
    settings: Settings,
    client_factory: Callable[[], Awaitable[Client]],
    campaign_file: CampaignFile | None = None,
    campaign_id: str | None = None,
    store: Store | None = None,
    limits: dict[Bucket, tuple[int, float]] | None = None,
    now: Callable[[], datetime] | None = None,
    running_plan: CampaignPlan | None = None,
) -> Portal:
    signer: Signer | None = signer_for(settings)
    if signer is None:
        from ami.infra.links import KeyringError

        raise KeyringError("AMI_PORTAL_KEYS est vide : le portail ne peut signer ni vérifier aucun lien (voir docs/portal.md).")
    campaign = campaign_file or load_campaign(settings.portal_campaign)
    portal = Portal(
        settings=settings,
        signer=signer,
        campaign_file=campaign,
        campaign_id=campaign_id or settings.portal_campaign_id or campaign.id,
        store=store or store_for(settings.resolved_database_url()),
        client_factory=client_factory,
        limiter=RateLimiter(limits or DEFAULT_LIMITS),
        running_plan=running_plan,
    )
    if now is not None:
        portal.now = now
    return portal


def create_app(portal: Portal) -> Starlette:
    def route(path: str, view: View, methods: list[str] | None = None) -> Route:
        return Route(path, guarded(portal, partial(view, portal)), methods=methods or ["GET"])

    routes = [
        route("/", views_public.call_page),
        route("/candidature", views_public.new_form),
        route("/candidature", views_public.post_form, ["POST"]),
        route("/brouillon/{token}", views_public.draft_page),
        route("/brouillon/{token}", views_public.draft_post, ["POST"]),
        route("/dossier/{token}", views_dossier.page),
        route("/dossier/{token}/correction", views_dossier.correction),
        route("/dossier/{token}/correction", views_dossier.correction_post, ["POST"]),
        route("/dossier/{token}/documents/{index:int}", views_dossier.document),
        route("/dossier/{token}/{action}", views_dossier.action, ["POST"]),
        route("/jury/{token}", views_jury.home),
        route("/jury/{token}/dossier/{receipt}", views_jury.item_page),
        route("/jury/{token}/dossier/{receipt}/pieces/{sha}", views_jury.piece),
        route("/jury/{token}/dossier/{receipt}/{what}", views_jury.post, ["POST"]),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return portal.error_page(request, core.not_found())

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return portal.error_page(request, PageError(405, "Action impossible", "Cette page ne reçoit pas de formulaire."))

    async def server_error(request: Request, exc: Exception) -> Response:
        logging.getLogger("ami.app.portal").error("erreur interne (%s)", type(exc).__name__)
        return portal.error_page(request, PageError(500, "Erreur du service", "Une erreur est survenue. Réessayez plus tard."))

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: method_not_allowed, 500: server_error})
    app.add_middleware(SecurityHeaders, https=portal.settings.portal_base_url.startswith("https://"))
    app.add_middleware(AccessLog, routes=lambda: list(app.routes))
    return app


@asynccontextmanager
async def serving(app: Starlette, host: str, port: int) -> Any:
    """Serve `app` on host:port inside this event loop until the block ends (tests, dev, demo)."""
    # log_config=None: uvicorn would otherwise run logging.config.dictConfig, which removes every
    # handler already installed (the demo's log file among them).
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning", lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the startup error (a port taken…)
                raise RuntimeError(f"le portail n'a pas démarré sur {host}:{port}")
            await asyncio.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        with suppress(asyncio.CancelledError):
            await task
