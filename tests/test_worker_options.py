"""The worker keeps a bounded number of workflows in memory: parked candidatures are
evicted and replayed at their next task, so memory follows the active work. Sizes are in bench/."""

from __future__ import annotations

import pytest

from ami.infra.settings import Settings
from ami.worker.runner import WORKFLOWS, workflow_options


def test_the_workflow_cache_is_bounded_by_the_setting() -> None:
    assert Settings().max_cached_workflows == 100
    options = workflow_options(Settings(max_cached_workflows=7))
    assert options["max_cached_workflows"] == 7
    assert options["workflows"] == list(WORKFLOWS)


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_MAX_CACHED_WORKFLOWS", "0")  # 0: no cache, every task replays its history
    assert workflow_options(Settings())["max_cached_workflows"] == 0


def test_the_worker_releases_memory_on_a_period() -> None:
    import gc

    from ami.worker.runner import release_memory

    assert Settings().memory_release_seconds == 60
    assert Settings(memory_release_seconds=0).memory_release_seconds == 0

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    Cycle()
    gc.disable()
    try:
        Cycle()
        before = sum(isinstance(o, Cycle) for o in gc.get_objects())
        release_memory()
        after = sum(isinstance(o, Cycle) for o in gc.get_objects())
    finally:
        gc.enable()
    assert before >= 1 and after == 0
