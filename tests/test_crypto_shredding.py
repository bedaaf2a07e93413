"""Crypto-shredding: a data key per workflow, wrapped by the master keys; erasing a dossier
destroys its key, and master key rotation (re-wrapping) leaves every other dossier readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from ami.app.codec_server import CodecServer
from ami.infra.codec import DATA_KEY_METADATA, KEY_ID_METADATA, CodecError, EncryptionCodec, data_converter
from ami.infra.codec_settings import CodecSettings
from ami.infra.keystore import KeyStore, key_store_for
from ami.infra.store import store_for
from tests.test_codec import JSON, KEY_A, KEY_B, TOKEN, UI, call, decoded_texts, entry

A = "candidature-ami-2024-246200299"
B = "candidature-ami-2024-200041960"


@pytest.fixture
def keys(tmp_path: Path) -> KeyStore:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    store_for(url)  # migrated to head: the data_keys table exists
    return key_store_for(url)


def plain_json(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_each_workflow_gets_its_own_data_key(keys: KeyStore) -> None:
    codec = EncryptionCodec({"a": KEY_A}, "a", key_store=keys)
    in_a = codec.with_context(WorkflowSerializationContext(namespace="default", workflow_id=A))
    # An activity scheduled by A encrypts with A's key too.
    activity_of_a = codec.with_context(
        ActivitySerializationContext(
            namespace="default",
            activity_id="1",
            activity_type="x",
            activity_task_queue="q",
            workflow_id=A,
            workflow_type="W",
            is_local=False,
        )
    )
    in_b = codec.with_context(WorkflowSerializationContext(namespace="default", workflow_id=B))
    [pa] = await in_a.encode([plain("Sophie Lambert")])
    [pa2] = await activity_of_a.encode([plain("Martin Dubois")])
    [pb] = await in_b.encode([plain("Claire Petit")])
    assert KEY_ID_METADATA not in pa.metadata
    assert pa.metadata[DATA_KEY_METADATA] == pa2.metadata[DATA_KEY_METADATA] != pb.metadata[DATA_KEY_METADATA]
    assert b"Sophie" not in pa.data
    # The codec server has no context: the key id in the metadata is enough.
    server = EncryptionCodec({"a": KEY_A}, "a", key_store=key_store_for(str(keys.engine.url)))
    assert [p.data for p in await server.decode([pa, pa2, pb])] == [b"Sophie Lambert", b"Martin Dubois", b"Claire Petit"]
    # Without a context (a client call naming no workflow), the master key encrypts, as before.
    [legacy] = await codec.encode([plain("sans contexte")])
    assert legacy.metadata[KEY_ID_METADATA] == b"a"
    assert (await server.decode([legacy]))[0].data == b"sans contexte"


async def test_erasure_then_rotation_leaves_the_others_readable(keys: KeyStore) -> None:
    codec = EncryptionCodec({"a": KEY_A}, "a", key_store=keys)
    [pa] = await codec.with_context(WorkflowSerializationContext("default", A)).encode([plain("Sophie Lambert")])
    [pb] = await codec.with_context(WorkflowSerializationContext("default", B)).encode([plain("Claire Petit")])

    assert keys.destroy(A) == 1
    with pytest.raises(CodecError, match="dossier effacé"):
        await codec.decode([pa])
    # The row stays, without its key: the dated proof of the erasure.
    [proof] = keys.destroyed(A)
    assert proof.wrapped is None and proof.destroyed_at is not None

    # Rotation: b becomes the active master key, every live data key is re-wrapped, a is retired.
    both = EncryptionCodec({"a": KEY_A, "b": KEY_B}, "b", key_store=keys)
    assert keys.rewrap(both._ciphers, "b") == 1
    fresh = KeyStore(keys.engine)  # another process: nothing cached
    only_b = EncryptionCodec({"b": KEY_B}, "b", key_store=fresh)
    assert (await only_b.decode([pb]))[0].data == b"Claire Petit"
    with pytest.raises(CodecError, match="dossier effacé"):
        await only_b.decode([pa])
    # A signal sent to the erased workflow later gets a new key: never a crash, never the old key.
    [late] = await only_b.with_context(WorkflowSerializationContext("default", A)).encode([plain("tardif")])
    assert late.metadata[DATA_KEY_METADATA] != pa.metadata[DATA_KEY_METADATA]
    assert (await only_b.decode([late]))[0].data == b"tardif"


async def test_rotation_without_rewrap_names_the_missing_master_key(keys: KeyStore) -> None:
    codec = EncryptionCodec({"a": KEY_A}, "a", key_store=keys)
    [pa] = await codec.with_context(WorkflowSerializationContext("default", A)).encode([plain("x")])
    with pytest.raises(CodecError, match="clé maîtresse « a »"):
        await EncryptionCodec({"b": KEY_B}, "b", key_store=KeyStore(keys.engine)).decode([pa])


async def test_the_converter_propagates_the_context_to_the_codec(keys: KeyStore) -> None:
    converter = data_converter(CodecSettings(codec_keys=entry("a", KEY_A)), key_store=keys)
    scoped = converter.with_context(WorkflowSerializationContext("default", A))
    [payload] = await scoped.encode(["Sophie Lambert"])
    assert DATA_KEY_METADATA in payload.metadata
    assert await converter.decode([payload], [str]) == ["Sophie Lambert"]
    off = data_converter(CodecSettings(codec_keys=entry("a", KEY_A), codec_data_keys=False))
    [direct] = await off.with_context(WorkflowSerializationContext("default", A)).encode(["x"])
    assert direct.metadata[KEY_ID_METADATA] == b"a"


async def test_the_codec_server_decodes_live_dossiers_and_refuses_erased_ones(keys: KeyStore) -> None:
    worker = EncryptionCodec({"a": KEY_A}, "a", key_store=keys)
    [pa] = await worker.with_context(WorkflowSerializationContext("default", A)).encode([plain_json("Sophie Lambert")])
    [pb] = await worker.with_context(WorkflowSerializationContext("default", B)).encode([plain_json("Claire Petit")])
    keys.destroy(A)
    # The codec server: no workflow context, a process of its own (nothing cached).
    served = EncryptionCodec({"a": KEY_A}, "a", key_store=KeyStore(keys.engine))
    headers = {**JSON, "Authorization": f"Bearer {TOKEN}"}
    with CodecServer(served, TOKEN, frozenset({UI}), port=0) as server:
        status, _, answer = call(server, "POST", "/decode", json_format.MessageToJson(Payloads(payloads=[pb])).encode(), headers)
        assert status == 200 and decoded_texts(answer) == ["Claire Petit"]
        status, _, answer = call(server, "POST", "/decode", json_format.MessageToJson(Payloads(payloads=[pa])).encode(), headers)
        assert status == 400 and "dossier effacé" in json.loads(answer)["error"]
