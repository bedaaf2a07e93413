"""The data keys of the payload codec: one per scope (a workflow id), wrapped by a master key.

Envelope encryption: every payload of a candidature is encrypted with that candidature's own data
key; the data key is stored wrapped (AES-GCM) by one of the codec's master keys (`AMI_CODEC_KEYS`).
Erasing a dossier destroys its data key (`destroy`): the history on the Temporal server keeps its
ciphertext, which nobody can decrypt any more. Rotating a master key re-wraps the data keys
(`rewrap`), so the old master key can be retired without touching any history.

The table lives in the application's database (`data_keys`, migration 0003): the worker, the `ami`
command and the codec server all reach it already, a destruction is one transaction in the same
database the purge writes to, and the row stays (without its key) as the dated proof of erasure.
Several rows may exist for one scope (two processes creating a key at once, or a key created after
an erasure for a late signal): every one of them is destroyed with the scope.

Unwrapped keys are cached in memory for `CACHE_SECONDS`, so a destruction made by another process
takes effect there within that delay; in the process that destroys, at once.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker

from ami.infra.codec_settings import KEY_BYTES
from ami.models.tables import DataKeyRow

_T = TypeVar("_T")
CACHE_SECONDS = 60.0
_NONCE = 12


class KeyStoreError(ValueError):
    """A data key cannot be used: destroyed (erased dossier), unknown, or its master key is missing (French)."""


class DestroyedKeyError(KeyStoreError):
    """The payload belongs to an erased dossier: its data key was destroyed."""


@dataclass(frozen=True)
class DataKey:
    key_id: str
    scope: str
    key: bytes

    @cached_property
    def cipher(self) -> AESGCM:
        return AESGCM(self.key)


def _aad(key_id: str, scope: str) -> bytes:
    # Binding the wrapped key to its id and scope: a wrapped key copied onto another row is refused.
    return f"ami-data-key|{key_id}|{scope}".encode()


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[float, DataKey]] = {}
        self._active: dict[str, tuple[float, str]] = {}

    # --- encryption side -------------------------------------------------------------------

    def cached_active(self, scope: str) -> DataKey | None:
        """The scope's key when this process already holds it (no database call: the event loop's path)."""
        with self._lock:
            cached = self._active.get(scope)
            if cached and time.monotonic() - cached[0] < CACHE_SECONDS and cached[1] in self._by_id:
                return self._by_id[cached[1]][1]
        return None

    def cached(self, key_id: str) -> DataKey | None:
        with self._lock:
            cached = self._by_id.get(key_id)
            if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
                return cached[1]
        return None

    def active(self, scope: str, masters: dict[str, AESGCM], master_id: str) -> DataKey:
        """The scope's live data key, created (and wrapped by `master_id`) when it has none."""
        now = time.monotonic()
        hit = self.cached_active(scope)
        if hit is not None:
            return hit
        with self.sessions() as session:
            query = (
                select(DataKeyRow)
                .where(DataKeyRow.scope == scope, DataKeyRow.destroyed_at.is_(None))
                .order_by(DataKeyRow.created_at.desc(), DataKeyRow.key_id)
            )
            row = self._unchecked(lambda: session.scalars(query).first())
        data_key = self._unwrap(row, masters) if row is not None else self._create(scope, masters, master_id)
        with self._lock:
            self._by_id[data_key.key_id] = (now, data_key)
            self._active[scope] = (now, data_key.key_id)
        return data_key

    def _create(self, scope: str, masters: dict[str, AESGCM], master_id: str) -> DataKey:
        key_id = secrets.token_hex(16)
        key = secrets.token_bytes(KEY_BYTES)
        nonce = os.urandom(_NONCE)
        wrapped = nonce + masters[master_id].encrypt(nonce, key, _aad(key_id, scope))
        row = DataKeyRow(key_id=key_id, scope=scope, master_key_id=master_id, wrapped=wrapped, created_at=datetime.now(UTC))

        def insert() -> None:
            with self.sessions.begin() as session:
                session.add(row)

        self._unchecked(insert)
        return DataKey(key_id, scope, key)

    # --- decryption side -------------------------------------------------------------------

    def get(self, key_id: str, masters: dict[str, AESGCM]) -> DataKey:
        now = time.monotonic()
        hit = self.cached(key_id)
        if hit is not None:
            return hit
        with self.sessions() as session:
            row = self._unchecked(lambda: session.get(DataKeyRow, key_id))
        if row is None:
            raise KeyStoreError(f"clé de données « {key_id} » inconnue de la base (AMI_DATABASE_URL) : autre base, ou base restaurée ?")
        data_key = self._unwrap(row, masters)
        with self._lock:
            self._by_id[key_id] = (now, data_key)
        return data_key

    def _unwrap(self, row: DataKeyRow, masters: dict[str, AESGCM]) -> DataKey:
        if row.wrapped is None:
            when = row.destroyed_at.date().isoformat() if row.destroyed_at else "?"
            raise DestroyedKeyError(
                f"dossier effacé le {when} : sa clé de données « {row.key_id} » a été détruite, ses données sont illisibles."
            )
        master = masters.get(row.master_key_id or "")
        if master is None:
            raise KeyStoreError(
                f"la clé de données « {row.key_id} » est protégée par la clé maîtresse « {row.master_key_id} », absente de AMI_CODEC_KEYS : "
                "ajoutez-la, ou lancez « ami rgpd rewrap » avec les deux clés."
            )
        try:
            key = master.decrypt(row.wrapped[:_NONCE], row.wrapped[_NONCE:], _aad(row.key_id, row.scope))
        except InvalidTag:
            raise KeyStoreError(f"clé de données « {row.key_id} » altérée : déchiffrement refusé.") from None
        return DataKey(row.key_id, row.scope, key)

    # --- erasure and rotation --------------------------------------------------------------

    def destroy(self, scope: str, at: datetime | None = None) -> int:
        """Destroy every live data key of `scope`; returns how many were destroyed."""
        with self.sessions.begin() as session:
            statement = (
                update(DataKeyRow)
                .where(DataKeyRow.scope == scope, DataKeyRow.destroyed_at.is_(None))
                .values(wrapped=None, master_key_id=None, destroyed_at=at or datetime.now(UTC))
            )
            count = int(self._unchecked(lambda: session.execute(statement)).rowcount or 0)  # type: ignore[attr-defined]
        self.forget(scope)
        return count

    def forget(self, scope: str) -> None:
        with self._lock:
            self._active.pop(scope, None)
            for key_id in [k for k, (_, dk) in self._by_id.items() if dk.scope == scope]:
                del self._by_id[key_id]

    def live_scopes(self) -> set[str]:
        with self.sessions() as session:
            query = select(DataKeyRow.scope).where(DataKeyRow.destroyed_at.is_(None))
            return set(self._unchecked(lambda: session.scalars(query).all()))

    def destroyed(self, scope: str) -> list[DataKeyRow]:
        with self.sessions() as session:
            query = select(DataKeyRow).where(DataKeyRow.scope == scope, DataKeyRow.destroyed_at.is_not(None))
            return list(self._unchecked(lambda: session.scalars(query).all()))

    def rewrap(self, masters: dict[str, AESGCM], master_id: str) -> int:
        """Wrap every live data key with the active master key; returns how many changed."""
        changed = 0
        with self.sessions.begin() as session:
            query = select(DataKeyRow).where(DataKeyRow.wrapped.is_not(None), DataKeyRow.master_key_id != master_id)
            for row in self._unchecked(lambda: list(session.scalars(query))):
                key = self._unwrap(row, masters).key
                nonce = os.urandom(_NONCE)
                row.wrapped = nonce + masters[master_id].encrypt(nonce, key, _aad(row.key_id, row.scope))
                row.master_key_id = master_id
                changed += 1
        return changed

    @staticmethod
    def _unchecked(call: Callable[[], _T]) -> _T:
        try:
            return call()
        except (OperationalError, ProgrammingError) as error:
            raise KeyStoreError(
                f"table des clés de données inaccessible ({type(error.orig).__name__}) : lancez « ami db upgrade »."
            ) from None


def key_store_for(url: str) -> KeyStore:
    """The process's key store for the database at `url` (one cache, so a destruction here is seen at once)."""
    from ami.infra.store import normalise_url

    return _key_store(normalise_url(url))


@cache
def _key_store(url: str) -> KeyStore:
    from ami.infra.store import make_engine

    return KeyStore(make_engine(url))
