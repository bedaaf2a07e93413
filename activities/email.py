"""Send one notification, exactly once as far as SMTP allows.

The outbox row (with the rendered bytes) is written before the SMTP conversation and marked after:
a retried activity resends the stored bytes, never a re-rendered message, and a crash between the
server's acceptance and the mark can at most resend the identical message (same Message-ID).
Connection, TLS, authentication errors and 4xx replies raise, so Temporal retries with backoff; a
5xx refusal of the recipients (or of the message) is a bounce, returned to the workflow, which
records it, alerts the coordinators and goes on (see ami/mail/smtp.py for the classification).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import policy
from email.utils import parseaddr

from temporalio import activity

from ami.mail import calendar as ics
from ami.mail.message import build, message_id
from ami.mail.render import render
from ami.mail.smtp import Bounced, deliver
from ami.settings import Settings, get_settings
from ami.store import Store, store_for
from models.messages import EmailOutcome, SendEmailInput
from models.tables import EmailRow


class EmailActivities:
    def __init__(self, settings: Settings | None = None, store: Store | None = None) -> None:
        self.settings = settings or get_settings()
        self.store = store or store_for(self.settings.resolved_database_url())

    @activity.defn
    async def send_email(self, input: SendEmailInput) -> EmailOutcome:
        msg_id = message_id(input.workflow_id, input.purpose, input.occurrence, self.settings.message_id_domain, input.run_id)
        row = await asyncio.to_thread(self.store.outbox_get, msg_id)
        if row is not None and row.status in ("sent", "bounced"):
            return EmailOutcome(message_id=msg_id, status=row.status, detail=row.detail)
        if row is None:
            # If a concurrent attempt wrote the row first, outbox_put returns that one: one message, one set of bytes.
            row = await asyncio.to_thread(self.store.outbox_put, self._render(input, msg_id))
        try:
            partial = await deliver(row.raw, self.settings)
        except Bounced as bounce:
            return await self._bounce(msg_id, bounce.detail)
        if partial:
            # Delivered to the others; the refused addresses still need a coordinator's eye.
            return await self._bounce(msg_id, partial)
        await asyncio.to_thread(self.store.outbox_mark, msg_id, "sent")
        activity.logger.info("email sent", extra={"purpose": input.purpose, "message_id": msg_id})
        return EmailOutcome(message_id=msg_id, status="sent")

    def _render(self, input: SendEmailInput, msg_id: str) -> EmailRow:
        rendered = render(input.purpose, input.context, self.settings.templates_dir)
        invite = input.context.get("calendar")
        sender = self.settings.mail_from
        now = datetime.now(UTC)
        message = build(
            rendered,
            sender=sender,
            to=input.to,
            msg_id=msg_id,
            created=now,
            attachments=input.attachments,
            calendar=ics.session_ics(invite, parseaddr(sender)[1]) if invite else None,
        )
        return EmailRow(
            message_id=msg_id,
            workflow_id=input.workflow_id,
            purpose=input.purpose,
            occurrence=input.occurrence,
            subject=rendered.subject,
            raw=message.as_bytes(policy=policy.SMTP),
            status="pending",
            attempts=0,
            created_at=now,
        )

    async def _bounce(self, msg_id: str, detail: str) -> EmailOutcome:
        await asyncio.to_thread(self.store.outbox_mark, msg_id, "bounced", detail)
        activity.logger.warning("email bounced", extra={"message_id": msg_id, "detail": detail})
        return EmailOutcome(message_id=msg_id, status="bounced", detail=detail)
