"""The codec server the Temporal Web UI (and the `temporal` CLI) call to show decrypted payloads.

Only `/decode` exists: an `/encode` endpoint would let anyone holding the token write payloads
that the workers trust. Decoding requires the token, given either as `Authorization: Bearer …`
(the `temporal` CLI's `--codec-auth`) or as the path segment before `/decode` (the dev server's
Web UI cannot send custom headers, so its endpoint is configured as `http://host:port/<token>`).
Browsers are only answered for the configured origins (CORS), the Web UI's by default.

The standard library's threaded HTTP server is enough for a handful of coordinators and avoids a
dependency; the codec's decryption is synchronous, so each request thread calls it directly.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from ami.codec import CodecError, EncryptionCodec

MAX_BODY_BYTES = 8 * 1024 * 1024  # a history page of payloads; refuses memory exhaustion by a huge body
ALLOWED_HEADERS = "authorization, content-type, x-namespace"

log = logging.getLogger("ami.codec_server")


class CodecServer:
    """A `/decode` endpoint on a background thread; `start()`, then `stop()`."""

    def __init__(self, codec: EncryptionCodec, token: str, origins: frozenset[str], host: str = "127.0.0.1", port: int = 8081) -> None:
        if len(token) < 16:
            raise ValueError("le jeton du serveur de codec doit faire au moins 16 caractères (AMI_CODEC_SERVER_TOKEN).")
        self.codec = codec
        self.token = token
        self.origins = origins
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.codec_server = self  # type: ignore[attr-defined]  # how the handler reaches its configuration
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, for `temporal … --codec-endpoint` (with `--codec-auth "Bearer <token>"`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ui_endpoint(self) -> str:
        """Endpoint for the Web UI (`--ui-codec-endpoint`): the token travels in the path. Secret, like the token."""
        return f"{self.url}/{self.token}"

    def start(self) -> CodecServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="ami-codec-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> CodecServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server_version = "ami-codec"
    sys_version = ""

    @property
    def config(self) -> CodecServer:
        config: CodecServer = self.server.codec_server  # type: ignore[attr-defined]
        return config

    # --- routing -------------------------------------------------------------

    def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
        if self._route() is None:
            return self._error(HTTPStatus.NOT_FOUND, "ressource inconnue : seul /decode existe.")
        origin = self.headers.get("Origin")
        if origin is None or not self._origin_allowed():
            return self._error(HTTPStatus.FORBIDDEN, "origine non autorisée.")
        # Preflight: no token here (browsers never send credentials on a preflight), only the CORS answer.
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors_headers()
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", ALLOWED_HEADERS)
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        path_token = self._route()
        if path_token is None:
            return self._error(HTTPStatus.NOT_FOUND, "ressource inconnue : seul /decode existe.")
        if not self._origin_allowed():
            return self._error(HTTPStatus.FORBIDDEN, "origine non autorisée.")
        if not self._authorised(path_token):
            return self._error(HTTPStatus.UNAUTHORIZED, "jeton absent ou invalide.", {"WWW-Authenticate": 'Bearer realm="ami-codec"'})
        if self.headers.get_content_type() != "application/json":
            return self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "corps JSON attendu (Content-Type: application/json).")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._error(HTTPStatus.LENGTH_REQUIRED, "en-tête Content-Length requis.")
        if length < 0 or length > MAX_BODY_BYTES:
            return self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "corps trop volumineux.")
        try:
            # Proto3 JSON, as the protocol requires: bytes fields (data, metadata values) are base64.
            payloads = json_format.Parse(self.rfile.read(length), Payloads())
        except (json_format.ParseError, UnicodeDecodeError):
            return self._error(HTTPStatus.BAD_REQUEST, 'corps invalide : un objet {"payloads": [...]} au format JSON protobuf est attendu.')
        try:
            decoded = Payloads(payloads=self.config.codec.decrypt_all(payloads.payloads))
        except CodecError as error:
            return self._error(HTTPStatus.BAD_REQUEST, str(error))
        self._send_json(HTTPStatus.OK, json_format.MessageToJson(decoded, indent=None).encode())

    def do_GET(self) -> None:  # noqa: N802
        self._method_not_allowed()

    do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815

    # --- checks --------------------------------------------------------------

    def _route(self) -> str | None:
        """None unless the path ends in /decode; else the path segment before it ("" when there is none)."""
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if not parts or parts[-1] != "decode" or len(parts) > 2:
            return None
        return parts[0] if len(parts) == 2 else ""

    def _origin_allowed(self) -> bool:
        origin = self.headers.get("Origin")
        # No Origin: not a browser (the temporal CLI, curl), the token alone decides.
        return origin is None or origin.rstrip("/") in self.config.origins

    def _authorised(self, path_token: str) -> bool:
        expected = self.config.token.encode()
        header = self.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        candidates = [value.strip().encode()] if scheme.lower() == "bearer" else []
        if path_token:
            candidates.append(path_token.encode())
        # Constant-time comparison: the answer time must not reveal how much of a guessed token was right.
        return any(hmac.compare_digest(candidate, expected) for candidate in candidates)

    # --- answers -------------------------------------------------------------

    def _cors_headers(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and origin.rstrip("/") in self.config.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
        self.send_header("Vary", "Origin")

    def _send_json(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self._cors_headers()
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # decrypted personal data must not sit in a browser cache
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: HTTPStatus, message: str, headers: dict[str, str] | None = None) -> None:
        self._send_json(status, json.dumps({"error": message}, ensure_ascii=False).encode(), headers)

    def _method_not_allowed(self) -> None:
        if self._route() is None:
            return self._error(HTTPStatus.NOT_FOUND, "ressource inconnue : seul /decode existe.")
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "méthode non autorisée : POST uniquement.", {"Allow": "POST, OPTIONS"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        # The default line includes the request path, which may carry the token: log the status only.
        log.info("%s %s", self.command, args[1] if len(args) > 1 else "")
