"""Supply chain: the image installs pinned versions (constraints.txt), the floors exclude
the releases with known vulnerabilities, and the image's Python has the email fix."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt : « {line} » n'est pas épinglé (nom==version)"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_constraints_pin_every_dependency_within_its_range() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} absent de constraints.txt : lancez `make constraints`"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} hors de {requirement.specifier}"


def test_floors_exclude_vulnerable_releases() -> None:
    floors = {canonicalize_name(r.name): r.specifier for r in _requirements()}
    for name, vulnerable in (("jinja2", "3.1.5"), ("cryptography", "44.0.0"), ("pyjwt", "2.10.0")):
        assert not floors[name].contains(vulnerable), f"{name} {vulnerable} (vulnérable) est encore admis"
    assert _pins()["jinja2"] in SpecifierSet(">=3.1.6")


def test_image_installs_the_constraints_on_a_patched_python() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM python:(\d+)\.(\d+)\.(\d+)-slim", dockerfile, re.MULTILINE)
    assert base is not None
    version = tuple(int(part) for part in base.groups())
    assert version >= (3, 11, 10) and (version[:2] != (3, 12) or version >= (3, 12, 5))  # CVE-2024-6923
    assert "COPY pyproject.toml README.md constraints.txt" in dockerfile
    assert "pip install --constraint constraints.txt" in dockerfile
