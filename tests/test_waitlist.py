"""A withdrawal before the first session promotes the first waitlisted collectivité."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from ami.examples import example
from ami.ops import Coordination, start_campaign
from ami.settings import Settings
from models.values import Decision
from tests.scenario import FULL_MARKS, binome, marks, plan_starting, skip_to
from worker import build_worker


async def test_withdrawal_promotes_first_waitlisted(time_env: WorkflowEnvironment, settings: Settings) -> None:
    env = time_env
    plan = plan_starting(await env.get_current_time(), id="waitlist", capacity=1, waitlist_size=1, quorum=1)
    stems = ["01-henin-carvin", "02-mel", "03-libercourt"]
    async with build_worker(env.client, settings):
        handle = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        receipts = {}
        for stem in stems:
            form = example(stem)
            receipts[form.collectivite.identifier] = (await coord.submit(form)).receipt_number
        await skip_to(env, plan.deadline_at + timedelta(hours=1))
        for n, receipt in enumerate(receipts.values()):
            await coord.score("apes", receipt, marks(5 - n))
        result = await coord.deliberate()
        assert [r.decision for r in result.ranking] == [Decision.SELECTED, Decision.WAITLISTED, Decision.NOT_SELECTED]
        await skip_to(env, plan.response_at + timedelta(hours=1))
        first, second, third = receipts
        await coord.withdraw(first, "La collectivité renonce.")
        await skip_to(env, plan.response_at + timedelta(days=2))
        promoted = await coord.candidature_status(second)
        assert promoted.decision is Decision.SELECTED, promoted
        assert [t.trigger for t in promoted.transitions][-1] == "promote"
        await coord.confirm_binome(second, *binome(example("02-mel")))
        assert (await coord.candidature_status(third)).state == "closed"
        await handle.terminate("fin du test")
    assert FULL_MARKS
