"""The receipt's summary PDF writes the time of receipt in the campaign's time zone, not Paris's."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.models.documents import SummaryDocInput
from tests.workflows.protocol_harness import ELIGIBLE, campaign


@pytest.fixture
async def time_env(own_time_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return own_time_env


async def test_the_summary_receives_the_campaigns_time_zone(time_env: WorkflowEnvironment) -> None:
    form = example(ELIGIBLE[0])
    async with campaign(time_env, timezone="Indian/Reunion") as run:
        await run.coord.submit(form)
        await run.until_candidature(form.collectivite.identifier, lambda s: s.state == "eligibility_checked", "éligible")
        summaries = [d for d in run.fakes.documents if d.kind == "summary"]
        assert len(summaries) == 1
        assert SummaryDocInput.model_validate(summaries[0].data).timezone == "Indian/Reunion"
