"""The public pages: the call, the online candidature form, its drafts, the receipt."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ami.app.ops import Refused
from ami.app.portal import formdata
from ami.app.portal.core import DEPARTEMENTS, PageError, Portal, text
from ami.app.portal.sniff import LABEL, Kind, check_upload
from ami.app.portal.storage import StoredFile
from ami.infra.links import Audience, Role

PIECES = "pieces"
MAX_PIECES = 10


@dataclass
class Submission:
    """What one post of the form holds once read: fields as typed, files kept, errors by field."""

    values: dict[str, str]
    attachments: list[dict[str, Any]]
    errors: dict[str, str]


def closed_reason(portal: Portal) -> str | None:
    window = portal.window()
    if window is None:
        return "L'appel n'est pas encore ouvert : la campagne n'a pas démarré."
    opens, deadline = window
    now = portal.now()
    tz = portal.campaign_file.timezone
    from ami.infra.mail.filters import datetime_fr

    if now < opens:
        return f"L'appel n'est pas encore ouvert : le dépôt des candidatures ouvre le {datetime_fr(opens, tz)}."
    if now >= deadline:
        return f"La date limite de dépôt est passée ({datetime_fr(deadline, tz)}) : aucune candidature n'est plus acceptée."
    return None


async def call_page(portal: Portal, request: Request) -> Response:
    opens, deadline = portal.window() or (portal.plan.opens_at, portal.plan.deadline_at)
    return portal.page(
        request,
        "call.html",
        opens_at=opens,
        deadline_at=deadline,
        plan=portal.plan,
        region_label=DEPARTEMENTS.get(portal.campaign_file.region, f"région {portal.campaign_file.region}"),
        closed=closed_reason(portal),
    )


def _form_page(portal: Portal, request: Request, action: str, sub: Submission, status: int = 200, **extra: Any) -> Response:
    return portal.page(
        request,
        "form.html",
        http_status=status,
        sections=formdata.sections(),
        action=action,
        values=sub.values,
        attachments=sub.attachments,
        errors=sub.errors,
        accepted=LABEL,
        max_mb=portal.settings.portal_max_upload_bytes // (1024 * 1024),
        **{"fixed_identifier": None, "notice": None, "general_error": None, "draft_link": None, **extra},
    )


async def new_form(portal: Portal, request: Request) -> Response:
    reason = closed_reason(portal)
    if reason:
        raise PageError(200, "Dépôt fermé", reason)
    return _form_page(portal, request, "/candidature", Submission({}, [], {}))


async def read_submission(portal: Portal, data: FormData, kept: list[dict[str, Any]]) -> Submission:
    """Fields, kept attachments minus those removed, plus new uploads once sniffed and stored."""
    values = formdata.from_post({k: v for k, v in data.items() if isinstance(v, str)})
    removed = set(data.getlist("retirer"))
    attachments = [a for a in kept if a.get("sha256") not in removed]
    errors: dict[str, str] = {}
    problems: list[str] = []
    for upload in data.getlist(PIECES):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        if len(attachments) >= MAX_PIECES:
            problems.append(f"{MAX_PIECES} pièces jointes au plus.")
            break
        content = await upload.read(portal.settings.portal_max_upload_bytes + 1)
        verdict = check_upload(upload.filename, content, portal.settings.portal_max_upload_bytes)
        if not isinstance(verdict, Kind):  # Kind is a StrEnum: test for it, not for str
            problems.append(verdict)
            continue
        stored = await asyncio.to_thread(portal.attachments.put, content, upload.filename, verdict)
        if all(a["sha256"] != stored.sha256 for a in attachments):
            attachments.append(stored.as_dict())
    if problems:
        errors[PIECES] = " ".join(problems)
    return Submission(values, attachments, errors)


def form_paths(attachments: list[dict[str, Any]]) -> list[str]:
    return [StoredFile(**a).form_path for a in attachments]


async def post_form(portal: Portal, request: Request, draft_id: str | None = None) -> Response:
    data = await portal.form(request, "candidature")
    reason = closed_reason(portal)
    if reason:  # before the opening and after the deadline, nothing is accepted, not even a draft
        raise PageError(403, "Dépôt fermé", reason)
    kept: list[dict[str, Any]] = []
    if draft_id:
        row = await asyncio.to_thread(portal.drafts.draft, draft_id)
        if row is None:
            raise PageError(404, "Brouillon introuvable", "Ce brouillon n'existe plus : la candidature a peut-être déjà été déposée.")
        kept = list(row.attachments)
    sub = await read_submission(portal, data, kept)
    if text(data, "action") == "deposer":
        form, errors = formdata.to_model(sub.values, form_paths(sub.attachments))
        sub.errors.update(errors)
        if form is not None and not sub.errors:
            try:
                result = await (await portal.coordination()).submit(form)
            except Refused as refusal:
                sub.errors["general"] = str(refusal)
            else:
                if draft_id:
                    await asyncio.to_thread(portal.drafts.drop_draft, draft_id)
                return portal.page(request, "receipt.html", result=result, recipients=form.recipients())
    # A draft keeps what was typed and uploaded, whether asked for or after an error.
    if draft_id:
        await asyncio.to_thread(portal.drafts.save_draft, draft_id, sub.values, sub.attachments)
    else:
        draft_id = await asyncio.to_thread(portal.drafts.new_draft, portal.campaign_id, sub.values, sub.attachments)
    token = portal.signer.sign(Audience.DRAFT, portal.campaign_id, draft_id, Role.APPLICANT, portal.link_lifetime, portal.now())
    if not sub.errors:
        return RedirectResponse(f"/brouillon/{token}?enregistre=1", status_code=303)
    return _form_page(portal, request, f"/brouillon/{token}", sub, status=400, draft_link=f"/brouillon/{token}")


async def draft_page(portal: Portal, request: Request) -> Response:
    token = request.path_params["token"]
    grant = portal.grant(request, token, Audience.DRAFT)
    row = await asyncio.to_thread(portal.drafts.draft, grant.subject)
    if row is None:
        raise PageError(404, "Brouillon introuvable", "Ce brouillon n'existe plus : la candidature a peut-être déjà été déposée.")
    notice = (
        "Brouillon enregistré. Conservez l'adresse de cette page pour reprendre votre saisie plus tard."
        if request.query_params.get("enregistre")
        else None
    )
    return _form_page(
        portal,
        request,
        f"/brouillon/{token}",
        Submission(dict(row.data), list(row.attachments), {}),
        notice=notice,
        draft_link=f"/brouillon/{token}",
    )


async def draft_post(portal: Portal, request: Request) -> Response:
    grant = portal.grant(request, request.path_params["token"], Audience.DRAFT)
    return await post_form(portal, request, grant.subject)
