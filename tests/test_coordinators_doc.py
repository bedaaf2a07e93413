"""docs/coordinators.md: every JSON a coordinator pastes into the Web UI is accepted by the update
it is documented for, and every update of the workflows is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COORDINATORS_DOC = ROOT / "docs" / "coordinators.md"
_JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.S)
_UPDATE_NAME = re.compile(r"update `([a-z_]+)`")


def _update_models() -> dict[str, type[Any]]:
    """Update name → its input model, read from the workflow definitions themselves."""
    import typing

    from temporalio import workflow

    from ami.workflows.campaign import CampaignWorkflow
    from ami.workflows.candidature import CandidatureWorkflow

    models: dict[str, type[Any]] = {}
    for cls in (CandidatureWorkflow, CampaignWorkflow):
        defn = workflow._Definition.from_class(cls)
        assert defn is not None
        for name, definition in defn.updates.items():
            assert name is not None
            hints = typing.get_type_hints(definition.fn)
            models[name] = next(v for k, v in hints.items() if k not in ("self", "return"))
    return models


def test_every_json_of_the_coordinators_doc_is_accepted_by_its_update() -> None:
    from ami.models.campaign import load_campaign
    from ami.models.campaign_state import CampaignInput

    text = COORDINATORS_DOC.read_text(encoding="utf-8")
    models = _update_models()
    documented = set(_UPDATE_NAME.findall(text))
    assert documented == set(models), f"updates documentées {sorted(documented)} ≠ updates des workflows {sorted(models)}"
    blocks = list(_JSON_BLOCK.finditer(text))
    assert len(blocks) >= len(models) + 1
    campaign_inputs = 0
    for block in blocks:
        raw = block.group(1)
        if '"plan"' in raw:
            parsed = CampaignInput.model_validate_json(raw)
            assert parsed.plan == load_campaign(parsed.plan.id).plan(), "l'entrée de campagne du guide ne correspond plus au fichier TOML"
            campaign_inputs += 1
            continue
        before = _UPDATE_NAME.findall(text[: block.start()])
        assert before, f"bloc JSON sans update qui le précède : {raw[:80]}"
        models[before[-1]].model_validate_json(raw)  # the update's own model: unknown keys are refused
    assert campaign_inputs == 1
