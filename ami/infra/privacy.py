"""The campaign's privacy notice and retention periods at run time, read from its campaign file.

The emails, the documents and the purge find a campaign by id in `AMI_CAMPAIGNS_DIR` (the bundled
`ami/data/campaigns/` by default). A campaign without a file there gets no notice (logged, never
silent) and nothing of it is purged: erasing by default would be worse than keeping.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from ami.models.campaign import CampaignFile, CampaignFileError, load_campaign
from ami.models.privacy import notice_paragraphs

log = logging.getLogger("ami.infra.privacy")

# Purposes whose recipients are the coordinators, not a collectivité: no notice (they are the controller's staff).
COORDINATOR_PREFIX = "coord_"


@cache
def campaign_file(campaign_id: str, campaigns_dir: Path) -> CampaignFile | None:
    path = campaigns_dir / f"{campaign_id}.toml"
    if not path.exists():
        log.warning("campaign file not found, no retention nor notice for it", extra={"campaign": campaign_id})
        return None
    try:
        return load_campaign(path)
    except CampaignFileError:
        log.warning("campaign file invalid, no retention nor notice for it", extra={"campaign": campaign_id})
        return None


def notice(campaign_id: str, campaigns_dir: Path) -> list[str] | None:
    """The notice's paragraphs for a campaign, or None when its file is not found."""
    found = campaign_file(campaign_id, campaigns_dir)
    return notice_paragraphs(found.privacy, found.retention) if found else None


def email_notice(purpose: str, context: dict[str, object], campaigns_dir: Path) -> list[str] | None:
    """The notice owed at the end of this email: every email to a collectivité carries it."""
    if purpose.startswith(COORDINATOR_PREFIX):
        return None
    campaign = context.get("campaign")
    campaign_id = campaign.get("id") if isinstance(campaign, dict) else None
    return notice(str(campaign_id), campaigns_dir) if campaign_id else None
