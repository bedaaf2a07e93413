"""Encryption of every Temporal payload (inputs, results, updates, memos, failures) with AES-GCM.

The Temporal server, its database and its Web UI only ever see ciphertext: the forms carry
names, emails and phone numbers of elected officials and staff.

Envelope encryption, so that erasing a person can shred their histories: with a key store, each
workflow's payloads are encrypted with a data key of their own (`ami.infra.keystore`), chosen from the
SDK's serialization context: the workflow id of the candidature (or of the campaign) the payload
belongs to. The payload records the data key's id
(`ami-data-key-id`), so whoever decodes it (a worker, the codec server, which has no context) finds
the key without knowing the workflow. Erasing a dossier destroys its data key: crypto-shredding.

Without a key store, or without a context (a client call that names no workflow), a payload is
encrypted with the active master key itself and records its id (`encryption-key-id`), as before;
such payloads, and the histories written before data keys, stay readable with the master keys.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import os
import secrets
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from ami.infra.codec_settings import KEY_BYTES, CodecSettings, CodecSettingsError, get_codec_settings
from ami.infra.keystore import DataKey, KeyStore, KeyStoreError, key_store_for

# The encoding the other Temporal SDK samples use, so that generic tools recognise the payloads.
ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
DATA_KEY_METADATA = "ami-data-key-id"
_NONCE_BYTES = 12  # the size AES-GCM is specified and optimised for
_TAG_BYTES = 16

log = logging.getLogger("ami.infra.codec")


class CodecError(ValueError):
    """A payload cannot be decrypted: unknown key, or altered ciphertext (message in French)."""


PLAINTEXT_REFUSED = "payload non chiffré refusé : AMI_CODEC_REQUIRED est activé, seules les données chiffrées sont acceptées."


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_key_id: str,
        key_store: KeyStore | None = None,
        scope: str | None = None,
        *,
        refuse_plaintext: bool = False,
    ) -> None:
        super().__init__()
        # With AMI_CODEC_REQUIRED, a payload in clear is refused: whoever reaches the frontend must
        # not score or deliberate with a hand-written `json/plain` payload.
        self.refuse_plaintext = refuse_plaintext
        if active_key_id not in keys:
            raise CodecSettingsError(f"la clé active « {active_key_id} » ne figure pas parmi les clés configurées.")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise CodecSettingsError(f"la clé « {key_id} » doit faire {KEY_BYTES} octets (AES-256).")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id
        self.key_store = key_store
        # The workflow whose payloads this copy encrypts (None: no context, the master key encrypts).
        self.scope = scope

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        """The SDK calls this for every payload it encodes: a child's start input and a signal to another
        workflow come with *that* workflow's id, an activity's input and result with the calling workflow's."""
        scope = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            scope = context.workflow_id
        if scope == self.scope:
            return self
        copy = object.__new__(EncryptionCodec)
        copy.__dict__.update(self.__dict__)
        copy.scope = scope
        return copy

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self.key_store is None or not self.scope or not payloads:
            return [self.encrypt(p) for p in payloads]
        # A database call only when this process does not hold the key yet: off the event loop.
        data_key = self.key_store.cached_active(self.scope)
        if data_key is None:
            data_key = await asyncio.to_thread(self.data_key)
        return [self.encrypt_with(p, data_key) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        ids = {p.metadata[DATA_KEY_METADATA].decode("utf-8", "replace") for p in payloads if DATA_KEY_METADATA in p.metadata}
        if ids and (self.key_store is None or any(self.key_store.cached(i) is None for i in ids)):
            return await asyncio.to_thread(self.decrypt_all, payloads)
        return self.decrypt_all(payloads)

    def data_key(self) -> DataKey:
        """The live data key of this copy's scope (created when there is none)."""
        assert self.key_store is not None and self.scope
        try:
            return self.key_store.active(self.scope, self._ciphers, self.active_key_id)
        except KeyStoreError as error:
            raise CodecError(str(error)) from None

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.active_key_id
        nonce = os.urandom(_NONCE_BYTES)
        # The key id is authenticated data: swapping the metadata to another key id makes decryption fail.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()}, data=nonce + sealed)

    def encrypt_with(self, payload: Payload, data_key: DataKey) -> Payload:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = data_key.cipher.encrypt(nonce, payload.SerializeToString(), data_key.key_id.encode())
        return Payload(metadata={"encoding": ENCODING, DATA_KEY_METADATA: data_key.key_id.encode()}, data=nonce + sealed)

    def decrypt_all(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Synchronous, for the codec server's request threads."""
        return [self.decrypt(p) for p in payloads]

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            if self.refuse_plaintext:
                raise CodecError(PLAINTEXT_REFUSED)
            # Histories written before encryption was switched on stay readable (replay of recorded histories).
            return payload
        if DATA_KEY_METADATA in payload.metadata:
            return self._decrypt_data_key(payload)
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise CodecError(
                f"payload chiffré avec la clé « {key_id or '(aucune)'} », absente de AMI_CODEC_KEYS (clés connues : {known}) : "
                "ajoutez l'ancienne clé à AMI_CODEC_KEYS pour relire cet historique."
            )
        return self._open(cipher, key_id, payload.data)

    def _decrypt_data_key(self, payload: Payload) -> Payload:
        key_id = payload.metadata[DATA_KEY_METADATA].decode("utf-8", "replace")
        if self.key_store is None:
            raise CodecError(
                f"payload chiffré avec la clé de données « {key_id} » : ce décodeur n'a pas accès à la table des clés (AMI_DATABASE_URL)."
            )
        try:
            data_key = self.key_store.get(key_id, self._ciphers)
        except KeyStoreError as error:
            raise CodecError(str(error)) from None
        return self._open(data_key.cipher, key_id, payload.data)

    @staticmethod
    def _open(cipher: AESGCM, key_id: str, data: bytes) -> Payload:
        if len(data) < _NONCE_BYTES + _TAG_BYTES:
            raise CodecError(f"payload chiffré avec la clé « {key_id} » altéré ou tronqué : trop court pour être authentique.")
        try:
            plain = cipher.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise CodecError(f"payload chiffré avec la clé « {key_id} » altéré ou tronqué : authentification AES-GCM refusée.") from None
        return Payload.FromString(plain)


def codec_from_settings(
    settings: CodecSettings | None = None,
    key_store: KeyStore | None = None,
    database_url: str | None = None,
    *,
    allow_plaintext: bool = False,
) -> EncryptionCodec | None:
    """The codec of the configured keys, or None when no key is configured.

    It refuses clear-text payloads when AMI_CODEC_REQUIRED is set, unless `allow_plaintext`: the
    replayer (saved histories are in clear) and the codec server (it only shows what it is given).

    Data keys (one per workflow) live in the key store given, else in the one of `database_url`, else
    in the application's database (AMI_DATABASE_URL), unless AMI_CODEC_DATA_KEYS=false.
    """
    settings = settings or get_codec_settings()
    keys = settings.keyring()
    if not keys:
        if settings.codec_required:
            raise CodecSettingsError("AMI_CODEC_REQUIRED est activé mais AMI_CODEC_KEYS est vide : refus de travailler en clair.")
        return None
    if key_store is None and settings.codec_data_keys:
        if database_url is None:
            from ami.infra.settings import get_settings

            database_url = get_settings().resolved_database_url()
        key_store = key_store_for(database_url)
    return EncryptionCodec(
        keys, settings.active_key_id(keys), key_store=key_store, refuse_plaintext=settings.codec_required and not allow_plaintext
    )


def data_converter(
    settings: CodecSettings | None = None,
    key_store: KeyStore | None = None,
    database_url: str | None = None,
    *,
    allow_plaintext: bool = False,
) -> DataConverter:
    """The pydantic converter, plus encryption and encoded failure messages when keys are configured.

    Without keys it is exactly `pydantic_data_converter`, so histories recorded in clear text still replay.
    """
    codec = codec_from_settings(settings, key_store, database_url, allow_plaintext=allow_plaintext)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        # Failure messages and stack traces quote the data that failed: move them into an encrypted payload too.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


PLAINTEXT_WARNING = (
    "Attention : aucune clé de chiffrement (AMI_CODEC_KEYS vide) — les données personnelles des candidatures "
    "sont stockées EN CLAIR dans l'historique Temporal. Acceptable en développement seulement ; en production, "
    "configurez AMI_CODEC_KEYS et AMI_CODEC_ACTIVE_KEY (et AMI_CODEC_REQUIRED=true). Voir docs/privacy.md."
)


def warn_if_plaintext(settings: CodecSettings | None = None) -> bool:
    """Log the clear-text warning when no key is configured; True when it was logged."""
    settings = settings or get_codec_settings()
    if settings.keyring():
        return False
    log.warning(PLAINTEXT_WARNING)
    return True


def new_key_entry(key_id: str) -> str:
    """A fresh "id:base64key" entry for AMI_CODEC_KEYS (random, 256 bits)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"
