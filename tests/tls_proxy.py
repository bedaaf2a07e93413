"""A TLS front for a local Temporal server, as a load balancer terminating mTLS would be.

The certificates come from ami.infra.pki; the proxy is an asyncio server that requires a client
certificate signed by the CA (when `require_client_cert`), offers HTTP/2 by ALPN (gRPC), and copies
bytes to the real server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

from ami.infra.pki import Pki


@contextlib.asynccontextmanager
async def tls_proxy(pki: Pki, upstream: str, require_client_cert: bool = True) -> AsyncIterator[str]:
    """Yields the proxy's `127.0.0.1:port`; connections are copied to `upstream` (host:port)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if require_client_cert:
        context.load_verify_locations(pki.ca_cert)
        context.verify_mode = ssl.CERT_REQUIRED
    host, port = upstream.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    address = server.sockets[0].getsockname()
    try:
        yield f"127.0.0.1:{address[1]}"
    finally:
        server.close()
