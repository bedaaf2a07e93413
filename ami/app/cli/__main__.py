"""`python -m ami.app.cli`: the `ami` program."""

from ami.app.cli.main import entry

entry()
