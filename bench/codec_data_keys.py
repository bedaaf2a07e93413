"""The cost of a data key per workflow (crypto-shredding): encode and decode with the master key directly,
with a cached data key, and the first payload of a new workflow (a key created in SQLite).

    .venv/bin/python -m bench.codec_data_keys
"""

from __future__ import annotations

import asyncio
import tempfile
import time

from temporalio.api.common.v1 import Payload
from temporalio.converter import WorkflowSerializationContext

from ami.infra.codec import EncryptionCodec
from ami.infra.keystore import key_store_for
from ami.infra.store import store_for

ROUNDS = 5000
PAYLOAD = Payload(metadata={"encoding": b"json/plain"}, data=b"x" * 2000)


async def main() -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/keys.db"
    store_for(url)
    keys = key_store_for(url)
    master = EncryptionCodec({"a": bytes(32)}, "a")
    scoped = EncryptionCodec({"a": bytes(32)}, "a", key_store=keys).with_context(WorkflowSerializationContext("default", "wf"))
    for name, codec in (("master key", master), ("data key, cached", scoped)):
        sealed = await codec.encode([PAYLOAD])
        start = time.perf_counter()
        for _ in range(ROUNDS):
            sealed = await codec.encode([PAYLOAD])
        encode = (time.perf_counter() - start) / ROUNDS
        start = time.perf_counter()
        for _ in range(ROUNDS):
            await codec.decode(sealed)
        decode = (time.perf_counter() - start) / ROUNDS
        print(f"{name}: encode {encode * 1e6:.0f} µs, decode {decode * 1e6:.0f} µs per 2 kB payload")
    fresh = EncryptionCodec({"a": bytes(32)}, "a", key_store=keys)
    start = time.perf_counter()
    for index in range(200):
        await fresh.with_context(WorkflowSerializationContext("default", f"new-{index}")).encode([PAYLOAD])
    print(f"first payload of a new workflow (data key created in SQLite): {(time.perf_counter() - start) / 200 * 1e3:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
