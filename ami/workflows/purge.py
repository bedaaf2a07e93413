"""The daily purge of personal data past its retention period: one activity, started by the Temporal Schedule `ami rgpd schedule` makes.

A workflow of its own, apart from the campaigns: its history holds identifiers and counts only, never
personal data, and its instant (`workflow.now()`) is the one the retention periods are measured at.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import AwareDatetime, BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ami.activities.rgpd import PurgeRequest, RgpdActivities
    from ami.activities.timeouts import DEFAULT_RETRY
    from ami.infra.purge import PurgeReport

PURGE_SCHEDULE_ID = "ami-rgpd-purge"
PURGE_WORKFLOW_ID = "ami-rgpd-purge"


class PurgeInput(BaseModel):
    dry_run: bool = False
    # The instant the periods are measured at; None (the schedule's runs): the workflow's own clock.
    at: AwareDatetime | None = None


@workflow.defn
class PurgeWorkflow:
    @workflow.run
    async def run(self, input: PurgeInput) -> PurgeReport:
        return await workflow.execute_activity_method(
            RgpdActivities.purge,
            PurgeRequest(at=input.at or workflow.now(), dry_run=input.dry_run),
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=DEFAULT_RETRY,
            summary="Purge RGPD : effacement de ce qui a passé sa durée de conservation",
        )
