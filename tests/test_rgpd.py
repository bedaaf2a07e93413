"""Personal data end to end: a campaign to its end, the export of one collectivité, the purge of what has
expired, a master key rotation between two purges, and the byte-wise search of every place.

Two collectivités: A (selected, through the cycle, capitalised) and B (not selected). At T1 (the
campaign over, B's period run, A's not) the purge erases B and the campaign's history; the master
key then rotates (re-wrap, old key dropped) and A's history stays readable. At T2 (past every
period) the purge erases A; the search then finds no name, email or phone in the store (the
database file itself), the data folder, the outbox, the documents, nor any history decoded with the
current keys, and the campaign's figures are those computed before the first purge.
"""

from __future__ import annotations

import base64
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from ami.app.examples import example
from ami.app.harness import start_time_skipping
from ami.app.ops import Coordination, start_campaign
from ami.app.rgpd_export import export_collectivite, payloads
from ami.infra.codec import DATA_KEY_METADATA, ENCODING, CodecError, EncryptionCodec, data_converter
from ami.infra.codec_settings import CodecSettings
from ami.infra.keystore import KeyStore, key_store_for
from ami.infra.purge import PurgeAction, PurgeReport
from ami.infra.settings import Settings
from ami.infra.statistics import campaign_figures
from ami.infra.store import Store, make_engine, normalise_url, store_for
from ami.models.campaign import CAMPAIGNS_DIR
from ami.models.tables import CandidatureRow, DataKeyRow, EmailRow
from ami.worker.runner import build_worker
from ami.workflows.campaign import campaign_workflow_id
from ami.workflows.candidature import candidature_workflow_id
from ami.workflows.purge import PurgeInput, PurgeWorkflow
from tests.rgpd_search import folder_places, found, history_places, readable, store_places
from tests.scenario import binome, plan_starting, skip_to
from tests.test_privacy import personal_data

K1 = "k1:" + base64.b64encode(bytes(range(1, 33))).decode()
K2 = "k2:" + base64.b64encode(bytes(range(40, 72))).decode()
A, B = example("01-henin-carvin"), example("02-mel")
SIREN_A, SIREN_B = "246200299", "200093201"
CAMPAIGN = "rgpd"
MARKS = {"motivation": 5, "binome": 5, "posture": 4, "adaptabilite": 4, "numerique": 4, "apport": 4}


@pytest.fixture
def rgpd_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The campaign file of the test's campaign (the shipped one under another id): retention and notice."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    shipped = (CAMPAIGNS_DIR / "ami-2024.toml").read_text(encoding="utf-8")
    (folder / f"{CAMPAIGN}.toml").write_text(re.sub(r'^id = "ami-2024"', f'id = "{CAMPAIGN}"', shipped, flags=re.M), encoding="utf-8")
    store_for(settings.resolved_database_url())
    return settings.model_copy(update={"campaigns_dir": folder})


@pytest.fixture
async def env(rgpd_settings: Settings) -> AsyncIterator[WorkflowEnvironment]:
    converter = data_converter(CodecSettings(codec_keys=K1), database_url=rgpd_settings.resolved_database_url())
    environment = await start_time_skipping(converter)
    try:
        yield environment
    finally:
        await environment.shutdown()


def codec(keys: str, active: str, url: str) -> EncryptionCodec:
    """A codec as a new process would build it: the current keys, nothing cached."""
    ring = CodecSettings(codec_keys=keys, codec_active_key=active).keyring()
    return EncryptionCodec(ring, active, key_store=KeyStore(make_engine(normalise_url(url))))


def scopes_of(history: WorkflowHistory, url: str) -> dict[str, set[str]]:
    """For each kind of event, the workflows whose data keys encrypted its payloads."""
    with Store(url).sessions() as session:
        scope = {row.key_id: row.scope for row in session.query(DataKeyRow)}
    found_: dict[str, set[str]] = {}
    for event in history.events:
        metadata = {p.data for p in payloads(event.user_metadata)} if event.HasField("user_metadata") else set()
        for payload in payloads(event):
            if payload.metadata.get("encoding") == ENCODING:
                # Every payload of these histories has a workflow context: none falls back to the master key.
                assert DATA_KEY_METADATA in payload.metadata, (event.event_type, dict(payload.metadata))
                name = EventType.Name(event.event_type) + ("/user_metadata" if payload.data in metadata else "")
                found_.setdefault(name, set()).add(scope[payload.metadata[DATA_KEY_METADATA].decode()])
    return found_


