"""A local SMTP sink (aiosmtpd) that writes every accepted message as an `.eml` file.

Used by `ami demo`, `ami mail-sink` and the tests. Addresses listed in `refuse` get a 550, so the
bounce path can be exercised against a real SMTP conversation.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ami.infra.private_files import private_dir, write_private

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class EmlWriter:
    def __init__(self, out_dir: Path, refuse: set[str] | None = None) -> None:
        self.out_dir = out_dir
        self.refuse = {a.lower() for a in (refuse or set())}
        self.count = 0
        self.port = 0  # the port it listens on, once started
        # The last messages as received (envelope recipients, bytes), for tests and `ami demo`.
        self.received: deque[tuple[list[str], bytes]] = deque(maxlen=1000)
        self._lock = threading.Lock()
        private_dir(out_dir)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        match = re.search(rb"^Message-ID:\s*<([^>]+)>", content, re.MULTILINE | re.IGNORECASE)
        with self._lock:
            self.count += 1
            number = self.count
            self.received.append((list(envelope.rcpt_tos), content))
            stem = _SAFE.sub("_", match.group(1).decode("ascii", "replace")) if match else f"message-{number}"
            path = self.out_dir / f"{stem}.eml"
            # A second delivery of the same Message-ID gets its own file: a duplicate must show, even
            # across a restart of the sink (whose counter starts again from 1).
            while path.exists():
                path = self.out_dir / f"{stem}.{number}.eml"
                number += 1
            write_private(path, content)
        return "250 Message accepted for delivery"


def start_sink(
    out_dir: Path, host: str = "127.0.0.1", port: int = 8025, refuse: set[str] | None = None, **kwargs: Any
) -> tuple[Controller, EmlWriter]:
    """Start the sink in its own thread; `controller.stop()` ends it."""
    handler = EmlWriter(out_dir, refuse)
    controller = Controller(handler, hostname=host, port=port, **kwargs)
    controller.start()
    handler.port = controller.port
    return controller, handler
