"""Findings of the security review: plaintext refused when encryption is required, a bounded codec server
that never logs the path, and per-user OIDC tokens instead of the shared one. Each test failed on
the code before the fix."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from temporalio.api.common.v1 import Payload

from ami.app.codec_server import CodecServer
from ami.infra.codec import CodecError, EncryptionCodec, codec_from_settings, data_converter
from ami.infra.codec_auth import UserTokenVerifier, verifier_from_settings
from ami.infra.codec_settings import CodecSettings
from tests.test_codec import JSON, KEY_A, TOKEN, UI, call, encrypted_body, entry, plain

ISSUER, AUDIENCE = "https://sso.example.org/realms/apes", "ami-codec"


def required(**more: Any) -> CodecSettings:
    return CodecSettings(codec_keys=entry("a", KEY_A), codec_required=True, **more)  # type: ignore[arg-type]


# --- 4. plaintext refused when encryption is required ------------------------------------------------


async def test_worker_converter_refuses_plaintext_when_required() -> None:
    hand_written = Payload(metadata={"encoding": b"json/plain"}, data=b'{"member": "x", "scores": {"motivation": 5}}')
    with pytest.raises(CodecError, match="non chiffré"):
        await data_converter(required()).payload_codec.decode([hand_written])  # type: ignore[union-attr]
    sealed = await EncryptionCodec({"a": KEY_A}, "a").encode([plain("chiffré")])
    assert await data_converter(required()).payload_codec.decode(sealed) == [plain("chiffré")]  # type: ignore[union-attr]


async def test_replayer_and_codec_server_still_read_plaintext() -> None:
    codec = codec_from_settings(required(), allow_plaintext=True)
    assert codec is not None and await codec.decode([plain("historique enregistré en clair")]) == [plain("historique enregistré en clair")]


def test_replay_converter_allows_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    from ami.app import replay
    from ami.infra import codec_settings

    monkeypatch.setattr(codec_settings, "get_codec_settings", lambda: required())
    monkeypatch.setattr("ami.infra.codec.get_codec_settings", lambda: required())
    converter = replay.data_converter()
    assert converter.payload_codec is not None and not converter.payload_codec.refuse_plaintext  # type: ignore[attr-defined]


# --- 8. a bounded codec server ------------------------------------------------------------------------


@pytest.fixture
def small_server() -> Iterator[CodecServer]:
    with CodecServer(EncryptionCodec({"a": KEY_A}, "a"), TOKEN, frozenset({UI}), port=0, timeout=2, max_connections=4) as running:
        yield running


def test_idle_connections_are_bounded_and_closed(small_server: CodecServer) -> None:
    before = threading.active_count()
    idle = [socket.create_connection((small_server.host, small_server.port)) for _ in range(40)]
    try:
        time.sleep(0.3)
        assert threading.active_count() - before <= 4  # one thread per served connection, never more
        answers = []
        for connection in idle:
            connection.settimeout(15)
            answers.append(connection.recv(100))  # never blocks for good: each one is answered or closed
    finally:
        for connection in idle:
            connection.close()
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503")]
    assert refused and all(a in (b"", refused[0]) for a in answers)  # 503 beyond the slots, else closed when idle
    assert len(refused) >= 40 - 4 * 3  # a slot frees only after its idle connection timed out
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    status, _, _ = call(small_server, "POST", "/decode", b"{}", {**JSON, "Authorization": f"Bearer {TOKEN}"})
    assert status == 200  # the slots are free again


def test_the_path_is_never_logged(small_server: CodecServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.create_connection((small_server.host, small_server.port)) as raw:
        raw.sendall(f"POST /{TOKEN}/decode HTTP/1.1 en trop\r\n\r\n".encode())
        raw.settimeout(5)
        assert b"400" in raw.recv(200)
    call(small_server, "POST", f"/{TOKEN}/decode", b"{}", JSON)
    call(small_server, "GET", f"/{TOKEN}/inconnu")
    text = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert caplog.records and TOKEN not in text and "/decode" not in text


# --- 4. per-user tokens (OIDC) --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_file(tmp_path: Path, signing_key: rsa.RSAPrivateKey) -> Path:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}), encoding="utf-8")
    return path


def token(key: Any, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "coordinatrice", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def hs256(secret: bytes) -> str:
    """The algorithm-confusion attack: HMAC signed with the (public) verification key as secret."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    signing_input = (
        part({"alg": "HS256", "kid": "k1"}) + "." + part({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 300})
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


