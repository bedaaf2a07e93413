"""What the portal keeps: drafts and consumed nonces in the store's database, attachments as
content-addressed files under the data directory (outside any web root: served only by a view that
checks the link)."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from ami.app.portal.sniff import EXTENSIONS, Kind
from ami.infra.store import Store
from ami.models.tables import PortalDraftRow, PortalNonceRow

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
NONCE_KEEP = timedelta(days=2)  # longer than a CSRF token lives: older nonces cannot come back


class PortalStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def consume_nonce(self, nonce: str, now: datetime | None = None) -> bool:
        """True the first time a nonce is seen; False for a replay."""
        now = now or datetime.now(UTC)
        try:
            with self.store.sessions.begin() as session:
                session.add(PortalNonceRow(nonce=nonce, used_at=now))
        except IntegrityError:
            return False
        with self.store.sessions.begin() as session:
            session.execute(delete(PortalNonceRow).where(PortalNonceRow.used_at < now - NONCE_KEEP))
        return True

    def new_draft(self, campaign_id: str, data: dict[str, Any], attachments: list[dict[str, Any]]) -> str:
        draft_id = secrets.token_urlsafe(18)
        now = datetime.now(UTC)
        with self.store.sessions.begin() as session:
            session.add(
                PortalDraftRow(id=draft_id, campaign_id=campaign_id, data=data, attachments=attachments, created_at=now, updated_at=now)
            )
        return draft_id

    def draft(self, draft_id: str) -> PortalDraftRow | None:
        with self.store.sessions() as session:
            return session.get(PortalDraftRow, draft_id)

    def save_draft(self, draft_id: str, data: dict[str, Any], attachments: list[dict[str, Any]]) -> None:
        with self.store.sessions.begin() as session:
            row = session.get(PortalDraftRow, draft_id)
            if row is not None:
                row.data, row.attachments, row.updated_at = data, attachments, datetime.now(UTC)

    def drop_draft(self, draft_id: str) -> None:
        with self.store.sessions.begin() as session:
            session.execute(delete(PortalDraftRow).where(PortalDraftRow.id == draft_id))


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    filename: str
    media_type: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "filename": self.filename, "media_type": self.media_type, "size": self.size}

    @property
    def form_path(self) -> str:
        """How the candidature file names it: `pieces/<sha256>.<ext>`, no personal data."""
        return f"pieces/{self.sha256}.{EXTENSIONS[Kind(self.media_type)]}"


def safe_filename(name: str) -> str:
    """The name shown back to people: no folder, no control character, at most 120 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip() or "piece-jointe"
    return cleaned[-120:]


class Attachments:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, filename: str, kind: Kind) -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)  # atomic: a reader never sees half a file
        return StoredFile(sha256=digest, filename=safe_filename(filename), media_type=kind.value, size=len(data))

    def path(self, digest: str) -> Path:
        if not _HEX64.match(digest):
            raise ValueError("empreinte invalide")
        return self.root / digest[:2] / digest

    def read(self, digest: str) -> bytes | None:
        try:
            return self.path(digest).read_bytes()
        except (ValueError, OSError):
            return None
