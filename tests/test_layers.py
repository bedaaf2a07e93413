"""The layers: declared in pyproject.toml, enforced by import-linter, pictured in the docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.layers_diagram import ROOT, crossings, declared_layers, diagram

ARCHITECTURE = ROOT / "docs" / "architecture.md"


def test_docs_show_the_generated_layers_picture() -> None:
    assert diagram() in ARCHITECTURE.read_text(encoding="utf-8"), "regenerate it with `.venv/bin/python -m tests.layers_diagram`"


def test_every_import_between_layers_goes_down() -> None:
    layers = declared_layers()
    upward = [(s, t) for s, t in crossings(layers) if layers.index(s) > layers.index(t)]
    assert not upward, upward


def test_import_linter_keeps_the_contract() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 kept, 0 broken" in result.stdout
