"""The dossier's private page: where it stands, its documents, and what the collectivité may do.

Every action is the same `Coordination` update as the CLI; the workflow decides, and its French
refusal is shown on the form that asked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from ami.app.ops import Refused
from ami.app.portal import formdata
from ami.app.portal.core import PageError, Portal, not_found, optional_text, text
from ami.app.portal.security import Bucket
from ami.app.portal.views_public import Submission, _form_page, closed_reason, read_submission
from ami.infra.links import Audience, Grant
from ami.models.candidature import Person
from ami.models.candidature_messages import CandidatureStatus
from ami.models.lifecycle import FINAL_STATES, STATE_LABELS, State
from ami.models.values import DECISION_LABELS, Decision

ACTIONS = ("binome", "questionnaire", "experimentation", "retrait")
DONE = {
    "binome": "Votre binôme est confirmé.",
    "questionnaire": "Merci : votre réponse au questionnaire est enregistrée.",
    "experimentation": "Votre expérimentation est enregistrée.",
    "retrait": "Votre retrait est enregistré.",
    "correction": "Votre correction est enregistrée : un nouvel accusé de réception vous est envoyé.",
}
DOCUMENT_LABELS = {
    "summary": "Récapitulatif de la candidature",
    "decision_letter": "Lettre de décision",
    "certificate": "Attestation de participation",
    "collectivite_report": "Rapport de capitalisation de la collectivité",
}


async def _status(portal: Portal, grant: Grant) -> CandidatureStatus:
    coord = await portal.coordination()
    try:
        return await coord.candidature_status(grant.subject)
    except Exception:  # the workflow is unknown (a purged dossier) or the server is away
        raise PageError(404, "Dossier introuvable", "Ce dossier est introuvable. Contactez l'équipe de l'Apes.") from None


def _state_label(state: str) -> str:
    try:
        return STATE_LABELS[State(state)]
    except ValueError:
        return state


def _context(portal: Portal, status: CandidatureStatus) -> dict[str, Any]:
    state = State(status.state)
    feedback_done = {f.session_number for f in status.feedback}
    return {
        "status": status,
        "state_label": _state_label,
        "decision_label": DECISION_LABELS.get(status.decision) if status.decision else None,
        "documents": [(i, DOCUMENT_LABELS.get(d.kind, d.kind), d) for i, d in enumerate(status.documents)],
        "can_correct": state is State.INELIGIBLE and closed_reason(portal) is None,
        "can_confirm": state is State.NOTIFIED
        and (status.decision is Decision.SELECTED or any(t.trigger == "promote" for t in status.transitions)),
        "in_cycle": state in (State.ENROLLED, State.SESSION_TRACKED),
        "feedback_sessions": [a.session_number for a in status.attendance if a.session_number not in feedback_done],
        "attendance": {a.session_number: a for a in status.attendance},
        "can_withdraw": state not in FINAL_STATES,
    }


async def page(portal: Portal, request: Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Response:
    token = request.path_params["token"]
    grant = portal.grant(request, token, Audience.DOSSIER)
    status = await _status(portal, grant)
    context = _context(portal, status)
    done = request.query_params.get("fait")
    return portal.page(
        request,
        "dossier.html",
        base=f"/dossier/{token}",
        http_status=400 if errors else 200,
        errors=errors or {},
        values=values or {},
        notice=DONE.get(done or ""),
        **context,
    )


def _person(data: dict[str, str], prefix: str, errors: dict[str, str]) -> Person | None:
    raw = {k: data.get(f"{prefix}.{k}", "").strip() for k in ("name", "role", "email", "phone")}
    for key, label in (("name", "le nom"), ("role", "la qualité"), ("email", "le courriel")):
        if not raw[key]:
            errors[f"{prefix}.{key}"] = f"Indiquez {label}."
    try:
        return Person.model_validate({k: v or None for k, v in raw.items()})
    except ValidationError as error:
        for item in error.errors():
            errors.setdefault(f"{prefix}.{item['loc'][0]}", str(item["msg"]).removeprefix("Value error, ").capitalize() + ".")
        return None


async def action(portal: Portal, request: Request) -> Response:
    token, name = request.path_params["token"], request.path_params["action"]
    if name not in ACTIONS:
        raise not_found()
    grant = portal.grant(request, token, Audience.DOSSIER)
    data, values = await portal.posted(request, f"dossier-{name}")
    errors: dict[str, str] = {}
    coord = await portal.coordination()
    try:
        if name == "binome":
            political, technical = _person(values, "political", errors), _person(values, "technical", errors)
            if errors or political is None or technical is None:
                return await page(portal, request, errors, values)
            await coord.confirm_binome(grant.subject, political, technical)
        elif name == "questionnaire":
            session, satisfaction = text(data, "session"), text(data, "satisfaction")
            if not session.isdigit():
                errors["session"] = "Choisissez la séance."
            if satisfaction not in {"1", "2", "3", "4", "5"}:
                errors["satisfaction"] = "Choisissez une note de 1 à 5."
            comment = optional_text(data, "comment", 5000, "Commentaire", errors)
            if errors:
                return await page(portal, request, errors, values)
            await coord.record_feedback(grant.subject, int(session), int(satisfaction), comment)
        elif name == "experimentation":
            experiment = text(data, "experiment", 5001).strip()
            if not 3 <= len(experiment) <= 5000:
                errors["experiment"] = "Décrivez l'expérimentation (de 3 à 5 000 caractères)."
                return await page(portal, request, errors, values)
            await coord.record_experiment(grant.subject, experiment)
        else:
            reason = text(data, "reason", 2001).strip()
            if not 3 <= len(reason) <= 2000:
                errors["reason"] = "Indiquez la raison du retrait (de 3 à 2 000 caractères)."
            if text(data, "confirm") != "oui":
                errors["confirm"] = "Cochez la case pour confirmer le retrait."
            if errors:
                return await page(portal, request, errors, values)
            await coord.withdraw(grant.subject, reason)
    except Refused as refusal:
        errors[f"{name}-general"] = str(refusal)
        return await page(portal, request, errors, values)
    return RedirectResponse(f"/dossier/{token}?fait={name}", status_code=303)


async def document(portal: Portal, request: Request) -> Response:
    token = request.path_params["token"]
    grant = portal.grant(request, token, Audience.DOSSIER)
    portal.limit(request, Bucket.DOWNLOAD)
    status = await _status(portal, grant)
    index = request.path_params["index"]
    if index >= len(status.documents):
        raise PageError(404, "Document introuvable", "Ce document n'existe pas.")
    ref = status.documents[index]
    path = Path(ref.path).resolve()
    root = portal.settings.data_dir.resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise PageError(404, "Document introuvable", "Ce document n'est pas disponible sur ce serveur.")
    return FileResponse(path, media_type=ref.media_type, filename=ref.filename)


# --- the correction of an ineligible dossier --------------------------------------------------------


async def correction(portal: Portal, request: Request) -> Response:
    token = request.path_params["token"]
    grant = portal.grant(request, token, Audience.DOSSIER)
    row = await asyncio.to_thread(portal.store.candidatures, portal.campaign_id)
    form = next((c.form for c in row if c.workflow_id.endswith(f"-{grant.subject}") and c.form), None)
    values = formdata.from_file(form or {})
    attachments = [
        {"sha256": Path(a["path"]).stem, "filename": Path(a["path"]).name, "media_type": "", "size": 0}
        for a in (form or {}).get("attachments", [])
        if str(a.get("path", "")).startswith("pieces/")
    ]
    return _form_page(portal, request, f"/dossier/{token}/correction", Submission(values, attachments, {}), fixed_identifier=grant.subject)


async def correction_post(portal: Portal, request: Request) -> Response:
    token = request.path_params["token"]
    grant = portal.grant(request, token, Audience.DOSSIER)
    data = await portal.form(request, "candidature")
    kept = [{"sha256": s, "filename": s, "media_type": "", "size": 0} for s in data.getlist("garder") if isinstance(s, str)]
    sub = await read_submission(portal, data, kept)
    paths = [p for p in (_kept_path(portal, a) for a in sub.attachments) if p]
    form, errors = formdata.to_model(sub.values, paths)
    sub.errors.update(errors)
    if form is not None and form.collectivite.identifier != grant.subject:
        sub.errors["collectivite.siren"] = "Une correction garde l'identifiant (SIREN ou INSEE) du dossier."
    reason = closed_reason(portal)
    if reason:
        sub.errors["general"] = reason
    if not sub.errors and form is not None:
        try:
            await (await portal.coordination()).submit(form)
        except Refused as refusal:
            sub.errors["general"] = str(refusal)
        else:
            return RedirectResponse(f"/dossier/{token}?fait=correction", status_code=303)
    return _form_page(portal, request, f"/dossier/{token}/correction", sub, status=400, fixed_identifier=grant.subject)


def _kept_path(portal: Portal, attachment: dict[str, Any]) -> str | None:
    """A kept attachment's form path, from the bytes on disk (its kind sniffed again)."""
    from ami.app.portal.sniff import EXTENSIONS, sniff

    data = portal.attachments.read(str(attachment.get("sha256", "")))
    kind = sniff(data) if data else None
    return f"pieces/{attachment['sha256']}.{EXTENSIONS[kind]}" if kind else None
