"""Erasure in the store and on disk (RGPD): personal fields become a marker, rows and figures stay.

What a dossier's erasure does, in one transaction:
- `candidatures`: the form (names, emails, phones, answers) is replaced by a marker; the state, the
  decision, the register's name of the collectivité, its kind and département stay (the statistics);
- `transitions`: the written justification becomes the marker (free text may name people);
- `reviews`, `feedback`, `experiments`: comments, reasons and the experiment text become the marker;
  scores, satisfaction marks and attendance stay;
- `emails`: the raw bytes are deleted and the bounce detail (which quotes the address) is marked;
  the row (Message-ID, purpose, subject, date, status) stays as the proof a notification was sent;
- `documents`: the file is deleted (unless another live row shares its content-addressed path), the
  row stays with its hash.
The data key of the dossier's history is destroyed by the caller (ami.infra.purge), after this commit.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ami.infra.store import Store
from ami.models.tables import CandidatureRow, DocumentRow, EmailRow, ExperimentRow, FeedbackRow, ReviewRow, TransitionRow

MARKER = "[effacé]"


def _mark_facts(session: Session, workflow_id: str) -> None:
    session.execute(
        update(TransitionRow)
        .where(TransitionRow.workflow_id == workflow_id, TransitionRow.justification.is_not(None))
        .values(justification=MARKER)
    )
    session.execute(update(ReviewRow).where(ReviewRow.workflow_id == workflow_id, ReviewRow.comment.is_not(None)).values(comment=MARKER))
    session.execute(update(ReviewRow).where(ReviewRow.workflow_id == workflow_id, ReviewRow.reason.is_not(None)).values(reason=MARKER))
    session.execute(
        update(FeedbackRow).where(FeedbackRow.workflow_id == workflow_id, FeedbackRow.comment.is_not(None)).values(comment=MARKER)
    )
    session.execute(update(ExperimentRow).where(ExperimentRow.workflow_id == workflow_id).values(experiment=MARKER))


def _erase_messages(session: Session, at: datetime, *where: object) -> int:
    rows = list(session.scalars(select(EmailRow).where(EmailRow.erased_at.is_(None), *where)))  # type: ignore[arg-type]
    for row in rows:
        row.raw = b""
        row.detail = MARKER if row.detail else None
        row.erased_at = at
    return len(rows)


def _erase_documents(session: Session, at: datetime, *where: object) -> list[Path]:
    rows = list(session.scalars(select(DocumentRow).where(DocumentRow.erased_at.is_(None), *where)))  # type: ignore[arg-type]
    for row in rows:
        row.erased_at = at
    session.flush()
    paths = {row.path for row in rows}
    # Content-addressed: the same bytes of another, live row keep the file.
    shared = set(session.scalars(select(DocumentRow.path).where(DocumentRow.path.in_(paths), DocumentRow.erased_at.is_(None))))
    return [Path(p) for p in sorted(paths - shared)]


def delete_files(paths: list[Path]) -> int:
    deleted = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            deleted += 1
    return deleted


def erase_dossier(store: Store, workflow_id: str, at: datetime) -> int:
    """Erase one dossier's personal data from the store and its files from disk; returns the files deleted."""
    with store.sessions.begin() as session:
        row = session.get(CandidatureRow, workflow_id)
        if row is not None:
            row.form = {"erased": MARKER} if row.form is not None else None
            row.erased_at = at
        _mark_facts(session, workflow_id)
        _erase_messages(session, at, EmailRow.workflow_id == workflow_id)
        paths = _erase_documents(session, at, DocumentRow.workflow_id == workflow_id)
    return delete_files(paths)


def erase_messages(store: Store, message_ids: list[str], at: datetime) -> int:
    if not message_ids:
        return 0
    with store.sessions.begin() as session:
        return _erase_messages(session, at, EmailRow.message_id.in_(message_ids))


def erase_documents(store: Store, document_ids: list[int], at: datetime) -> int:
    if not document_ids:
        return 0
    with store.sessions.begin() as session:
        paths = _erase_documents(session, at, DocumentRow.id.in_(document_ids))
    return delete_files(paths)
