"""Helpers for the email tests: contexts full of French, real SMTP servers (plain, STARTTLS,
implicit TLS with a self-signed certificate), and a sink that answers 451 once."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ami.infra.mail.sample import sample_context
from ami.infra.mail.sink import EmlWriter

# é, œ, « », a no-break space and a narrow one, and text that would be markup in HTML.
TRICKY = "Œuvre « solidaire »\u00a0& co\u202f<b>gras</b>"


def french_context(**extra: Any) -> dict[str, Any]:
    """The package's sample context (every key any template reads), made harder: markup and French
    typography in what people write, dates that the tests read back, `extra` on top."""
    context = sample_context()
    context["session"].update(theme=f"Marchés publics {TRICKY}", starts_at="2024-09-12T14:00:00+02:00", ends_at="2024-09-12T17:30:00+02:00")
    context.update(
        receipt_number="AMI-2024-007",
        collectivite={"name": f"Commune d'Œuvre-sur-Lys {TRICKY}", "official_name": None},
        deadline_at="2024-10-01T00:00:00+02:00",
        response_at="2024-10-15T10:00:00+02:00",
        reasons=[
            {"code": "incomplete_binome", "message": "Le référent technique n'a pas d'adresse électronique: ajoutez-la <script>x</script>!"}
        ],
        confirmation_deadline="2024-10-29T10:00:00+01:00",
        month="2024-11",
        detail="refuse@example.org: 550 5.1.1 Destinataire « inconnu »",
        member={"id": "apes", "name": f"Claire Duval {TRICKY}"},
    )
    context.update(extra)
    return context


class FlakySink(EmlWriter):
    """Answers 451 to the first DATA, then accepts: a greylisting relay."""

    def __init__(self, out_dir: Path) -> None:
        super().__init__(out_dir)
        self.refused_once = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.refused_once:
            self.refused_once = True
            return "451 4.7.1 Réessayez plus tard"
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def serve(handler: EmlWriter, port: int, **kwargs: Any) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by itself: (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def authenticator(username: str, password: str) -> Any:
    """An aiosmtpd authenticator accepting one login."""

    def check(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == username.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)

    return check
