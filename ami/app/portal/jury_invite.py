"""`ami jury invite`: email a jury member the signed link to their scoring page.

Rendered from `ami/data/templates/email/jury_invite.j2`, kept in the outbox like every notification, and
sent through the same SMTP settings. The link is never printed: it is a bearer secret.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email import policy

from ami.app.cli.common import EXIT_MALFORMED, EXIT_UNAVAILABLE
from ami.infra.links import KeyringError
from ami.infra.mail.message import build, message_id
from ami.infra.mail.portal_links import juror_path, signer_for
from ami.infra.mail.render import render
from ami.infra.mail.smtp import Bounced, deliver
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.campaign import CampaignFileError, load_campaign
from ami.models.tables import EmailRow, OutboxStatus


class InviteError(Exception):
    def __init__(self, message: str, code: int = EXIT_MALFORMED) -> None:
        self.code = code
        super().__init__(message)


def invitation_url(settings: Settings, campaign_id: str, member_id: str) -> str:
    try:
        signer = signer_for(settings)
    except KeyringError as error:
        raise InviteError(str(error)) from None
    if signer is None or not settings.portal_base_url:
        raise InviteError("Réglez AMI_PORTAL_KEYS et AMI_PORTAL_BASE_URL : le lien du portail ne peut être signé sans eux.")
    path = juror_path(signer, campaign_id, member_id, timedelta(days=settings.portal_link_days))
    return settings.portal_base_url.rstrip("/") + path


async def send_invitation(settings: Settings, campaign_id: str, member_id: str, campaign_file: str | None = None) -> str:
    """Send the invitation; returns the member's address. InviteError for a bad member or setting."""
    try:
        campaign = load_campaign(campaign_file or campaign_id)
    except CampaignFileError as error:
        raise InviteError(str(error)) from None
    member = next((m for m in campaign.jury if m.id == member_id), None)
    if member is None:
        known = ", ".join(m.id for m in campaign.jury) or "aucun"
        raise InviteError(f"Membre du jury inconnu : « {member_id} » (membres de {campaign.id} : {known}).")
    url = invitation_url(settings, campaign_id, member_id)
    context = {
        "campaign": {"id": campaign_id, "name": campaign.name, "timezone": campaign.timezone},
        "member": {"id": member.id, "name": member.name},
        "jury_url": url,
        "criteria_count": len(campaign.criteria),
    }
    rendered = render("jury_invite", context, settings.templates_dir)
    now = datetime.now(UTC)
    workflow_id = f"jury-{campaign_id}-{member_id}"
    msg_id = message_id(workflow_id, "jury_invite", now.isoformat(), settings.message_id_domain)
    message = build(rendered, sender=settings.mail_from, to=[member.email], msg_id=msg_id, created=now, attachments=[])
    raw = message.as_bytes(policy=policy.SMTP)
    store = store_for(settings.resolved_database_url())
    row = EmailRow(
        message_id=msg_id,
        workflow_id=workflow_id,
        purpose="jury_invite",
        occurrence=now.isoformat(),
        subject=rendered.subject,
        raw=raw,
        status=OutboxStatus.PENDING,
        attempts=0,
        created_at=now,
    )
    try:
        await asyncio.to_thread(store.outbox_put, row)
    except Exception as error:  # the store is unreachable or not migrated
        raise InviteError(f"Base indisponible ({type(error).__name__}) : lancez `ami db upgrade`.", EXIT_UNAVAILABLE) from None
    try:
        partial = await deliver(raw, settings)
    except Bounced as bounce:
        partial = bounce.detail
    except Exception as error:  # connection, TLS, authentication: nothing was sent
        await asyncio.to_thread(store.outbox_mark, msg_id, OutboxStatus.PENDING, type(error).__name__)
        raise InviteError(
            f"Envoi impossible ({settings.smtp_host}:{settings.smtp_port}) : {type(error).__name__}.", EXIT_UNAVAILABLE
        ) from None
    await asyncio.to_thread(store.outbox_mark, msg_id, OutboxStatus.BOUNCED if partial else OutboxStatus.SENT, partial)
    if partial:
        raise InviteError(f"Adresse refusée par le serveur SMTP : {partial}", EXIT_UNAVAILABLE)
    return member.email
