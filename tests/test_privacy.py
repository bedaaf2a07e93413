"""Privacy: no personal data of a form reaches the Temporal server in clear text.

A whole candidature lifecycle runs on the time-skipping server with the encrypting converter;
then its raw histories are read without the codec and searched for every name, email and phone
number of the form. The same search on the histories decrypted with the codec must find them,
which proves the search would catch a leak.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.harness import start_time_skipping
from ami.app.ops import Coordination, start_campaign
from ami.app.rgpd_export import children
from ami.infra.codec import ENCODING, EncryptionCodec, data_converter
from ami.infra.codec_settings import CodecSettings
from ami.infra.settings import Settings
from ami.infra.store import store_for
from ami.models.candidature import CandidatureFile
from ami.worker.runner import build_worker
from ami.workflows.campaign import campaign_workflow_id
from ami.workflows.candidature import candidature_workflow_id
from tests.scenario import binome, plan_starting, skip_to

TEST_KEYS = CodecSettings(codec_keys="test-privacy:" + base64.b64encode(bytes(range(100, 132))).decode())
FORM = example("01-henin-carvin")
SIREN = "246200299"


def personal_data(form: CandidatureFile) -> set[str]:
    """Every name, email and phone number of the form, with the usual spellings of the phones."""
    people = [p for p in (form.political_referent, form.technical_referent, form.contact_point) if p]
    texts = [form.collectivite.email] + [t for p in people for t in (p.name, p.email)]
    found: set[str] = {t for t in texts if t}
    phones = [form.collectivite.phone] + [p.phone for p in people]
    for person in people:
        found |= set((person.name or "").split())  # first and last names on their own
    for phone in filter(None, phones):
        digits = re.sub(r"\D", "", phone)
        found |= {phone, digits, "0" + digits[2:] if digits.startswith("33") else digits}
    return {text for text in found if len(text) >= 4}


def walk(message: Message, inside_search_attributes: bool = False) -> Iterator[tuple[Payload, bool]]:
    """Every Payload of a protobuf message, and whether it is a search attribute value (indexed, never encrypted)."""
    if isinstance(message, Payload):
        yield message, inside_search_attributes
        return
    searchable = inside_search_attributes or message.DESCRIPTOR.full_name == "temporal.api.common.v1.SearchAttributes"
    for child in children(message):
        yield from walk(child, searchable)


def core_written(event: HistoryEvent) -> list[Payload]:
    """The payloads the SDK's core writes itself, never through the codec: the patch id of a
    `workflow.patched` marker, and the bookkeeping of a local activity's marker (its sequence number,
    attempt, activity type and instants; its result, beside them, goes through the codec)."""
    if not event.HasField("marker_recorded_event_attributes"):
        return []
    marker = event.marker_recorded_event_attributes
    if marker.marker_name == "core_patch":
        return [p for details in marker.details.values() for p in details.payloads]
    if marker.marker_name == "core_local_activity":
        return list(marker.details["data"].payloads)
    return []


def raw_text(history: WorkflowHistory) -> str:
    """What a reader of the server's storage can see: the JSON export plus the raw bytes of every event."""
    raw = b"".join(event.SerializeToString() for event in history.events)
    return history.to_json() + raw.decode("utf-8", "replace")


