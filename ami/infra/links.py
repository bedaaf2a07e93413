"""Signed links: a bearer token scoped to one dossier (or one juror, or one draft), one role, and an
expiry, signed with HMAC-SHA256 under a key of a key list.

Token: ``<payload>.<key id>.<signature>``, the payload being base64url JSON
``{"a": audience, "c": campaign, "s": subject, "r": role, "e": expiry (epoch seconds)}``. The
subject is a public identifier (a SIREN or INSEE code, a jury member's id, a random draft id): no
personal data. Every listed key verifies, the active one signs; a key removed from the list revokes
every link it signed (docs/portal.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ami.models.problems import Problem, ProblemError

_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_SECRET_BYTES = 32


class Audience(StrEnum):
    DOSSIER = "dossier"
    JUROR = "juror"
    DRAFT = "draft"


class Role(StrEnum):
    COLLECTIVITE = "collectivite"
    JUROR = "juror"
    APPLICANT = "applicant"  # the author of a draft, before the candidature exists


class LinkProblem(Problem):
    MALFORMED = "malformed", "Ce lien est incomplet ou mal recopié."
    ALTERED = "altered", "Ce lien a été modifié : sa signature ne correspond plus."
    REVOKED = "revoked", "Ce lien a été révoqué."
    EXPIRED = "expired", "Ce lien a expiré."
    FOREIGN = "foreign", "Ce lien ne donne pas accès à cette page."


class LinkError(ProblemError):
    problem: LinkProblem


class KeyringError(ValueError):
    """The portal's keys are unusable; the message says which setting and why (in French)."""


@dataclass(frozen=True)
class Grant:
    audience: Audience
    campaign: str
    subject: str
    role: Role
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_keys(raw: str) -> dict[str, bytes]:
    """``"id1:secret1,id2:secret2"`` (secrets in base64url or plain text of at least 32 bytes)."""
    keys: dict[str, bytes] = {}
    for entry in (e.strip() for e in raw.split(",") if e.strip()):
        key_id, sep, secret = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            # Never echo the entry: it holds the secret.
            raise KeyringError("AMI_PORTAL_KEYS mal formé : chaque entrée est « identifiant:secret », séparées par des virgules.")
        if key_id in keys:
            raise KeyringError(f"AMI_PORTAL_KEYS : l'identifiant de clé « {key_id} » apparaît deux fois.")
        material = secret.strip().encode()
        if len(material) < MIN_SECRET_BYTES:
            raise KeyringError(f"AMI_PORTAL_KEYS : la clé « {key_id} » est trop courte ({MIN_SECRET_BYTES} caractères au moins).")
        keys[key_id] = material
    return keys


def _digest(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def new_key_entry(key_id: str) -> str:
    return f"{key_id}:{_b64(secrets.token_bytes(32))}"


class Signer:
    def __init__(self, keys: dict[str, bytes], active: str = "") -> None:
        if not keys:
            raise KeyringError("AMI_PORTAL_KEYS est vide : aucune clé pour signer les liens du portail.")
        active = active or (next(iter(keys)) if len(keys) == 1 else "")
        if not active:
            raise KeyringError("AMI_PORTAL_ACTIVE_KEY est requis quand AMI_PORTAL_KEYS liste plusieurs clés.")
        if active not in keys:
            raise KeyringError(f"AMI_PORTAL_ACTIVE_KEY « {active} » ne figure pas dans AMI_PORTAL_KEYS.")
        self._keys = dict(keys)
        self.active = active

    @classmethod
    def from_settings(cls, raw_keys: str, active: str) -> Signer:
        return cls(parse_keys(raw_keys), active.strip())

    def _mac(self, key_id: str, payload: str) -> str:
        return _b64(_digest(self._keys[key_id], f"{key_id}.{payload}"))

    def sign(self, audience: Audience, campaign: str, subject: str, role: Role, lifetime: timedelta, now: datetime | None = None) -> str:
        expires = int(((now or datetime.now(UTC)) + lifetime).timestamp())
        body = {"a": audience.value, "c": campaign, "s": subject, "r": role.value, "e": expires}
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self.active}.{self._mac(self.active, payload)}"

    def verify(self, token: str, audience: Audience, now: datetime | None = None) -> Grant:
        """The grant a token carries, or LinkError saying why not (checked in that order: shape,
        key, signature, scope, expiry, so an altered token never reveals anything of its payload)."""
        parts = token.split(".")
        if len(parts) != 3 or not all(parts) or len(token) > 600:
            raise LinkError(LinkProblem.MALFORMED)
        payload, key_id, mac = parts
        if key_id not in self._keys:
            raise LinkError(LinkProblem.REVOKED if _KEY_ID.match(key_id) else LinkProblem.MALFORMED)
        if not hmac.compare_digest(self._mac(key_id, payload), mac):
            raise LinkError(LinkProblem.ALTERED)
        try:
            body = json.loads(_unb64(payload))
            grant = Grant(
                audience=Audience(body["a"]),
                campaign=str(body["c"]),
                subject=str(body["s"]),
                role=Role(body["r"]),
                expires=datetime.fromtimestamp(int(body["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise LinkError(LinkProblem.MALFORMED) from None
        if grant.audience is not audience:
            raise LinkError(LinkProblem.FOREIGN)
        if grant.expires <= (now or datetime.now(UTC)):
            raise LinkError(LinkProblem.EXPIRED)
        return grant

    def hmac_hex(self, message: str) -> str:
        """A keyed digest under the active key (CSRF tokens, log pseudonyms)."""
        return _digest(self._keys[self.active], message).hex()

    def hmac_any(self, message: str, digest: str) -> bool:
        """Whether `digest` is `message`'s keyed digest under any listed key (survives a rotation)."""
        return any(hmac.compare_digest(_digest(key, message).hex(), digest) for key in self._keys.values())
