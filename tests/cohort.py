"""A cohort of 15 valid candidatures from Hauts-de-France, and helpers to read the SMTP sink."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from ami.app.examples import example
from ami.app.ops import Coordination
from ami.domain.register import load_register
from ami.infra.mail.message import message_id
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.candidature import CandidatureFile
from tests.time_skipping import end_quietly

# The examples that are valid, distinct and identified by a SIREN (13-reims is outside the region,
# 02-mel-doublon and 07-laon-incomplet are variants of 02 and 07).
VALID_EXAMPLES = [
    "01-henin-carvin",
    "02-mel",
    "03-libercourt",
    "05-arras",
    "06-saint-quentinois",
    "07-laon",
    "08-beauvaisis",
    "09-compiegne",
    "10-amiens",
    "11-abbeville",
]


def cohort(size: int = 15) -> list[CandidatureFile]:
    """`size` distinct eligible forms: the examples, then copies of 01 for other EPCI of the region."""
    forms = [example(stem) for stem in VALID_EXAMPLES]
    used = {f.collectivite.identifier for f in forms}
    extra = sorted(
        (e for e in load_register().in_region("32") if e.kind in ("CA", "CU", "METRO", "CC") and e.siren and e.siren not in used),
        key=lambda e: e.siren or "",
    )
    base = example("01-henin-carvin")
    for entry in extra[: max(0, size - len(forms))]:
        collectivite = base.collectivite.model_copy(update={"siren": entry.siren, "name": entry.name})
        forms.append(base.model_copy(update={"collectivite": collectivite}))
    return forms[:size]


def read_mails(folder: Path) -> dict[str, EmailMessage]:
    """Every message the sink accepted, by Message-ID."""
    found: dict[str, EmailMessage] = {}
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found[str(message["Message-ID"]).strip()] = message
    return found


def expected_id(settings: Settings, workflow_id: str, purpose: str, occurrence: str = "1") -> str:
    """The Message-ID of that email, read from the outbox: it depends on the workflow's first run
    id, which the test does not know. An email never queued gets an id that matches nothing."""
    for row in store_for(settings.resolved_database_url()).emails(workflow_id):
        if row.purpose == purpose and row.occurrence == occurrence:
            return row.message_id
    return message_id(workflow_id, purpose, occurrence, settings.message_id_domain, "never-sent")


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def eventually(check: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll in real time (workers run activities in real time, even on the time-skipping server)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > end:
            raise AssertionError(f"délai dépassé en attendant : {what}")
        await asyncio.sleep(0.1)


async def terminate_all(coord: Coordination) -> None:
    """End a test's candidatures, then its campaign, each once quiet, while the worker still runs:
    a workflow terminated with a task outstanding, or left running without a worker, stops the
    shared time-skipping server from skipping time (tests/time_skipping.py)."""
    status = await coord.status()
    ids = [coord.candidature(entry.key).id for entry in status.candidatures]
    await end_quietly(coord.client, [*ids, coord.campaign.id])
