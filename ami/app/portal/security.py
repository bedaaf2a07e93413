"""Secure headers on every response, an access log without personal data, rate limits.

The access log names the route (`/dossier/{token}`), never the path: a link's token is a bearer
secret. Clients are pseudonymised by a keyed digest of their address, never logged in clear.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from enum import StrEnum

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),  # a link's token never leaves in a Referer header
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
access_log = logging.getLogger("ami.app.portal.access")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in {h for h, _ in HEADERS}]
                headers.extend(HEADERS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))  # private pages stay out of shared caches
                if self.https:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLog:
    """One line per request: method, route template, status, duration. No path, no query, no address."""

    def __init__(self, app: ASGIApp, routes: Callable[[], list[object]]) -> None:
        self.app = app
        self.routes = routes

    def _template(self, scope: Scope) -> str:
        for route in self.routes():
            matches = getattr(route, "matches", None)
            if matches is not None and matches(scope)[0] is Match.FULL:
                return str(getattr(route, "path", "?"))
        return "(inconnue)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.monotonic(), [500]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            access_log.info("%s %s %d %.0fms", scope["method"], self._template(scope), status[0], (time.monotonic() - started) * 1000)


class Bucket(StrEnum):
    LINK = "link"  # every page reached through a signed link
    SUBMIT = "submit"  # every form posted
    DOWNLOAD = "download"


class RateLimiter:
    """A sliding window per (bucket, client). In memory: one portal process (docs/portal.md)."""

    def __init__(self, limits: dict[Bucket, tuple[int, float]], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._hits: dict[tuple[Bucket, str], deque[float]] = defaultdict(deque)

    def allow(self, bucket: Bucket, client: str) -> bool:
        limit, window = self.limits[bucket]
        now = self.clock()
        hits = self._hits[(bucket, client)]
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        if len(self._hits) > 50_000:  # forget idle clients rather than grow without bound
            for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
                del self._hits[key]
        return True


DEFAULT_LIMITS = {Bucket.LINK: (120, 60.0), Bucket.SUBMIT: (20, 60.0), Bucket.DOWNLOAD: (60, 60.0)}
