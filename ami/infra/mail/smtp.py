"""One SMTP conversation: the stored bytes as they are, with the configured TLS and credentials.

Only the recipients' refusals and a refusal of the message itself are final (a bounce): those
depend on the message. Everything else — connection, timeout, TLS, authentication, our sender
refused, any 4xx — is raised, so Temporal retries until the relay or its configuration is fixed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import aiosmtplib

from ami.infra.mail.message import envelope
from ami.infra.settings import Settings, SmtpTls


class Bounced(Exception):
    """The server refused the message or every recipient for good (5xx)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class TemporaryRefusal(Exception):
    """A 4xx: the server asks us to come back later."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _describe(refusals: Iterable[tuple[str, int, str]]) -> str:
    """For a bounce (returned to the workflow, inside the encrypted payloads, shown to coordinators)."""
    return "; ".join(f"{who}: {code} {text}" for who, code, text in refusals)


def _anonymous(refusals: Iterable[tuple[str, int, str]], recipients: list[str]) -> str:
    """For an exception that Temporal retries: its message is logged and stored in clear in the
    history (retry failures are not payloads), so recipients are numbers, never addresses, and the
    server's text is dropped (it often quotes the address)."""
    positions = {address.lower(): index for index, address in enumerate(recipients, start=1)}
    return "; ".join(f"destinataire n° {positions.get(who.lower(), '?')} : {code}" for who, code, _ in refusals)


def relay_options(settings: Settings, timeout: float | None = None) -> dict[str, Any]:
    """How to reach the configured relay, as `aiosmtplib` takes it: address, TLS mode, certificates
    and timeout (the settings' own unless `timeout` is shorter). No credentials."""
    return {
        "hostname": settings.smtp_host,
        "port": settings.smtp_port,
        "use_tls": settings.smtp_tls is SmtpTls.IMPLICIT,
        # True, not None: None would mean "upgrade if offered", and a relay (or an attacker in the
        # middle) that hides STARTTLS would get the message in clear. True raises instead.
        "start_tls": settings.smtp_tls is SmtpTls.STARTTLS,
        "validate_certs": settings.smtp_validate_certs,
        "cert_bundle": str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        "timeout": min(settings.smtp_timeout, timeout) if timeout else settings.smtp_timeout,
    }


async def deliver(raw: bytes, settings: Settings, read_back: tuple[str, list[str]] | None = None) -> str | None:
    """Send `raw`; return None, or the detail of the recipients refused for good while the others
    received it (a partial bounce). `read_back`: the envelope `envelope(raw)` gives, when the caller
    has just read it (the guard does, for a message it built), else it is read here."""
    s = settings
    if s.smtp_username and s.smtp_tls is SmtpTls.NONE and not _is_loopback(s.smtp_host):
        raise RuntimeError(
            f"AMI_SMTP_USERNAME est défini mais AMI_SMTP_TLS vaut « none » : le mot de passe ne partira pas en clair vers {s.smtp_host}. "
            "Choisissez « starttls » ou « implicit »."
        )
    sender, recipients = read_back or envelope(raw)
    try:
        errors, _ = await aiosmtplib.send(
            raw,
            sender=sender,
            recipients=recipients,
            username=s.smtp_username,
            password=s.smtp_password,
            **relay_options(s),
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        refusals = [(e.recipient, e.code, e.message) for e in error.recipients]
        if all(500 <= code < 600 for _, code, _ in refusals):
            raise Bounced(_describe(refusals)) from None
        raise TemporaryRefusal(_anonymous(refusals, recipients)) from None
    except aiosmtplib.SMTPDataError as error:
        if 500 <= error.code < 600:
            raise Bounced(f"{error.code} {error.message}") from None
        raise
    if not errors:
        return None
    refusals = [(who, r.code, r.message) for who, r in errors.items()]
    if any(code < 500 for _, code, _ in refusals):
        # Some recipients have it, others must be tried again: the retry resends to all, with the
        # same Message-ID, which mail clients show once.
        raise TemporaryRefusal(_anonymous(refusals, recipients))
    return _describe(refusals)
