"""The `ami` command line, for coordinators and operators. Each module of this package adds its
subcommands; `ami.app.cli.main` builds the parser and is the program (`entry`).

This package imports nothing itself, so that `python -m ami.app.cli.main` runs that module once."""
