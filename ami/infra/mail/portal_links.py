"""The dossier's private link, computed where an email is rendered (never in a workflow).

The candidature workflow passes its own id to the email activity; the link is signed here, from
that id and the portal's settings, so no bearer token ever lands in a workflow's history. It lands
in the rendered message (the outbox row and the email), which is where the collectivité reads it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ami.infra.links import Audience, KeyringError, Role, Signer
from ami.infra.settings import Settings

_CANDIDATURE_ID = re.compile(r"^candidature-(?P<campaign>[a-z0-9][a-z0-9-]*)-(?P<key>\d{9}|\d{5}|2[AB]\d{3})$")


def signer_for(settings: Settings) -> Signer | None:
    raw = settings.portal_keys.get_secret_value()
    if not raw.strip():
        return None
    return Signer.from_settings(raw, settings.portal_active_key)


def dossier_scope(workflow_id: str) -> tuple[str, str] | None:
    """(campaign, SIREN or INSEE) of a candidature's workflow id, else None."""
    match = _CANDIDATURE_ID.match(workflow_id)
    return (match["campaign"], match["key"]) if match else None


def dossier_path(signer: Signer, campaign: str, key: str, lifetime: timedelta, now: datetime | None = None) -> str:
    return "/dossier/" + signer.sign(Audience.DOSSIER, campaign, key, Role.COLLECTIVITE, lifetime, now)


def juror_path(signer: Signer, campaign: str, member: str, lifetime: timedelta, now: datetime | None = None) -> str:
    return "/jury/" + signer.sign(Audience.JUROR, campaign, member, Role.JUROR, lifetime, now)


def email_links(settings: Settings, workflow_id: str, purpose: str) -> dict[str, str | None]:
    """`dossier_url` for a collectivité's email (None for the coordinators' and when the portal is off)."""
    scope = dossier_scope(workflow_id)
    base = settings.portal_base_url.rstrip("/")
    if scope is None or not base or purpose.startswith("coord_"):
        return {"dossier_url": None}
    try:
        signer = signer_for(settings)
    except KeyringError:
        return {"dossier_url": None}
    if signer is None:
        return {"dossier_url": None}
    return {"dossier_url": base + dossier_path(signer, scope[0], scope[1], timedelta(days=settings.portal_link_days))}
