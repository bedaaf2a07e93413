"""What every command shares: exit codes, French error output, running a coroutine, reaching Temporal."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from rich.console import Console
    from temporalio.client import Client

EXIT_OK, EXIT_INELIGIBLE, EXIT_MALFORMED, EXIT_REFUSED, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4

if TYPE_CHECKING:
    out: Console
    err: Console


def __getattr__(name: str) -> Console:
    """`out` and `err`, made on first use: `ami check` writes plain text and never imports rich."""
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in globals():  # called directly, after a first use
        made: Console = globals()[name]
        return made
    from rich.console import Console

    # No markup by default: what is printed comes from forms, the store and the server, and a name
    # holding « [/x] » must print as written, never be read as a rich tag (or crash the command).
    console = Console(stderr=name == "err", highlight=False, markup=False)
    globals()[name] = console
    return console


def fail(message: str, code: int) -> NoReturn:
    from rich.markup import escape

    __getattr__("err").print(f"[bold red]Erreur[/] : {escape(message)}", markup=True, soft_wrap=True)
    sys.exit(code)


def run(coro: Coroutine[Any, Any, int | None]) -> int:
    import asyncio

    try:
        return asyncio.run(coro) or 0
    except KeyboardInterrupt:
        __getattr__("err").print("Interrompu.")
        return 130


async def client_or_exit_code() -> Client | int:
    """A client of the configured Temporal server, or the exit code once the reason there is none is
    printed in French: 2 for a faulty configuration, 4 for a server that cannot be reached."""
    from ami.infra.client import ConnectionConfigError, connect, describe_target
    from ami.infra.settings import get_settings

    settings = get_settings()
    try:
        return await connect(settings)
    except ConnectionConfigError as error:
        __getattr__("err").print(f"Connexion Temporal mal configurée : {error}", markup=False)
        return EXIT_MALFORMED
    except RuntimeError as error:
        where = describe_target(settings)
        message = f"Serveur Temporal injoignable ({where}) : {error}. Lancez `ami dev` ou réglez AMI_TEMPORAL_ADDRESS."
        __getattr__("err").print(message, markup=False)
        return EXIT_UNAVAILABLE


def parse_instant(value: str, timezone: str = "Europe/Paris") -> datetime:
    """ISO 8601; a time without offset is read in the campaign's zone."""
    from zoneinfo import ZoneInfo

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"date invalide {value!r} (ISO 8601 attendu, par exemple 2024-09-08T23:30:00+02:00)", EXIT_MALFORMED)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))
