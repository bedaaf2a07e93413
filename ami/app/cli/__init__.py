"""The `ami` command line, for coordinators and operators. Each module of this package adds its subcommands."""

from ami.app.cli.main import main

__all__ = ["main"]
