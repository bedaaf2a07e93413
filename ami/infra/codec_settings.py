"""Settings of payload encryption and of the codec server (environment, prefix `AMI_`).

Kept apart from `ami.infra.settings` so that the keys are only read where they are needed, and
held as `SecretStr` so that they never show in a repr, a traceback or a log line.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

KEY_BYTES = 32  # AES-256: one size only, so that no weaker key can slip in by mistake
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecSettingsError(ValueError):
    """The encryption settings are unusable; the message says which one and why (in French)."""


class CodecSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMI_", extra="ignore")

    # "id1:base64key,id2:base64key": every listed key can decrypt, so old histories stay readable after a rotation.
    codec_keys: SecretStr = SecretStr("")
    # The key that encrypts new payloads; may be left empty when exactly one key is listed.
    codec_active_key: str = ""
    # Production guard: refuse to start in clear text when no key is configured.
    codec_required: bool = False
    # One data key per workflow, wrapped by the master keys, in the database's `data_keys` table
    # (crypto-shredding, docs/privacy.md); false: the master key encrypts every payload directly.
    codec_data_keys: bool = True

    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = Field(default=8081, ge=0, le=65535)
    # Required by every /decode call (Authorization: Bearer …, or as a path segment for the Web UI).
    codec_server_token: SecretStr = SecretStr("")
    # Production: each coordinator's own OIDC access token, forwarded by the Web UI, instead of the
    # shared token (ami/infra/codec_auth.py). The JWKS is an https:// URL or a file of the provider's keys.
    codec_server_oidc_issuer: str = ""
    codec_server_oidc_audience: str = ""
    codec_server_oidc_jwks: str = ""
    # Comma-separated browser origins allowed to call /decode: the Temporal Web UI only.
    codec_cors_origins: str = "http://localhost:8233,http://127.0.0.1:8233"

    def keyring(self) -> dict[str, bytes]:
        """The configured keys by id; empty when encryption is off."""
        raw = self.codec_keys.get_secret_value().strip()
        keys: dict[str, bytes] = {}
        if not raw:
            return keys
        for entry in raw.split(","):
            key_id, sep, encoded = entry.strip().partition(":")
            if not sep or not _KEY_ID.match(key_id):
                # Never echo the entry itself: it holds the key.
                raise CodecSettingsError(
                    "AMI_CODEC_KEYS mal formé : chaque entrée doit être « identifiant:clé_base64 » "
                    "(identifiant : lettres, chiffres, « . », « _ » ou « - »), séparées par des virgules."
                )
            if key_id in keys:
                raise CodecSettingsError(f"AMI_CODEC_KEYS : l'identifiant de clé « {key_id} » apparaît deux fois.")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise CodecSettingsError(f"AMI_CODEC_KEYS : la clé « {key_id} » n'est pas du base64 valide.") from None
            if len(key) != KEY_BYTES:
                raise CodecSettingsError(
                    f"AMI_CODEC_KEYS : la clé « {key_id} » doit faire {KEY_BYTES} octets (AES-256), elle en fait {len(key)}."
                )
            keys[key_id] = key
        return keys

    def active_key_id(self, keys: dict[str, bytes]) -> str:
        """The id that encrypts, checked against the keyring."""
        active = self.codec_active_key.strip()
        if not active:
            if len(keys) == 1:
                return next(iter(keys))
            raise CodecSettingsError("AMI_CODEC_ACTIVE_KEY est requis quand AMI_CODEC_KEYS liste plusieurs clés.")
        if active not in keys:
            raise CodecSettingsError(f"AMI_CODEC_ACTIVE_KEY « {active} » ne figure pas dans AMI_CODEC_KEYS.")
        return active

    def cors_origins(self) -> frozenset[str]:
        return frozenset(o.strip().rstrip("/") for o in self.codec_cors_origins.split(",") if o.strip())


@cache
def get_codec_settings() -> CodecSettings:
    return CodecSettings()
