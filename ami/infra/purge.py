"""The purge (RGPD): what has passed its retention period, and erasing it from every copy.

`plan` decides (reads only: `ami rgpd purge --dry-run` prints it); `apply` erases. The rules:

- a dossier is due when its campaign is over (every dossier final and the campaign workflow closed:
  the campaign's history holds results encrypted with the dossiers' keys, which a replay must still
  read) and its period has run: `completed_months` from the capitalisation for a capitalised
  dossier, `not_retained_months` from the response date (or its closing, if later) for a closed one;
- the campaign's own history (it received every form by update) is shredded with its first dossier;
- a message's raw bytes are due `outbox_months` after its sending, a document `attachments_months`
  after its creation, whatever the state of the dossier (a message still pending is never touched);
- a campaign whose file is not found in AMI_CAMPAIGNS_DIR is left whole and reported.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select

from ami.infra.erasure import erase_documents, erase_dossier, erase_messages
from ami.infra.keystore import KeyStore
from ami.infra.privacy import campaign_file
from ami.infra.store import Store
from ami.models.lifecycle import FINAL_STATES, State
from ami.models.privacy import DataKind
from ami.models.tables import CampaignRow, CandidatureRow, DocumentRow, EmailRow, OutboxStatus
from ami.models.workflow_ids import campaign_of, campaign_workflow_id


class PurgeAction(StrEnum):
    DOSSIER = "dossier"  # a candidature: store, files, messages and its history's data key
    CAMPAIGN_HISTORY = "campaign_history"  # the campaign's history's data key, its messages and documents
    MESSAGE = "message"  # the raw bytes of one sent message
    DOCUMENT = "document"  # one document on disk


class PurgeLine(BaseModel):
    action: PurgeAction
    target: str  # a workflow id, a Message-ID or a document id: identifiers, never personal data
    campaign_id: str
    due: AwareDatetime


class PurgeReport(BaseModel):
    at: AwareDatetime
    dry_run: bool
    lines: list[PurgeLine] = Field(default_factory=list)
    waiting: list[str] = Field(default_factory=list)  # campaigns not over: their dossiers wait
    unknown: list[str] = Field(default_factory=list)  # campaigns without a file: nothing purged
    files_deleted: int = 0
    keys_destroyed: int = 0

    def count(self, action: PurgeAction) -> int:
        return sum(1 for line in self.lines if line.action == action)


def campaign_ids(store: Store) -> list[str]:
    with store.sessions() as session:
        found = set(session.scalars(select(CandidatureRow.campaign_id).distinct())) | set(session.scalars(select(CampaignRow.id)))
    return sorted(found)


def plan(
    store: Store, campaigns_dir: Path, now: datetime, running: set[str], live_scopes: set[str] | None = None, dry_run: bool = True
) -> PurgeReport:
    """What is due at `now`; `running` holds the campaigns whose workflow is still open, `live_scopes`
    the workflows whose history's data key still exists (None: unknown, assume it does)."""
    report = PurgeReport(at=now, dry_run=dry_run)
    with store.sessions() as session:
        candidatures = list(session.scalars(select(CandidatureRow)))
        campaigns = {row.id: row for row in session.scalars(select(CampaignRow))}
        messages = list(session.scalars(select(EmailRow).where(EmailRow.erased_at.is_(None), EmailRow.status != OutboxStatus.PENDING)))
        documents = list(session.scalars(select(DocumentRow).where(DocumentRow.erased_at.is_(None))))
    ids = sorted({c.campaign_id for c in candidatures} | set(campaigns) | {campaign_of(m.workflow_id) for m in messages})
    files = {cid: campaign_file(cid, campaigns_dir) for cid in ids}
    report.unknown = [cid for cid, found in files.items() if found is None]
    for cid in ids:
        found = files[cid]
        if found is None:
            continue
        mine = [c for c in candidatures if c.campaign_id == cid]
        over = cid not in running and all(State(c.state) in FINAL_STATES for c in mine)
        if not over:
            report.waiting.append(cid)
            continue
        response = campaigns[cid].response_at if cid in campaigns else None
        dues, new = [], False
        for c in mine:
            if State(c.state) is State.CAPITALISED:
                due = found.retention.expires(DataKind.COMPLETED, c.updated_at)
            else:
                start = max(response, c.updated_at) if response else c.updated_at
                due = found.retention.expires(DataKind.NOT_RETAINED, start)
            if c.erased_at is not None:
                dues.append(c.erased_at)
            elif due <= now:
                dues.append(due)
                new = True
                report.lines.append(PurgeLine(action=PurgeAction.DOSSIER, target=c.workflow_id, campaign_id=cid, due=due))
        history_live = live_scopes is None or campaign_workflow_id(cid) in live_scopes
        if dues and (new or history_live):
            report.lines.append(
                PurgeLine(action=PurgeAction.CAMPAIGN_HISTORY, target=campaign_workflow_id(cid), campaign_id=cid, due=min(dues))
            )
    for m in messages:
        found = files.get(campaign_of(m.workflow_id))
        sent = found.retention.expires(DataKind.OUTBOX, m.sent_at or m.created_at) if found else None
        if sent is not None and sent <= now:
            report.lines.append(
                PurgeLine(action=PurgeAction.MESSAGE, target=m.message_id, campaign_id=campaign_of(m.workflow_id), due=sent)
            )
    for d in documents:
        found = files.get(campaign_of(d.workflow_id))
        made = found.retention.expires(DataKind.ATTACHMENTS, d.created_at) if found else None
        if made is not None and made <= now:
            report.lines.append(PurgeLine(action=PurgeAction.DOCUMENT, target=str(d.id), campaign_id=campaign_of(d.workflow_id), due=made))
    return report


def apply(report: PurgeReport, store: Store, keys: KeyStore | None) -> PurgeReport:
    """Erase everything `report` lists; the store first, then the data keys (a crash in between
    leaves a key to destroy at the next run, never a key destroyed over data still in the store)."""
    files = keys_destroyed = 0
    shredded: set[str] = set()
    for line in report.lines:
        if line.action in (PurgeAction.DOSSIER, PurgeAction.CAMPAIGN_HISTORY) and line.target not in shredded:
            files += erase_dossier(store, line.target, report.at)
            if keys is not None:
                keys_destroyed += keys.destroy(line.target, report.at)
            shredded.add(line.target)
    erase_messages(store, [line.target for line in report.lines if line.action == PurgeAction.MESSAGE], report.at)
    files += erase_documents(store, [int(line.target) for line in report.lines if line.action == PurgeAction.DOCUMENT], report.at)
    store.flush_erased()
    return report.model_copy(update={"dry_run": False, "files_deleted": files, "keys_destroyed": keys_destroyed})
