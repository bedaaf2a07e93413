"""The resources shipped inside the package: campaign files, email templates, example candidatures,
the register. Read through `importlib.resources`, so an installed package (not only an editable
checkout) finds them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled(*parts: str) -> Path:
    """A directory or file of the package's data, as a path (the package is installed unzipped)."""
    return Path(str(resources.files(__name__).joinpath(*parts)))
