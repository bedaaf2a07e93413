"""The audit log and the candidature projection, written once per transition."""

from __future__ import annotations

import asyncio

from temporalio import activity

from ami.settings import get_settings
from ami.store import Store, store_for
from models.messages import RecordFactInput, RecordTransitionInput
from models.tables import CandidatureRow, FactRow, TransitionRow


class RecordActivities:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store or store_for(get_settings().resolved_database_url())

    @activity.defn
    async def record_transition(self, input: RecordTransitionInput) -> bool:
        row = TransitionRow(
            workflow_id=input.workflow_id,
            sequence=input.sequence,
            source=input.source,
            dest=input.dest,
            trigger=input.trigger,
            actor=input.actor,
            justification=input.justification,
            at=input.at,
        )
        projection = CandidatureRow(
            workflow_id=input.workflow_id,
            campaign_id=input.campaign_id,
            receipt_number=input.receipt_number,
            official_name=input.official_name,
            kind=input.kind,
            departement=input.departement,
            state=input.dest,
            decision=input.decision.value if input.decision else None,
            form=input.form,
            updated_at=input.at,
        )
        return await asyncio.to_thread(self.store.record_transition, row, projection)

    @activity.defn
    async def record_fact(self, input: RecordFactInput) -> bool:
        row = FactRow(
            fact_id=input.fact_id,
            workflow_id=input.workflow_id,
            campaign_id=input.campaign_id,
            receipt_number=input.receipt_number,
            kind=input.kind,
            data=input.data,
            at=input.at,
        )
        return await asyncio.to_thread(self.store.record_fact, row)
