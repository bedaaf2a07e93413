"""The purge activity (RGPD): erase what has passed its retention period, everywhere.

The instant comes from the workflow (`workflow.now()`), so the purge follows the Temporal clock: a
test moves it past every period on the time-skipping server. Which campaigns are still running is
asked of the Temporal server itself (the campaign workflow's status), through the activity's client.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from ami.activities.base import StoreActivities
from ami.activities.store_calls import store_call
from ami.infra.keystore import key_store_for
from ami.infra.purge import PurgeReport, apply, campaign_ids, plan
from ami.infra.settings import Settings
from ami.infra.store import Store
from ami.models.workflow_ids import campaign_workflow_id


class PurgeRequest(BaseModel):
    at: AwareDatetime
    dry_run: bool = False


async def running_campaigns(client: Client, ids: list[str]) -> set[str]:
    """The campaigns whose workflow is open on the server (one not found there is over)."""
    running = set()
    for cid in ids:
        try:
            described = await client.get_workflow_handle(campaign_workflow_id(cid)).describe()
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                continue
            raise
        if described.status == WorkflowExecutionStatus.RUNNING:
            running.add(cid)
    return running


async def run_purge(client: Client, settings: Settings, store: Store, request: PurgeRequest) -> PurgeReport:
    """Plan, then apply unless `dry_run`: the activity and `ami rgpd purge` share it."""
    keys = key_store_for(store.url)
    ids = await store_call(campaign_ids, store)
    running = await running_campaigns(client, ids)
    live = await store_call(keys.live_scopes)
    report = await store_call(plan, store, settings.campaigns_dir, request.at, running, live, request.dry_run)
    if request.dry_run:
        return report
    return await store_call(apply, report, store, keys)


class RgpdActivities(StoreActivities):
    @activity.defn
    async def purge(self, input: PurgeRequest) -> PurgeReport:
        report = await run_purge(activity.client(), self.settings, self.store, input)
        activity.logger.info("purge", extra={"lines": len(report.lines), "files": report.files_deleted, "keys": report.keys_destroyed})
        return report
