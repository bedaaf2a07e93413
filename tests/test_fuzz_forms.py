"""The hostile-input fuzz (tests/fuzz_forms.py) at CI size: a few thousand cases, 0 tracebacks and
0 wrong exit codes. `make fuzz` runs 10,000 or more and prints the counts."""

from __future__ import annotations

import os

from tests.fuzz_forms import fuzz, report

CI_CASES = int(os.environ.get("AMI_FUZZ_CI_CASES", "2000"))


def test_hostile_forms_never_crash_ami_check_nor_ami_submit() -> None:
    # The summary PDF of one accepted form in ten (the slow part); `make fuzz` renders every one.
    tally = fuzz(CI_CASES, seed=int(os.environ.get("AMI_FUZZ_SEED", "1414")), pdf_every=10)
    summary = report(tally)
    assert tally.cases == CI_CASES
    assert tally.tracebacks == 0 and tally.wrong_exit == 0, summary
    assert tally.exits[2] > CI_CASES // 2 and tally.rendered > CI_CASES // 20, summary  # both paths exercised
