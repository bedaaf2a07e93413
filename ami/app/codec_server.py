"""The codec server the Temporal Web UI (and the `temporal` CLI) call to show decrypted payloads.

Only `/decode` exists: an `/encode` endpoint would let anyone holding the token write payloads
that the workers trust. Decoding requires the token, given either as `Authorization: Bearer …`
(the `temporal` CLI's `--codec-auth`) or as the path segment before `/decode` (the dev server's
Web UI cannot send custom headers, so its endpoint is configured as `http://host:port/<token>`).
Browsers are only answered for the configured origins (CORS), the Web UI's by default.

The standard library's threaded HTTP server is enough for a handful of coordinators and avoids a
dependency; the codec's decryption is synchronous, so each request thread calls it directly. It is
bounded, so that a slow or flooding client cannot exhaust it: a connection silent for `timeout`
seconds is closed, at most `max_connections` are served at once (the next ones get a 503 and are
closed), and no log line ever holds the request path or line (the Web UI's token travels in it).

In production the shared token is replaced by the user's own: behind the authenticating proxy, the
Web UI forwards each coordinator's OIDC access token (`TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true`), and
the server checks its signature, issuer, audience and expiry (`ami.infra.codec_auth`) — no secret is in
the page any more. See docs/privacy.md.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from ami.infra.codec import CodecError, EncryptionCodec

if TYPE_CHECKING:
    from ami.infra.codec_auth import UserTokenVerifier

MAX_BODY_BYTES = 8 * 1024 * 1024  # a history page of payloads; refuses memory exhaustion by a huge body
ALLOWED_HEADERS = "authorization, content-type, x-namespace"
TIMEOUT_SECONDS = 10.0  # each read of a request (line, headers, body) within this, or the connection is closed
MAX_CONNECTIONS = 32  # a handful of coordinators; each connection is one thread

log = logging.getLogger("ami.app.codec_server")


class _BoundedServer(ThreadingHTTPServer):
    """One thread per connection, at most `slots` of them: the next connection is answered 503 and closed."""

    daemon_threads = True
    request_queue_size = 64  # a burst waits in the backlog, then gets its answer or its 503

    def __init__(self, address: tuple[str, int], slots: int, timeout: float) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        # The handler's `timeout` becomes the socket's: every read is bounded, so an idle or slow
        # connection is closed and its thread freed.
        super().__init__(address, type("_TimedHandler", (_Handler,), {"timeout": timeout}))

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):  # the client may be gone already
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback that may quote the request: a line without it.
        log.warning("connexion interrompue (%s)", type(sys.exc_info()[1]).__name__)


class CodecServer:
    """A `/decode` endpoint on a background thread; `start()`, then `stop()`.

    `verifier`, when given, replaces the shared token: each request must carry the user's own
    OIDC access token (production, behind the authenticating proxy).
    """

    def __init__(
        self,
        codec: EncryptionCodec,
        token: str,
        origins: frozenset[str],
        host: str = "127.0.0.1",
        port: int = 8081,
        *,
        verifier: UserTokenVerifier | None = None,
        timeout: float = TIMEOUT_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        if verifier is None and len(token) < 16:
            raise ValueError("le jeton du serveur de codec doit faire au moins 16 caractères (AMI_CODEC_SERVER_TOKEN).")
        self.codec = codec
        self.token = token
        self.verifier = verifier
        self.origins = origins
        self.timeout = timeout
        self._httpd = _BoundedServer((host, port), max_connections, timeout)
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

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError):
            self.close_connection = True

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
        if self.config.verifier is not None:
            # Per-user: only the Authorization header, never a token in the path (it would be logged by proxies).
            scheme, _, value = self.headers.get("Authorization", "").partition(" ")
            return not path_token and scheme.lower() == "bearer" and self.config.verifier.verify(value.strip())
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

    # The default lines hold the request line or path, which may carry the token: never log them.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info(
            "%s %s",
            self.command if self.command in ("POST", "OPTIONS", "GET", "PUT", "DELETE", "PATCH") else "?",
            int(code) if str(code).isdigit() else "-",
        )

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        # e.g. « Bad request version ('…') », which quotes the request line: the status alone.
        code = args[0] if args and isinstance(args[0], int) else "-"
        log.warning("requête refusée (%s)", code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        log.info("requête (détails non journalisés)")
