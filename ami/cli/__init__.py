"""The `ami` command line (SPEC §9). Each module of this package adds its subcommands."""

from ami.cli.main import main

__all__ = ["main"]
