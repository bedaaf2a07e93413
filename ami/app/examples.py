"""The bundled example candidatures (real Hauts-de-France collectivités, fictional people)."""

from __future__ import annotations

from ami.data import bundled
from ami.infra.forms import load_form
from ami.models.candidature import CandidatureFile

EXAMPLES_DIR = bundled("examples")


def example(stem: str) -> CandidatureFile:
    return load_form(EXAMPLES_DIR / f"{stem}.yaml")
