"""The bundled example candidatures (real Hauts-de-France collectivités, fictional people)."""

from __future__ import annotations

from pathlib import Path

from ami.forms import load_form
from models.candidature import CandidatureFile

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples" / "candidatures"


def example(stem: str) -> CandidatureFile:
    return load_form(EXAMPLES_DIR / f"{stem}.yaml")
