"""Payload encryption (ami.infra.codec), its settings, and the codec server used by the Web UI."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator

import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from ami.app.codec_server import CodecServer
from ami.app.examples import example
from ami.infra.codec import ENCODING, KEY_ID_METADATA, CodecError, EncryptionCodec, codec_from_settings, data_converter, new_key_entry
from ami.infra.codec_settings import CodecSettings, CodecSettingsError

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
TOKEN = "jeton-de-test-0123456789abcdef"
UI = "http://localhost:8233"


def entry(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


def settings(keys: str, active: str = "", **more: object) -> CodecSettings:
    return CodecSettings(codec_keys=keys, codec_active_key=active, **more)  # type: ignore[arg-type]


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


# --- the codec ---------------------------------------------------------------


async def test_round_trip_hides_the_data_and_names_the_key() -> None:
    codec = EncryptionCodec({"a": KEY_A}, "a")
    original = [plain("Sophie Lambert <elu.henin-carvin@example.org>"), plain("")]
    encoded = await codec.encode(original)
    for p in encoded:
        assert p.metadata["encoding"] == ENCODING
        assert p.metadata[KEY_ID_METADATA] == b"a"
        assert b"Sophie" not in p.SerializeToString() and b"json/plain" not in p.SerializeToString()
    assert encoded[0].data != (await codec.encode(original[:1]))[0].data  # a fresh nonce every time
    assert await codec.decode(encoded) == original


async def test_whole_form_round_trips_through_the_data_converter() -> None:
    converter = data_converter(settings(entry("a", KEY_A)))
    form = example("01-henin-carvin")
    payloads = await converter.encode([form])
    assert "Lambert" not in payloads[0].SerializeToString().decode("latin-1")
    assert await converter.decode(payloads, [type(form)]) == [form]


async def test_rotation_keeps_old_payloads_readable() -> None:
    before = EncryptionCodec({"a": KEY_A}, "a")
    old = await before.encode([plain("ancien")])
    after = EncryptionCodec({"a": KEY_A, "b": KEY_B}, "b")
    new = await after.encode([plain("nouveau")])
    assert new[0].metadata[KEY_ID_METADATA] == b"b"
    assert await after.decode(old + new) == [plain("ancien"), plain("nouveau")]
    # Once key "a" is dropped, its payloads are refused with a message that says what to do.
    with pytest.raises(CodecError, match="« a ».*absente de AMI_CODEC_KEYS"):
        await EncryptionCodec({"b": KEY_B}, "b").decode(old)


async def test_tampered_payloads_are_refused() -> None:
    codec = EncryptionCodec({"a": KEY_A, "b": KEY_B}, "a")
    [sealed] = await codec.encode([plain("Martin Dubois")])
    flipped = Payload()
    flipped.CopyFrom(sealed)
    flipped.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(CodecError, match="altéré"):
        await codec.decode([flipped])
    for size in (0, 5, 27, len(sealed.data) - 1):
        truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:size])
        with pytest.raises(CodecError, match="altéré"):
            await codec.decode([truncated])
    # The key id is authenticated: relabelling the payload with another known key fails too.
    relabelled = Payload(metadata={**dict(sealed.metadata), KEY_ID_METADATA: b"b"}, data=sealed.data)
    with pytest.raises(CodecError, match="altéré"):
        await codec.decode([relabelled])


async def test_clear_text_payloads_pass_through_decode() -> None:
    # Histories recorded before encryption was switched on must still replay.
    codec = EncryptionCodec({"a": KEY_A}, "a")
    assert await codec.decode([plain("x")]) == [plain("x")]


async def test_failure_messages_are_encrypted() -> None:
    converter = data_converter(settings(entry("a", KEY_A)))
    failure = Failure()
    await converter.encode_failure(ApplicationError("refusé pour elu.henin-carvin@example.org"), failure)
    assert "example.org" not in str(failure) and failure.message == "Encoded failure"
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    error = await converter.decode_failure(failure)
    assert "elu.henin-carvin@example.org" in str(error)


# --- settings ----------------------------------------------------------------


def test_no_key_means_the_plain_pydantic_converter() -> None:
    assert codec_from_settings(settings("")) is None
    assert data_converter(settings("")) is pydantic_data_converter
    with pytest.raises(CodecSettingsError, match="AMI_CODEC_REQUIRED"):
        data_converter(settings("", codec_required=True))


def test_active_key_rules() -> None:
    both = entry("a", KEY_A) + "," + entry("b", KEY_B)
    assert settings(entry("a", KEY_A)).active_key_id(settings(entry("a", KEY_A)).keyring()) == "a"
    codec = codec_from_settings(settings(both, "b"))
    assert codec and codec.active_key_id == "b" and codec.key_ids == {"a", "b"}
    with pytest.raises(CodecSettingsError, match="AMI_CODEC_ACTIVE_KEY est requis"):
        codec_from_settings(settings(both))
    with pytest.raises(CodecSettingsError, match="« c » ne figure pas"):
        codec_from_settings(settings(both, "c"))


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("sans-separateur", "mal formé"),
        ("a:" + base64.b64encode(b"court").decode(), "32 octets"),
        ("a:pas du base64!", "base64"),
        (entry("a", KEY_A) + "," + entry("a", KEY_B), "deux fois"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(keys: str, message: str) -> None:
    with pytest.raises(CodecSettingsError, match=message) as raised:
        settings(keys).keyring()
    assert base64.b64encode(KEY_B).decode() not in str(raised.value)


def test_keys_stay_out_of_reprs() -> None:
    secret = base64.b64encode(KEY_A).decode()
    assert secret not in repr(settings(entry("a", KEY_A), codec_server_token=TOKEN))
    assert TOKEN not in repr(settings(entry("a", KEY_A), codec_server_token=TOKEN))


def test_new_key_entry_is_usable() -> None:
    keys = settings(new_key_entry("2025-01")).keyring()
    assert list(keys) == ["2025-01"] and len(keys["2025-01"]) == 32


# --- codec server ------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[CodecServer]:
    codec = EncryptionCodec({"a": KEY_A}, "a")
    with CodecServer(codec, TOKEN, frozenset({UI}), port=0) as running:
        yield running


def call(
    server: CodecServer, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


async def encrypted_body(text: str) -> bytes:
    codec = EncryptionCodec({"a": KEY_A}, "a")
    return json_format.MessageToJson(Payloads(payloads=await codec.encode([plain(text)]))).encode()


def decoded_texts(body: bytes) -> list[str]:
    payloads = json_format.Parse(body, Payloads())
    return [json.loads(p.data) for p in payloads.payloads]


JSON = {"Content-Type": "application/json"}


async def test_decode_with_bearer_token_and_ui_origin(server: CodecServer) -> None:
    body = await encrypted_body("Sophie Lambert")
    status, headers, answer = call(
        server, "POST", "/decode", body, {**JSON, "Authorization": f"Bearer {TOKEN}", "Origin": UI, "X-Namespace": "default"}
    )
    assert status == 200, answer
    assert headers["access-control-allow-origin"] == UI
    assert headers["cache-control"] == "no-store"
    assert decoded_texts(answer) == ["Sophie Lambert"]
    # The answer is proto3 JSON, as the Web UI expects: metadata values and data in base64.
    shape = json.loads(answer)
    assert base64.b64decode(shape["payloads"][0]["metadata"]["encoding"]) == b"json/plain"
    assert json.loads(base64.b64decode(shape["payloads"][0]["data"])) == "Sophie Lambert"


async def test_decode_with_token_in_path_for_the_web_ui(server: CodecServer) -> None:
    assert server.ui_endpoint.endswith("/" + TOKEN)
    status, _, answer = call(server, "POST", f"/{TOKEN}/decode", await encrypted_body("Martin Dubois"), {**JSON, "Origin": UI})
    assert status == 200, answer
    assert decoded_texts(answer) == ["Martin Dubois"]


async def test_decode_refused_without_a_valid_token(server: CodecServer) -> None:
    body = await encrypted_body("Sophie Lambert")
    for headers, path in [
        ({**JSON, "Origin": UI}, "/decode"),
        ({**JSON, "Authorization": "Bearer mauvais-jeton"}, "/decode"),
        ({**JSON, "Authorization": TOKEN}, "/decode"),  # the scheme is required
        (JSON, "/mauvais-jeton/decode"),
    ]:
        status, response_headers, answer = call(server, "POST", path, body, headers)
        assert status == 401, (headers, path)
        assert b"Sophie" not in answer
        assert "bearer" in response_headers["www-authenticate"].lower()


async def test_decode_refused_from_another_origin(server: CodecServer) -> None:
    body = await encrypted_body("Sophie Lambert")
    status, headers, answer = call(
        server, "POST", "/decode", body, {**JSON, "Authorization": f"Bearer {TOKEN}", "Origin": "https://evil.example"}
    )
    assert status == 403 and b"Sophie" not in answer
    assert "access-control-allow-origin" not in headers
    status, _, _ = call(server, "OPTIONS", "/decode", None, {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert status == 403


def test_preflight_for_the_ui(server: CodecServer) -> None:
    status, headers, _ = call(server, "OPTIONS", "/decode", None, {"Origin": UI, "Access-Control-Request-Method": "POST"})
    assert status == 204
    assert headers["access-control-allow-origin"] == UI
    assert "POST" in headers["access-control-allow-methods"]
    allowed = headers["access-control-allow-headers"]
    assert "authorization" in allowed and "x-namespace" in allowed and "content-type" in allowed


def test_no_encode_endpoint(server: CodecServer) -> None:
    auth = {**JSON, "Authorization": f"Bearer {TOKEN}", "Origin": UI}
    for path in ("/encode", f"/{TOKEN}/encode", "/", "/a/b/decode"):
        status, _, _ = call(server, "POST", path, b'{"payloads": []}', auth)
        assert status == 404, path
    status, _, _ = call(server, "GET", "/decode", None, auth)
    assert status == 405


async def test_bad_bodies(server: CodecServer) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert call(server, "POST", "/decode", b"{}", {**auth, "Content-Type": "text/plain"})[0] == 415
    assert call(server, "POST", "/decode", b"pas du json", {**auth, **JSON})[0] == 400
    codec = EncryptionCodec({"z": KEY_B}, "z")
    foreign = json_format.MessageToJson(Payloads(payloads=await codec.encode([plain("x")]))).encode()
    status, _, answer = call(server, "POST", "/decode", foreign, {**auth, **JSON})
    assert status == 400 and "absente de AMI_CODEC_KEYS" in json.loads(answer)["error"]


def test_short_token_refused() -> None:
    with pytest.raises(ValueError, match="16 caractères"):
        CodecServer(EncryptionCodec({"a": KEY_A}, "a"), "court", frozenset({UI}), port=0)
