"""`ami rgpd erase --email ADDRESS`: erase one person (a referent who left) across every dossier.

In the store, the person's entry in each form is replaced by a marker (the collectivité's own
address too, if it is the one given); the raw bytes of every message that carries the address are
deleted (the rows stay); the candidature summaries (the only documents that list the referents) are
deleted from disk. What stays, and why, is reported: a dossier still running holds the person in its
workflow state until the workflow forgets it (an update the candidature workflow does not have yet,
see docs/privacy.md); every history keeps the person until its dossier's data key is destroyed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ami.infra.erasure import MARKER, delete_files
from ami.infra.store import Store
from ami.models.lifecycle import FINAL_STATES, State
from ami.models.tables import CandidatureRow, DocumentRow, EmailRow, OutboxStatus

PEOPLE = ("political_referent", "technical_referent", "contact_point")


@dataclass
class PersonErasure:
    dossiers: list[str] = field(default_factory=list)  # forms where the person was found
    messages: int = 0
    files: int = 0
    running: list[str] = field(default_factory=list)  # dossiers whose workflow still holds the person
    without_contact: list[str] = field(default_factory=list)  # dossiers left with no address at all


def _forget(form: dict[str, Any], address: str) -> bool:
    changed = False
    for role in PEOPLE:
        person = form.get(role)
        if isinstance(person, dict) and str(person.get("email") or "").lower() == address:
            form[role] = {"erased": MARKER}
            changed = True
    collectivite = form.get("collectivite")
    if isinstance(collectivite, dict) and str(collectivite.get("email") or "").lower() == address:
        collectivite["email"] = MARKER
        changed = True
    return changed


def _has_contact(form: dict[str, Any]) -> bool:
    addresses = [form.get(role, {}).get("email") if isinstance(form.get(role), dict) else None for role in PEOPLE]
    collectivite = form.get("collectivite") if isinstance(form.get("collectivite"), dict) else {}
    addresses.append((collectivite or {}).get("email"))
    return any(a and a != MARKER for a in addresses)


def erase_person(store: Store, address: str, at: datetime) -> PersonErasure:
    address = address.strip().lower()
    needle = address.encode()
    result = PersonErasure()
    with store.sessions.begin() as session:
        for row in session.scalars(select(CandidatureRow).where(CandidatureRow.form.is_not(None))):
            form = copy.deepcopy(row.form or {})
            if not _forget(form, address):
                continue
            row.form = form  # a new object, so that SQLAlchemy sees the JSON change
            result.dossiers.append(row.workflow_id)
            if State(row.state) not in FINAL_STATES:
                result.running.append(row.workflow_id)
            if not _has_contact(form):
                result.without_contact.append(row.workflow_id)
        # A message still pending is left alone: its activity would retry with empty bytes.
        for message in session.scalars(select(EmailRow).where(EmailRow.erased_at.is_(None), EmailRow.status != OutboxStatus.PENDING)):
            if needle in message.raw.lower():
                message.raw, message.erased_at = b"", at
                message.detail = MARKER if message.detail else None
                result.messages += 1
        summaries = list(
            session.scalars(
                select(DocumentRow).where(
                    DocumentRow.workflow_id.in_(result.dossiers), DocumentRow.kind == "summary", DocumentRow.erased_at.is_(None)
                )
            )
        )
        for document in summaries:
            document.erased_at = at
        paths = {document.path for document in summaries}
        session.flush()
        shared = set(session.scalars(select(DocumentRow.path).where(DocumentRow.path.in_(paths), DocumentRow.erased_at.is_(None))))
    result.files = delete_files([Path(p) for p in sorted(paths - shared)])
    return result
