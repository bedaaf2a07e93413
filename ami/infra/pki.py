"""Certificates for mutual TLS between the workers and the Temporal frontend.

`python -m ami.infra.pki deploy/certs` writes a private CA, a server certificate for the `temporal` service
and a client certificate for the workers, valid one year: enough for a single-machine stack
(docker-compose.yml). A larger organisation uses its own PKI; the file names are what the compose
file mounts. The tests use the same function for their TLS front.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(directory: Path, server_names: tuple[str, ...] = ("localhost", "temporal"), days: int = 1) -> Pki:
    """A CA, a server certificate for `server_names` (and 127.0.0.1), a client certificate, in
    `directory` (created). Keys are unencrypted PEM files: restrict them by mount, not by passphrase."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("ami test CA"))
        .issuer_name(_name("ami test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common: str, server: bool) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([*(x509.DNSName(n) for n in server_names), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256()), key

    server_cert, server_key = leaf(server_names[0], server=True)
    client_cert, client_key = leaf("ami-worker", server=False)
    return Pki(
        ca_cert=_write(directory / "ca.pem", ca, ca_key),
        server_cert=_write(directory / "server.pem", server_cert, server_key),
        server_key=directory / "server.key",
        client_cert=_write(directory / "client.pem", client_cert, client_key),
        client_key=directory / "client.key",
    )


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage : python -m ami.infra.pki DOSSIER", file=sys.stderr)
        return 2
    pki = make_pki(Path(argv[0]), days=365)
    print(f"Autorité, certificats serveur (temporal) et client écrits dans {pki.ca_cert.parent}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
