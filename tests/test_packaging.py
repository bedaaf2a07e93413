"""The package installs normally (not only in editable mode): every resource under `ami/` is in the
wheel, and the installed package finds its campaign file, templates and examples from elsewhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_every_resource(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("ami-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        str(p.relative_to(ROOT)) for p in (ROOT / "ami").rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert sources - packed == set(), "declare them in [tool.setuptools.package-data]"


def test_resources_are_read_from_the_package_not_the_checkout(tmp_path: Path) -> None:
    probe = (
        "from ami.data import bundled; from ami.models.campaign import load_campaign; "
        "from ami.app.examples import example; from ami.infra.mail.render import BUNDLED; "
        "import ami; from pathlib import Path; root = Path(ami.__file__).parent; "
        "assert bundled('campaigns').is_relative_to(root) and BUNDLED.is_relative_to(root); "
        "load_campaign('ami-2024'); example('01-henin-carvin'); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