async def run_campaign(env: WorkflowEnvironment, settings: Settings) -> None:
    plan = plan_starting(await env.get_current_time(), id=CAMPAIGN, capacity=1, waitlist_size=0, quorum=1)
    handle = await start_campaign(env.client, plan, settings.task_queue, search_attributes=False)
    coord = Coordination(env.client, plan.id)
    await skip_to(env, plan.opens_at + timedelta(days=1))
    receipt_a = (await coord.submit(A)).receipt_number
    receipt_b = (await coord.submit(B)).receipt_number
    await skip_to(env, plan.deadline_at + timedelta(hours=1))
    await coord.score("apes", receipt_a, MARKS, comment=f"Binôme solide ({A.political_referent.name if A.political_referent else ''})")
    await coord.score("apes", receipt_b, {k: 1 for k in MARKS})
    await coord.deliberate()
    await skip_to(env, plan.response_at + timedelta(hours=1))
    await coord.confirm_binome(SIREN_A, *binome(A))
    for s in plan.sessions:
        await coord.set_session(s.number, s.window_start + timedelta(days=14, hours=14), "Lille, Maison de l'ESS")
    for s in plan.sessions:
        await skip_to(env, s.window_start + timedelta(days=14, hours=15))
        await coord.record_attendance(SIREN_A, s.number, True, s.number != 2)
        technician = A.technical_referent.name if A.technical_referent else ""
        await coord.record_feedback(SIREN_A, s.number, 4, f"Merci à {technician}, joignable au {A.collectivite.phone}")
    final = await handle.result()
    assert final.phase == "done"


async def purge(env: WorkflowEnvironment, settings: Settings, at: datetime, dry_run: bool = False) -> PurgeReport:
    # The instant is given: once the campaign has ended, the time-skipping server has already run its
    # clock years ahead (nothing left to wait for), so "now" cannot stand for T1.
    report: PurgeReport = await env.client.execute_workflow(
        PurgeWorkflow.run, PurgeInput(dry_run=dry_run, at=at), id=f"purge-{at:%Y%m%d}-{dry_run}", task_queue=settings.task_queue
    )
    assert report.at == at
    return report