async def decoded_text(history: WorkflowHistory, codec: EncryptionCodec) -> str:
    """The control: the same history with every encrypted payload decrypted."""
    parts = []
    for event in history.events:
        for payload, _ in walk(event):
            parts.append((await codec.decode([payload]))[0].data.decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def keys_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The database of the data keys (one per workflow), shared by the client and the control."""
    url = f"sqlite:///{tmp_path_factory.mktemp('keys') / 'keys.db'}"
    store_for(url)
    return url


@pytest.fixture(scope="module")
async def private_env(keys_url: str) -> AsyncIterator[WorkflowEnvironment]:
    env = await start_time_skipping(data_converter(TEST_KEYS, database_url=keys_url))
    try:
        yield env
    finally:
        await env.shutdown()


async def run_lifecycle(env: WorkflowEnvironment, settings: Settings) -> list[str]:
    """One candidature from submission to capitalisation; returns the ids of every workflow it used."""
    plan = plan_starting(await env.get_current_time(), id="privacy", capacity=1, quorum=1)
    async with build_worker(env.client, settings):
        handle = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
        coord = Coordination(env.client, plan.id)
        await skip_to(env, plan.opens_at + timedelta(days=1))
        result = await coord.submit(FORM)
        await skip_to(env, plan.deadline_at + timedelta(hours=1))
        await coord.score(
            "apes", result.receipt_number, {"motivation": 5, "binome": 5, "posture": 4, "adaptabilite": 4, "numerique": 4, "apport": 4}
        )
        await coord.deliberate()
        await skip_to(env, plan.response_at + timedelta(hours=1))
        await coord.confirm_binome(SIREN, *binome(FORM))
        for s in plan.sessions:
            await coord.set_session(s.number, s.window_start + timedelta(days=14, hours=14), "Lille, Maison de l'ESS")
        for s in plan.sessions:
            await skip_to(env, s.window_start + timedelta(days=14, hours=15))
            await coord.record_attendance(SIREN, s.number, True, True)
            await coord.record_feedback(SIREN, s.number, 4, f"Merci à {FORM.technical_referent.name if FORM.technical_referent else ''}")
        final = await handle.result()
        assert final.phase == "done"
        assert (await coord.candidature_status(SIREN)).state == "capitalised"
        return [campaign_workflow_id(plan.id)] + [candidature_workflow_id(plan.id, entry.key) for entry in final.candidatures]


async def test_histories_hold_no_personal_data_in_clear(
    private_env: WorkflowEnvironment, keys_url: str, settings: Settings, sink: object
) -> None:
    ids = await run_lifecycle(private_env, settings)
    assert ids == [campaign_workflow_id("privacy"), candidature_workflow_id("privacy", SIREN)]

    # A client without the codec: what the server, its database and a Web UI without codec server hold.
    raw_client = await Client.connect(private_env.client.service_client.config.target_host, namespace=private_env.client.namespace)
    codec = data_converter(TEST_KEYS, database_url=keys_url).payload_codec
    assert isinstance(codec, EncryptionCodec)
    needles = personal_data(FORM)
    assert {"Sophie Lambert", "elu.henin-carvin@example.org", "+33 3 21 00 00 00"} <= needles

    for workflow_id in ids:
        history = await raw_client.get_workflow_handle(workflow_id).fetch_history()
        # Ids are built from public identifiers only (campaign, SIREN).
        assert not any(n in workflow_id for n in needles), workflow_id

        clear = raw_text(history)
        leaks = sorted(n for n in needles if n in clear)
        assert not leaks, f"{workflow_id} : données personnelles en clair dans l'historique : {leaks}"

        # Every payload is encrypted, save search attribute values, which must stay indexable in clear,
        # and what the SDK's core writes itself (core_written)…
        payloads = [(p, searchable) for event in history.events for p, searchable in walk(event) if p not in core_written(event)]
        assert payloads, workflow_id
        # …the journal's rows are local activities: their results, in their markers, are encrypted.
        assert any(e.marker_recorded_event_attributes.marker_name == "core_local_activity" for e in history.events), workflow_id
        for payload, searchable in payloads:
            if searchable:
                # …and therefore hold no personal data at all.
                assert not any(n.encode() in payload.data for n in needles), payload
            else:
                assert payload.metadata["encoding"] == ENCODING, payload.metadata

        # The control: decrypted, the same history does carry the form (the campaign receives it by update).
        if workflow_id == campaign_workflow_id("privacy"):
            decoded = await decoded_text(history, codec)
            assert {"Sophie Lambert", "Martin Dubois", "elu.henin-carvin@example.org", "+33 3 21 00 00 00"} <= {
                n for n in needles if n in decoded
            }


def test_search_attributes_are_identifiers_only() -> None:
    # Search attribute values are stored and indexed in clear by the server: only ids, states, codes,
    # and the instant of a deadline the call itself publishes (no free text, nothing typed by a person).
    from ami.models import search_attributes as sa

    keywords = {"AmiCampaign", "AmiState", "AmiDecision", "AmiDepartement", "AmiKind", "AmiReceipt"}
    assert {key.name for key in sa.ALL} == keywords | {"AmiNextDeadline"}
    assert all(key.indexed_value_type.name == ("KEYWORD" if key.name in keywords else "DATETIME") for key in sa.ALL)
