"""The juror's pages: the candidatures to review with their answers and attachments, marks per
criterion with the grid's weights, a comment, a conflict of interest, progress. Read-only once the
jury has deliberated (the deliberation stays with the coordinators)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ami.app.ops import Refused
from ami.app.portal import formdata
from ami.app.portal.core import PageError, Portal, not_found, optional_text, text
from ami.app.portal.security import Bucket
from ami.app.portal.sniff import EXTENSIONS, Kind
from ami.infra.links import Audience, Grant
from ami.models.campaign_messages import CampaignEntry, CampaignStatus
from ami.models.campaign_plan import JuryMember
from ami.models.lifecycle import State
from ami.workflows.candidature import candidature_workflow_id

DONE = {"notes": "Vos notes sont enregistrées.", "conflit": "Votre conflit d'intérêts est enregistré : vous ne notez pas ce dossier."}


@dataclass(frozen=True)
class Item:
    entry: CampaignEntry
    marks: dict[str, int] | None
    conflict: bool

    @property
    def label(self) -> str:
        return "conflit d'intérêts déclaré" if self.conflict else ("notée" if self.marks else "à noter")


def _member(portal: Portal, grant: Grant) -> JuryMember:
    member = next((m for m in portal.campaign_file.jury if m.id == grant.subject), None)
    if member is None:
        raise PageError(403, "Lien refusé", "Ce membre ne fait pas partie du jury de cette campagne.")
    return member


def _items(status: CampaignStatus, member: str) -> list[Item]:
    """Before the deliberation, the eligible candidatures; after it, those the jury ranked."""
    if status.deliberation is not None:
        ranked = {r.receipt_number for r in status.deliberation.ranking}
        entries = [e for e in status.candidatures if e.receipt_number in ranked]
    else:
        entries = [e for e in status.candidatures if e.state is State.ELIGIBILITY_CHECKED]
    return [
        Item(e, status.scores.get(e.receipt_number, {}).get(member), member in status.conflicts.get(e.receipt_number, [])) for e in entries
    ]


async def _load(portal: Portal, request: Request) -> tuple[str, JuryMember, CampaignStatus]:
    token = request.path_params["token"]
    grant = portal.grant(request, token, Audience.JUROR)
    member = _member(portal, grant)
    try:
        status = await (await portal.coordination()).status()
    except Exception:
        raise PageError(
            503, "Service indisponible", "La campagne est momentanément injoignable. Réessayez dans quelques minutes."
        ) from None
    return token, member, status


async def home(portal: Portal, request: Request) -> Response:
    token, member, status = await _load(portal, request)
    items = _items(status, member.id)
    done = sum(1 for i in items if i.marks or i.conflict)
    return portal.page(
        request, "jury_list.html", member=member, items=items, done=done, closed=status.deliberation is not None, base=f"/jury/{token}"
    )


def _form_of(portal: Portal, entry: CampaignEntry) -> dict[str, Any]:
    rows = portal.store.candidatures(portal.campaign_id)
    workflow_id = candidature_workflow_id(portal.campaign_id, entry.key)
    form: dict[str, Any] = next((r.form for r in rows if r.workflow_id == workflow_id and r.form), {})
    return form


def _pieces(form: dict[str, Any]) -> list[tuple[str, str]]:
    """(sha256, shown name) of the attachments the portal stored for this form."""
    found = []
    for a in form.get("attachments", []):
        path = PurePosixPath(str(a.get("path", "")))
        if path.parent == PurePosixPath("pieces") and len(path.stem) == 64:
            found.append((path.stem, path.name))
    return found


async def item_page(
    portal: Portal, request: Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> Response:
    token, member, status = await _load(portal, request)
    receipt = request.path_params["receipt"]
    item = next((i for i in _items(status, member.id) if i.entry.receipt_number == receipt), None)
    if item is None:
        raise PageError(404, "Dossier introuvable", "Ce dossier n'est pas soumis au jury.")
    form = await asyncio.to_thread(_form_of, portal, item.entry)
    answers = formdata.from_file(form)
    return portal.page(
        request,
        "jury_item.html",
        http_status=400 if errors else 200,
        member=member,
        item=item,
        answers=answers,
        sections=formdata.sections(),
        pieces=_pieces(form),
        criteria=portal.campaign_file.criteria,
        closed=status.deliberation is not None,
        base=f"/jury/{token}",
        errors=errors or {},
        values=values or {},
        notice=DONE.get(request.query_params.get("fait") or ""),
    )


async def post(portal: Portal, request: Request) -> Response:
    token, member, status = await _load(portal, request)
    receipt, what = request.path_params["receipt"], request.path_params["what"]
    if what not in DONE:
        raise not_found()
    data, values = await portal.posted(request, f"jury-{what}")
    errors: dict[str, str] = {}
    coord = await portal.coordination()
    try:
        if what == "notes":
            marks: dict[str, int] = {}
            for criterion in portal.campaign_file.criteria:
                raw = text(data, f"note-{criterion.id}")
                if raw not in {"0", "1", "2", "3", "4", "5"}:
                    errors[f"note-{criterion.id}"] = "Choisissez une note de 0 à 5."
                else:
                    marks[criterion.id] = int(raw)
            comment = optional_text(data, "comment", 5000, "Commentaire", errors)
            if errors:
                return await item_page(portal, request, errors, values)
            await coord.score(member.id, receipt, marks, comment)
        else:
            reason = optional_text(data, "reason", 2000, "Motif", errors)
            if errors:
                return await item_page(portal, request, errors, values)
            await coord.declare_conflict(member.id, receipt, reason)
    except Refused as refusal:
        errors[f"{what}-general"] = str(refusal)
        return await item_page(portal, request, errors, values)
    return RedirectResponse(f"/jury/{token}/dossier/{receipt}?fait={what}", status_code=303)


async def piece(portal: Portal, request: Request) -> Response:
    token, member, status = await _load(portal, request)
    portal.limit(request, Bucket.DOWNLOAD)
    receipt, digest = request.path_params["receipt"], request.path_params["sha"]
    item = next((i for i in _items(status, member.id) if i.entry.receipt_number == receipt), None)
    form = await asyncio.to_thread(_form_of, portal, item.entry) if item else {}
    names = dict(_pieces(form))
    data = portal.attachments.read(digest) if digest in names else None
    if data is None:
        raise PageError(404, "Pièce introuvable", "Cette pièce jointe n'est pas disponible.")
    from ami.app.portal.sniff import sniff

    kind = sniff(data) or Kind.PDF
    return Response(
        data,
        media_type=kind.value,
        headers={"content-disposition": f'attachment; filename="piece-{digest[:12]}.{EXTENSIONS[kind]}"'},
    )