async def test_purge_export_rotation_and_byte_wise_search(env: WorkflowEnvironment, rgpd_settings: Settings, tmp_path: Path) -> None:
    settings = rgpd_settings
    url = settings.resolved_database_url()
    store = Store(url)
    ids = [campaign_workflow_id(CAMPAIGN), candidature_workflow_id(CAMPAIGN, SIREN_A), candidature_workflow_id(CAMPAIGN, SIREN_B)]
    jury = " ".join(m.name for m in plan_starting(await env.get_current_time()).jury)
    # Single first or last names that a jury member shares ("Martin") are not the applicants' data.
    needles_a = {n for n in personal_data(A) if n not in jury}
    needles_b = {n for n in personal_data(B) if n not in jury}
    assert {"Sophie Lambert", "elu.henin-carvin@example.org"} <= needles_a and "Nadia Haddad" in needles_b

    async with build_worker(env.client, settings):
        await run_campaign(env, settings)
        figures = campaign_figures(store, CAMPAIGN)
        assert figures["decisions"] == {"selected": 1, "not_selected": 1} and figures["states"] == {"capitalised": 1, "closed": 1}

        # The control: the search finds both collectivités' people in every kind of place.
        k1 = codec(K1, "k1", url)
        places = {
            "store": list(store_places(store)),
            "data": list(folder_places(settings.data_dir)),
            "histories": await history_places(env.client, ids, k1),
        }
        database = Path(url.removeprefix("sqlite:///"))
        places["database file"] = [(str(p), p.read_bytes()) for p in database.parent.glob(database.name + "*")]
        for kind, items in places.items():
            assert any(found(needles_a, blob) for _, blob in items), kind
            assert any(found(needles_b, blob) for _, blob in items), kind

        # The SDK's serialization context, as docs/privacy.md says: a candidature's history is all in its
        # own key; in the campaign's, a child's start input and the signals to it are in the child's key.
        histories = {wid: await env.client.get_workflow_handle(wid).fetch_history() for wid in ids}
        for wid in ids[1:]:
            mine = scopes_of(histories[wid], url)
            # Its reports to the campaign are signals to another workflow: in the campaign's key.
            assert mine.pop("EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED") == {ids[0]}
            # The summary and details the campaign gave its child at its start are the campaign's payloads.
            assert mine.pop("EVENT_TYPE_WORKFLOW_EXECUTION_STARTED/user_metadata") == {ids[0]}
            assert set().union(*mine.values()) == {wid}, mine
        campaign_scopes = scopes_of(histories[ids[0]], url)
        assert campaign_scopes["EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED"] == {ids[1], ids[2]}
        assert campaign_scopes["EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED"] <= {ids[1], ids[2]}
        assert campaign_scopes["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"] == {ids[0]}  # the forms, by update

        # The export of A holds every occurrence of A's people, and nothing of B's.
        archive = tmp_path / "export.zip"
        result = await export_collectivite(SIREN_A, store, env.client, archive)
        assert result.dossiers == [ids[1]] and not result.notes
        exported = readable(archive.read_bytes())
        everywhere = set().union(*(found(needles_a, blob) for items in places.values() for _, blob in items))
        assert everywhere and everywhere <= found(needles_a, exported), everywhere - found(needles_a, exported)
        assert not found(needles_b, exported)
        with zipfile.ZipFile(archive) as z:
            sent_a = [e.raw for e in store.emails(ids[1])]
            assert sorted(z.read(n) for n in z.namelist() if n.endswith(".eml")) == sorted(sent_a)
            files_a = [Path(d.path).read_bytes() for d in store.documents(ids[1])]
            assert files_a and sorted(z.read(n) for n in z.namelist() if "/documents/" in n) == sorted(files_a)

        # T1: the campaign is over and B's period has run, A's has not.
        capitalised = next(c for c in store.candidatures(CAMPAIGN) if c.state == "capitalised").updated_at
        t1 = capitalised + timedelta(days=7)
        dry = await purge(env, settings, t1, dry_run=True)
        assert {(line.action, line.target) for line in dry.lines if line.action != PurgeAction.MESSAGE} == {
            (PurgeAction.DOSSIER, ids[2]),
            (PurgeAction.CAMPAIGN_HISTORY, ids[0]),
        }
        assert all(c.erased_at is None for c in store.candidatures(CAMPAIGN)), "la simulation n'efface rien"
        first = await purge(env, settings, t1)
        assert first.keys_destroyed >= 2 and first.count(PurgeAction.MESSAGE) == dry.count(PurgeAction.MESSAGE) > 0

        # Rotation after that erasure: k2 encrypts, every live data key is re-wrapped, k1 is dropped.
        assert key_store_for(url).rewrap({k: AESGCM(v) for k, v in CodecSettings(codec_keys=f"{K1},{K2}").keyring().items()}, "k2") > 0
        k2 = codec(K2, "k2", url)
        history_a = await history_places(env.client, [ids[1]], k2)
        assert found(needles_a, "\n".join(t for _, t in history_a)), "le dossier A reste lisible après la rotation"
        history_b = await env.client.get_workflow_handle(ids[2]).fetch_history()
        with pytest.raises(CodecError, match="dossier effacé"):
            k2.decrypt(next(p for e in history_b.events for p in payloads(e) if DATA_KEY_METADATA in p.metadata))

        # T2: past every period.
        second = await purge(env, settings, capitalised + timedelta(days=31 * 25))
        assert (PurgeAction.DOSSIER, ids[1]) in {(line.action, line.target) for line in second.lines}

        # The byte-wise search: nothing left anywhere, decoded with the current keys.
        store.engine.dispose()
        everything = [
            *store_places(store),
            *folder_places(settings.data_dir),
            *[(str(p), p.read_bytes()) for p in database.parent.glob(database.name + "*")],
            *await history_places(env.client, ids, codec(K2, "k2", url)),
        ]
        leaks = {place: found(needles_a | needles_b, blob) for place, blob in everything}
        assert not {place: hit for place, hit in leaks.items() if hit}

    # The rows stay (statistics, proof of sending), the personal fields do not.
    assert campaign_figures(store, CAMPAIGN) == figures
    with store.sessions() as session:
        assert all(row.erased_at is not None for row in session.query(CandidatureRow))
        assert all(row.raw == b"" and row.erased_at is not None for row in session.query(EmailRow))
