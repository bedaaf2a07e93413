"""The right to erasure on a running dossier: a referent who left is forgotten by the workflow."""

from __future__ import annotations

import pytest
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.ops import Refused
from tests.workflows.protocol_harness import ELIGIBLE, campaign


async def test_a_referent_is_forgotten_and_the_coordinators_told_when_none_is_left(time_env: WorkflowEnvironment) -> None:
    form = example(ELIGIBLE[0])
    key = form.collectivite.identifier
    assert form.political_referent and form.technical_referent
    political, technical = form.political_referent.email, form.technical_referent.email
    assert political and technical
    async with campaign(time_env) as run:
        await run.coord.submit(form)
        await run.until_candidature(key, lambda s: s.state == "eligibility_checked", "éligible")
        with pytest.raises(Refused, match="ne figure pas parmi les contacts"):
            await run.coord.forget_contact(key, "personne@example.org")
        with pytest.raises(Refused, match="adresse est celle de la collectivité"):
            await run.coord.forget_contact(key, form.collectivite.email)
        first = await run.coord.forget_contact(key, political.upper())
        assert first.forgotten == 1 and "coord_no_referent" not in run.fakes.sent(run.wf(key))
        second = await run.coord.forget_contact(key, technical)
        assert second.forgotten == 1
        assert run.fakes.sent(run.wf(key), "coord_no_referent") == ["coord_no_referent"]
        # The next email to the collectivité no longer goes to the people erased.
        await run.coord.withdraw(key, "La collectivité renonce.")
        withdrawn = [e for e in run.fakes.emails if e.workflow_id == run.wf(key) and e.purpose == "withdrawn"]
        assert withdrawn and political not in withdrawn[0].to and technical not in withdrawn[0].to
