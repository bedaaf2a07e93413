"""The byte-wise search for personal data left after an erasure: every place personal data could be, read the way a person with
access to it would read it (raw bytes, plus the text inside emails, PDFs, zip archives and payloads)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from email import message_from_bytes, policy
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import inspect, text
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from ami.app.rgpd_export import payloads
from ami.infra.codec import CodecError, EncryptionCodec
from ami.infra.store import Store

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def readable(blob: bytes) -> str:
    """The raw bytes as text, plus what they contain once decoded (MIME parts, PDF text, zip entries)."""
    parts = [blob.decode("utf-8", "replace")]
    if blob.startswith(b"%PDF"):
        parts.append("\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(blob)).pages))
    elif blob.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            parts.extend(readable(archive.read(name)) for name in archive.namelist())
    elif b"Message-ID" in blob[:4000] or b"MIME-Version" in blob[:4000]:
        message = message_from_bytes(blob, policy=policy.default)
        for part in message.walk():
            if part.is_multipart():
                continue
            content = part.get_payload(decode=True) or b""
            parts.append(readable(content) if isinstance(content, bytes) else str(content))
            parts.append(str(part.get("To", "")) + str(part.get("Subject", "")))
    # PDFs and HTML may set no-break spaces or break lines where the form had a space.
    return "\n".join(parts) + "\n" + _SPACES.sub(" ", "\n".join(parts))


def found(needles: Iterable[str], blob: bytes | str) -> set[str]:
    text_ = readable(blob) if isinstance(blob, bytes) else blob + "\n" + _SPACES.sub(" ", blob)
    return {n for n in needles if n in text_}


def store_places(store: Store) -> Iterator[tuple[str, bytes | str]]:
    """Every row of every table, as text (raw bytes of messages kept as bytes)."""
    with store.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                for index, value in enumerate(row):
                    if isinstance(value, bytes | memoryview):
                        yield f"{table}[{index}]", bytes(value)
                    elif value is not None:
                        yield f"{table}", str(value)


def folder_places(*folders: Path) -> Iterator[tuple[str, bytes]]:
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                yield str(path), path.read_bytes()


async def history_places(client: Client, workflow_ids: Iterable[str], codec: EncryptionCodec) -> list[tuple[str, str]]:
    """Each history as stored (raw events) and decoded with `codec`: a payload it cannot decrypt
    (an erased dossier's) contributes its ciphertext only, which is what anyone can still read."""
    result = []
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        raw = b"".join(event.SerializeToString() for event in history.events)
        result.append((f"{workflow_id} (brut)", raw.decode("utf-8", "replace")))
        for event in history.events:
            for payload in payloads(event):
                result.append((f"{workflow_id} #{event.event_id}", _decoded(codec, payload)))
    return result


def _decoded(codec: EncryptionCodec, payload: Payload) -> str:
    try:
        return codec.decrypt(payload).data.decode("utf-8", "replace")
    except CodecError:
        return ""
