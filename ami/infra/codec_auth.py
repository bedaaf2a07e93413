"""Per-user authentication of the codec server in production: only a signed-in coordinator reads
decrypted payloads.

The Temporal Web UI sits behind an authenticating proxy (OIDC). With
`TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`, the UI sends each coordinator's own access token to the
codec endpoint as `Authorization: Bearer …`; this module checks it: signature against the identity
provider's published keys (JWKS, a URL or a file), issuer, audience, expiry, and the algorithm
(asymmetric only: no `none`, no HMAC with a public key as the secret). No shared secret is in the
page any more, and a token lives minutes, not for the life of the deployment.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from ami.infra.codec_settings import CodecSettings

# Asymmetric algorithms only: the verifier holds public keys, never a shared secret.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY_SECONDS = 30  # clock skew between the identity provider and this machine

log = logging.getLogger("ami.infra.codec_auth")


class CodecAuthError(ValueError):
    """The per-user authentication settings are unusable (French message)."""


@dataclass
class UserTokenVerifier:
    issuer: str
    audience: str
    keys: Any  # a jwt.PyJWKClient (URL) or a jwt.PyJWKSet (file)

    def _key(self, token: str) -> Any:
        if isinstance(self.keys, jwt.PyJWKClient):
            return self.keys.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self.keys.keys:
            if kid is None or key.key_id == kid:
                return key.key
        raise jwt.InvalidKeyError("clé inconnue")

    def verify(self, token: str) -> bool:
        """True for a valid, unexpired token of our issuer and audience; never raises."""
        if not token or len(token) > 16_384:
            return False
        try:
            jwt.decode(
                token,
                self._key(token),
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            # The reason only: the token itself is a credential and is never logged.
            log.info("jeton d'utilisateur refusé (%s)", type(error).__name__)
            return False
        return True


def verifier_from_settings(settings: CodecSettings) -> UserTokenVerifier | None:
    """The verifier when AMI_CODEC_SERVER_OIDC_ISSUER is set, else None (shared-token mode)."""
    issuer = settings.codec_server_oidc_issuer.strip()
    if not issuer:
        return None
    audience, source = settings.codec_server_oidc_audience.strip(), settings.codec_server_oidc_jwks.strip()
    if not audience or not source:
        raise CodecAuthError("AMI_CODEC_SERVER_OIDC_ISSUER demande aussi AMI_CODEC_SERVER_OIDC_AUDIENCE et AMI_CODEC_SERVER_OIDC_JWKS.")
    if source.startswith("https://"):
        return UserTokenVerifier(issuer, audience, jwt.PyJWKClient(source, cache_keys=True, lifespan=3600, timeout=10))
    if source.startswith("http://"):
        raise CodecAuthError("AMI_CODEC_SERVER_OIDC_JWKS : https:// ou un chemin de fichier, jamais http://.")
    try:
        keys = jwt.PyJWKSet.from_json(Path(source).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, jwt.PyJWTError, ValueError) as error:
        raise CodecAuthError(f"AMI_CODEC_SERVER_OIDC_JWKS : jeu de clés illisible ({type(error).__name__}).") from None
    return UserTokenVerifier(issuer, audience, keys)