@pytest.fixture
def oidc_server(jwks_file: Path) -> Iterator[CodecServer]:
    settings = CodecSettings(codec_server_oidc_issuer=ISSUER, codec_server_oidc_audience=AUDIENCE, codec_server_oidc_jwks=str(jwks_file))
    verifier = verifier_from_settings(settings)
    assert isinstance(verifier, UserTokenVerifier)
    with CodecServer(EncryptionCodec({"a": KEY_A}, "a"), "", frozenset({UI}), port=0, verifier=verifier) as running:
        yield running


async def test_user_token_decodes(oidc_server: CodecServer, signing_key: rsa.RSAPrivateKey) -> None:
    body = await encrypted_body("Sophie Lambert")
    status, _, answer = call(oidc_server, "POST", "/decode", body, {**JSON, "Authorization": f"Bearer {token(signing_key)}", "Origin": UI})
    assert status == 200, answer


@pytest.mark.parametrize("case", ["expired", "audience", "issuer", "other_key", "hs256_with_public_key", "none", "shared_token", "in_path"])
async def test_user_token_refused(oidc_server: CodecServer, signing_key: rsa.RSAPrivateKey, jwks_file: Path, case: str) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = jwks_file.read_bytes()
    path = "/decode"
    value = {
        "expired": lambda: token(signing_key, exp=int(time.time()) - 3600),
        "audience": lambda: token(signing_key, aud="autre"),
        "issuer": lambda: token(signing_key, iss="https://evil.example"),
        "other_key": lambda: token(other),
        "hs256_with_public_key": lambda: hs256(public_pem),
        "none": lambda: jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 300}, None, algorithm="none"),
        "shared_token": lambda: TOKEN,
        "in_path": lambda: "",
    }[case]()
    if case == "in_path":
        path = f"/{token(signing_key)}/decode"
    status, _, _ = call(oidc_server, "POST", path, await encrypted_body("x"), {**JSON, "Authorization": f"Bearer {value}"})
    assert status == 401


# --- 4. end to end: a worker that requires encryption ---------------------------------------------------


async def test_required_encryption_end_to_end(settings: Any, sink: object) -> None:
    """A whole lifecycle runs with AMI_CODEC_REQUIRED (nothing the engine sends is in clear), and a
    workflow started by hand with a clear-text input is refused by the worker, never run."""
    import asyncio

    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from ami.app.harness import start_time_skipping
    from ami.infra.store import store_for
    from ami.models.campaign_state import CampaignInput
    from ami.worker.runner import build_worker
    from tests.scenario import plan_starting
    from tests.test_privacy import TEST_KEYS, run_lifecycle

    keys = CodecSettings(codec_keys=TEST_KEYS.codec_keys, codec_required=True)
    keys_url = settings.resolved_database_url()  # the data keys (one per workflow) live in the store
    store_for(keys_url)
    env = await start_time_skipping(data_converter(keys, database_url=keys_url))
    try:
        assert len(await run_lifecycle(env, settings)) == 2
        # A valid campaign input, but as clear-text JSON (no key): the code before the fix started it.
        raw = await Client.connect(
            env.client.service_client.config.target_host, namespace=env.client.namespace, data_converter=pydantic_data_converter
        )
        plan = plan_starting(await env.get_current_time(), id="a-la-main", capacity=1, quorum=1)
        async with build_worker(env.client, settings):
            handle = await raw.start_workflow(
                "CampaignWorkflow", CampaignInput(plan=plan, search_attributes=False), id="a-la-main", task_queue=settings.task_queue
            )
            failed = False
            for _ in range(200):
                history = await handle.fetch_history()
                if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events):
                    failed = True
                    break
                await asyncio.sleep(0.1)
            assert failed and not any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events)
            await handle.terminate()
    finally:
        await env.shutdown()
