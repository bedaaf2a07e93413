"""The hostile-input fuzz (tests/fuzz_forms.py) at CI size: a few thousand cases, 0 tracebacks and
0 wrong exit codes. `make fuzz` runs 10,000 or more and prints the counts."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ami.models.candidature import CandidatureFile
from tests.fuzz_forms import fuzz, report

CI_CASES = int(os.environ.get("AMI_FUZZ_CI_CASES", "2000"))


def test_hostile_forms_never_crash_ami_check_nor_ami_submit() -> None:
    # The summary PDF and the XLSX of one accepted form in ten (the slow part); `make fuzz` renders every one.
    tally = fuzz(CI_CASES, seed=int(os.environ.get("AMI_FUZZ_SEED", "1414")), pdf_every=10)
    summary = report(tally)
    assert tally.cases == CI_CASES
    assert tally.tracebacks == 0 and tally.wrong_exit == 0, summary
    assert tally.exits[2] > CI_CASES // 2 and tally.rendered > CI_CASES // 20, summary  # both paths exercised


# The model alone, by Hypothesis: any text in a one-line field is refused with the field named, or
# accepted without a control character, a lone surrogate or an encoded word (surrogates included).

ANY_CHARACTER = st.characters(codec=None, categories=None)


@settings(max_examples=300, deadline=None)
@given(st.text(ANY_CHARACTER, max_size=40) | st.sampled_from(["=?utf-8?q?x?=", "a\x1bb", "\ud800", "x\x85y"]))
def test_one_line_fields_hold_no_control_surrogate_nor_encoded_word(text: str) -> None:
    raw = {"collectivite": {"name": text, "siren": "246200299", "email": "a@b.fr"}}
    try:
        form = CandidatureFile.model_validate(raw)
    except ValidationError as error:
        assert [e["loc"] for e in error.errors()] == [("collectivite", "name")]
        return
    name = form.collectivite.name
    assert "=?" not in name
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in name)
