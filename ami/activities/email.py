"""Send one notification, exactly once as far as SMTP allows.

The outbox row (with the rendered bytes) is written before the SMTP conversation and marked after:
a retried activity resends the stored bytes, never a re-rendered message, and a crash between the
server's acceptance and the mark can at most resend the identical message (same Message-ID).
Connection, TLS, authentication errors and 4xx replies raise, so Temporal retries with backoff; a
5xx refusal of the recipients (or of the message) is a bounce, returned to the workflow, which
records it, alerts the coordinators and goes on (see ami/infra/mail/smtp.py for the classification).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr

from jinja2 import TemplateError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ami.activities.base import StoreActivities
from ami.activities.heartbeat import heartbeating
from ami.activities.store_calls import store_call
from ami.infra.mail import calendar as ics
from ami.infra.mail.compose import compose
from ami.infra.mail.filters import time_map_of
from ami.infra.mail.guard import HeaderMismatch, verify
from ami.infra.mail.message import message_id
from ami.infra.mail.portal_links import email_links
from ami.infra.mail.render import TEMPLATE_ERROR, render, template_failure
from ami.infra.mail.smtp import Bounced, deliver
from ami.infra.privacy import email_notice
from ami.infra.telemetry import EMAILS_BOUNCED, EMAILS_RETRIED, EMAILS_SENT
from ami.models.activity_payloads import EmailOutcome, EmailStatus, SendEmailInput
from ami.models.tables import EmailRow, OutboxStatus


class EmailActivities(StoreActivities):
    @activity.defn
    async def send_email(self, input: SendEmailInput) -> EmailOutcome:
        msg_id = message_id(input.workflow_id, input.purpose, input.occurrence, self.settings.message_id_domain, input.run_id)
        row = await store_call(self.store.outbox_get, msg_id)
        if row is not None and row.status in (EmailStatus.SENT, EmailStatus.BOUNCED):
            return EmailOutcome(message_id=msg_id, status=EmailStatus(row.status), detail=row.detail)
        read_back: tuple[str, list[str]] | None = None
        if row is None:
            try:
                built, envelope = self._render(input, msg_id)
            except HeaderMismatch as mismatch:
                # Never sent, and the coordinators are alerted through the bounce path (no address in the detail).
                activity.logger.error("email refused before sending", extra={"purpose": input.purpose, "message_id": msg_id})
                return EmailOutcome(message_id=msg_id, status=EmailStatus.BOUNCED, detail=str(mismatch))
            # If a concurrent attempt wrote the row first, outbox_put returns that one: one message, one set of bytes.
            row = await store_call(self.store.outbox_put, built)
            if row is built:
                # These very bytes were just read back by the guard: their envelope need not be parsed again.
                read_back = envelope
        try:
            # One SMTP conversation may wait on a slow relay (`smtp_timeout`): heartbeat meanwhile.
            partial = await heartbeating(deliver(row.raw, self.settings, read_back))
        except Bounced as bounce:
            return await self._bounce(msg_id, bounce.detail, input.purpose)
        except Exception:
            # Temporal retries it (with backoff): counted, so that a relay's bad day shows on the dashboard.
            _count(EMAILS_RETRIED, "Tentatives d'envoi échouées, réessayées par Temporal", input.purpose)
            raise
        if partial:
            # Delivered to the others; the refused addresses still need a coordinator's eye.
            return await self._bounce(msg_id, partial, input.purpose)
        await store_call(self.store.outbox_mark, msg_id, OutboxStatus.SENT)
        _count(EMAILS_SENT, "Courriels acceptés par le relais SMTP", input.purpose)
        activity.logger.info("email sent", extra={"purpose": input.purpose, "message_id": msg_id})
        return EmailOutcome(message_id=msg_id, status=EmailStatus.SENT)

    def _render(self, input: SendEmailInput, msg_id: str) -> tuple[EmailRow, tuple[str, list[str]]]:
        """The outbox row, and the envelope (sender, recipients) the guard read back from its bytes."""
        # The dossier's private link is signed here, from the workflow id: never in a workflow history.
        context = {
            **input.context,
            **email_links(self.settings, input.workflow_id, input.purpose),
            "privacy": email_notice(input.purpose, input.context, self.settings.campaigns_dir),
        }
        try:
            rendered = render(input.purpose, context, self.settings.templates_dir, demo=self.settings.demo)
        except TemplateError as error:
            # Retrying cannot fix a template: fail once, so the workflow alerts the coordinators.
            raise ApplicationError(template_failure(input.purpose, error), type=TEMPLATE_ERROR, non_retryable=True) from None
        invite = input.context.get("calendar")
        time_map = time_map_of(input.context.get("campaign"))
        sender = self.settings.mail_from
        now = datetime.now(UTC)
        # The bytes `build(...).as_bytes(policy=SMTP_POLICY)` would give, written directly (compose.py).
        message = compose(
            rendered,
            sender=sender,
            to=input.to,
            msg_id=msg_id,
            # The Date a mail client shows is on the campaign's published calendar, like the text.
            created=time_map.for_reader(now) if time_map else now,
            attachments=input.attachments,
            calendar=ics.session_ics(invite, parseaddr(sender)[1], time_map) if invite else None,
        )
        raw = message.raw
        envelope = verify(raw, message.headers, parseaddr(sender)[1], input.to)
        row = EmailRow(
            message_id=msg_id,
            workflow_id=input.workflow_id,
            purpose=input.purpose,
            occurrence=input.occurrence,
            subject=rendered.subject,
            raw=raw,
            status=OutboxStatus.PENDING,
            attempts=0,
            created_at=now,
        )
        return row, envelope

    async def _bounce(self, msg_id: str, detail: str, purpose: str) -> EmailOutcome:
        await store_call(self.store.outbox_mark, msg_id, OutboxStatus.BOUNCED, detail)
        _count(EMAILS_BOUNCED, "Courriels refusés définitivement (5xx)", purpose)
        activity.logger.warning("email bounced", extra={"message_id": msg_id, "detail": detail})
        return EmailOutcome(message_id=msg_id, status=EmailStatus.BOUNCED, detail=detail)


def _count(name: str, description: str, purpose: str) -> None:
    """One more on the worker's meter (a no-op without AMI_METRICS_ADDRESS). The purpose is a template
    name, never personal data."""
    activity.metric_meter().create_counter(name, description).add(1, {"purpose": purpose})
