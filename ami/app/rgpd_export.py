"""`ami rgpd export SIREN|INSEE`: everything held about a collectivité's people, in one zip archive.

For each of its dossiers (one per campaign): the store's rows (`store.json`), every message sent as
it was sent (`courriels/*.eml`), every document (`documents/`), and the dossier's Temporal history
with every payload decoded (`historique.json`). The campaign's history received the forms by update:
its events whose decoded payloads name this collectivité, and no other dossier, are added
(`campagne-extraits.json`). Whatever could not be read (an erased dossier, a history gone with the
namespace's retention) is said in `LISEZMOI.txt`.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import select
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from ami.infra.codec import CodecError
from ami.infra.store import Store
from ami.models.tables import AttendanceRow, CandidatureRow, DocumentRow, EmailRow, ExperimentRow, FeedbackRow, ReviewRow, TransitionRow
from ami.models.workflow_ids import campaign_workflow_id

_FACTS = (("avis_du_jury", ReviewRow), ("presences", AttendanceRow), ("retours", FeedbackRow), ("experimentations", ExperimentRow))


@dataclass
class ExportResult:
    path: Path
    dossiers: list[str]
    files: int = 0
    notes: list[str] = field(default_factory=list)


def payloads(message: Message) -> Iterator[Payload]:
    """Every Payload inside a protobuf message (history events, in place)."""
    if isinstance(message, Payload):
        yield message
        return
    for child in children(message):
        yield from payloads(child)


def children(message: Message) -> Iterator[Message]:
    """The messages directly inside `message`: its message fields, repeated ones and map values included."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            yield from (v for v in value.values() if isinstance(v, Message))
        elif descriptor.is_repeated:
            yield from value
        else:
            yield value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _row(row: Any) -> dict[str, Any]:
    return {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns if not isinstance(getattr(row, c.key), bytes)}


def dossiers_of(store: Store, identifier: str) -> list[CandidatureRow]:
    """The dossiers of a collectivité, every campaign: workflow ids end with its SIREN or INSEE code."""
    with store.sessions() as session:
        query = (
            select(CandidatureRow)
            .where(CandidatureRow.workflow_id.like(f"candidature-%-{identifier}"))
            .order_by(CandidatureRow.workflow_id)
        )
        return list(session.scalars(query))


def store_rows(store: Store, workflow_id: str) -> dict[str, Any]:
    with store.sessions() as session:
        found: dict[str, Any] = {
            "candidature": [_row(r) for r in session.scalars(select(CandidatureRow).where(CandidatureRow.workflow_id == workflow_id))]
        }
        found["transitions"] = [_row(r) for r in session.scalars(select(TransitionRow).where(TransitionRow.workflow_id == workflow_id))]
        for name, model in _FACTS:
            found[name] = [_row(r) for r in session.scalars(select(model).where(model.workflow_id == workflow_id))]
        found["courriels"] = [_row(r) for r in session.scalars(select(EmailRow).where(EmailRow.workflow_id == workflow_id))]
        found["documents"] = [_row(r) for r in session.scalars(select(DocumentRow).where(DocumentRow.workflow_id == workflow_id))]
    return found


async def decoded_events(client: Client, workflow_id: str) -> list[dict[str, Any]]:
    """Every event of a history with its payloads decrypted, as text (CodecError for an erased dossier)."""
    history: WorkflowHistory = await client.get_workflow_handle(workflow_id).fetch_history()
    codec = client.data_converter.payload_codec
    events = []
    for event in history.events:
        texts = []
        for payload in payloads(event):
            decoded = (await codec.decode([payload]))[0] if codec else payload
            texts.append(decoded.data.decode("utf-8", "replace"))
        events.append({"event_id": event.event_id, "event_type": event.event_type, "payloads": texts})
    return events


async def _campaign_extracts(client: Client, campaign_workflow: str, identifier: str, others: set[str]) -> list[dict[str, Any]]:
    extracts = []
    for event in await decoded_events(client, campaign_workflow):
        texts = [t for t in event["payloads"] if identifier in t and not any(other in t for other in others)]
        if texts:
            extracts.append({**event, "payloads": texts})
    return extracts


async def export_collectivite(identifier: str, store: Store, client: Client | None, out: Path) -> ExportResult:
    dossiers = dossiers_of(store, identifier)
    result = ExportResult(path=out, dossiers=[d.workflow_id for d in dossiers])
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def put(name: str, data: bytes | str) -> None:
            archive.writestr(name, data)
            result.files += 1

        for dossier in dossiers:
            wid = dossier.workflow_id
            rows = store_rows(store, wid)
            put(f"{wid}/store.json", json.dumps(rows, ensure_ascii=False, indent=2))
            for index, email in enumerate(store.emails(wid), start=1):
                if email.raw:
                    put(f"{wid}/courriels/{index:03d}-{email.purpose}.eml", email.raw)
            for document in store.documents(wid):
                path = Path(document.path)
                if document.erased_at is None and path.exists():
                    put(f"{wid}/documents/{document.id}-{document.filename}", path.read_bytes())
            if client is None:
                result.notes.append(f"{wid} : historique Temporal non exporté (serveur non joint).")
                continue
            try:
                put(f"{wid}/historique.json", json.dumps(await decoded_events(client, wid), ensure_ascii=False, indent=1))
            except (RPCError, CodecError) as error:
                result.notes.append(f"{wid} : historique Temporal illisible ou absent ({error}).")
            campaign = campaign_workflow_id(dossier.campaign_id)
            with store.sessions() as session:
                others = {
                    w.rsplit("-", 1)[1]
                    for w in session.scalars(select(CandidatureRow.workflow_id).where(CandidatureRow.campaign_id == dossier.campaign_id))
                    if w != wid
                }
            try:
                extracts = await _campaign_extracts(client, campaign, identifier, others)
                put(f"{wid}/campagne-extraits.json", json.dumps(extracts, ensure_ascii=False, indent=2))
            except (RPCError, CodecError) as error:
                result.notes.append(f"{campaign} : historique de la campagne illisible ou absent ({error}).")
        readme = [
            f"Export des données personnelles détenues sur la collectivité {identifier}, le {datetime.now(UTC):%d/%m/%Y %H:%M} UTC.",
            "",
            "Pour chaque dossier : store.json (lignes de la base), courriels/ (messages tels qu'envoyés),",
            "documents/ (PDF), historique.json (historique Temporal déchiffré), campagne-extraits.json",
            "(événements de l'historique de la campagne qui concernent ce dossier et aucun autre).",
            "",
            *(result.notes or ["Toutes les sources ont pu être lues."]),
        ]
        if not dossiers:
            readme.append("Aucun dossier de cette collectivité dans la base.")
        put("LISEZMOI.txt", "\n".join(readme) + "\n")
    return result
