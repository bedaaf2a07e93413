"""Commands of this module are being built (see the issues); nothing is registered yet."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add this module's subcommands to `commands`."""
