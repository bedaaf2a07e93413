"""The workflow ids: derived from public identifiers only (the campaign id, the SIREN or INSEE code),
never from personal data. One place for the scheme, read by the workflows, the purge, the export
and the privacy notice."""

from __future__ import annotations

CAMPAIGN_PREFIX = "campaign-"
CANDIDATURE_PREFIX = "candidature-"


def campaign_workflow_id(campaign_id: str) -> str:
    return f"{CAMPAIGN_PREFIX}{campaign_id}"


def candidature_workflow_id(campaign_id: str, identifier: str) -> str:
    return f"{CANDIDATURE_PREFIX}{campaign_id}-{identifier}"


def campaign_of(workflow_id: str) -> str:
    """The campaign id of `candidature-<campaign>-<SIREN or INSEE>` (or of `campaign-<campaign>`)."""
    if workflow_id.startswith(CAMPAIGN_PREFIX):
        return workflow_id.removeprefix(CAMPAIGN_PREFIX)
    return workflow_id.removeprefix(CANDIDATURE_PREFIX).rsplit("-", 1)[0]
