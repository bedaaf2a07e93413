"""Liveness and readiness of `ami worker` for the orchestrator, on `AMI_HEALTH_ADDRESS`.

- `GET /healthz` (liveness): 200 while the worker's polling loop runs, 503 once it stopped (a fatal
  error): the orchestrator restarts the container.
- `GET /readyz` (readiness): 200 when the Temporal frontend answers its health check, our database is
  at the schema head, and the SMTP relay greets us (connection, TLS as configured, EHLO, NOOP; no
  login); 503 otherwise. The body is JSON, one French line per check, without secrets.

A few requests a minute from a local prober: a bare asyncio server is enough, no web framework.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiosmtplib
from temporalio.client import Client

from ami.infra.mail.smtp import relay_options
from ami.infra.settings import Settings
from ami.infra.store import SchemaError, check_schema

CHECK_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def check_temporal(client: Client) -> Check:
    try:
        ok = await asyncio.wait_for(client.service_client.check_health(), CHECK_TIMEOUT)
    except Exception as error:  # RPCError, timeout: not ready, say which
        return Check("temporal", False, f"serveur injoignable ({type(error).__name__})")
    return Check("temporal", ok, "serveur joignable" if ok else "le serveur se déclare indisponible")


async def check_database(settings: Settings) -> Check:
    try:
        await asyncio.wait_for(asyncio.to_thread(check_schema, settings.resolved_database_url()), CHECK_TIMEOUT)
    except SchemaError as error:
        return Check("base", False, str(error))
    except Exception as error:  # connection refused, timeout
        return Check("base", False, f"base injoignable ({type(error).__name__})")
    return Check("base", True, "schéma à jour")


async def check_smtp(settings: Settings) -> Check:
    smtp = aiosmtplib.SMTP(**relay_options(settings, timeout=CHECK_TIMEOUT))
    try:
        await smtp.connect()
        await smtp.noop()
        await smtp.quit()
    except Exception as error:  # refused, timeout, TLS: the relay is not usable now
        return Check("smtp", False, f"relais {settings.smtp_host}:{settings.smtp_port} injoignable ({type(error).__name__})")
    return Check("smtp", True, f"relais {settings.smtp_host}:{settings.smtp_port} joignable")


async def readiness(client: Client, settings: Settings) -> list[Check]:
    return list(await asyncio.gather(check_temporal(client), check_database(settings), check_smtp(settings)))


def _response(status: int, body: dict[str, object]) -> bytes:
    payload = json.dumps(body, ensure_ascii=False).encode()
    reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    return head.encode() + payload


@contextlib.asynccontextmanager
async def health_server(address: str, alive: Callable[[], bool], ready: Callable[[], Awaitable[list[Check]]]) -> AsyncIterator[int]:
    """Serve /healthz and /readyz on `address` (host:port); yields the bound port (0 picks one)."""
    host, port = address.rsplit(":", 1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await asyncio.wait_for(reader.readline(), CHECK_TIMEOUT)).decode("latin-1").split()
            path = line[1].split("?", 1)[0] if len(line) >= 2 else ""
            if path == "/healthz":
                live = alive()
                writer.write(_response(200 if live else 503, {"vivant": live}))
            elif path == "/readyz":
                checks = await ready()
                body: dict[str, object] = {c.name: c.detail for c in checks}
                body["prêt"] = all(c.ok for c in checks)
                writer.write(_response(200 if body["prêt"] else 503, body))
            else:
                writer.write(_response(404, {"erreur": "chemins : /healthz, /readyz"}))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, int(port))
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
