"""The processes of one chaos run and the faults injected into them, each instant logged."""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import make_url

from ami.app.devserver import temporal_cli
from ami.app.harness import free_port
from ami.models import search_attributes as sa
from chaos.procs import Proc, ami_command, python, wait_port


class FaultLog:
    """Every fault with its instant, on the console and in faults.jsonl."""

    def __init__(self, path: Path, started: float) -> None:
        self.path = path
        self.started = started
        self.entries: list[dict[str, object]] = []

    def log(self, kind: str, **details: object) -> None:
        entry = {"t": time.time(), "kind": kind, **details}
        self.entries.append(entry)
        with self.path.open("a") as out:
            out.write(json.dumps(entry) + "\n")
        extra = " ".join(f"{k}={v}" for k, v in details.items())
        print(f"[chaos +{entry['t'] - self.started:7.1f}s] {kind} {extra}", flush=True)  # type: ignore[operator]

    def count(self, kind: str) -> int:
        return sum(1 for e in self.entries if e["kind"] == kind)


@dataclass
class Cluster:
    out: Path
    database_url: str  # what the suite itself reads (direct)
    faults: FaultLog
    temporal_port: int = field(default_factory=free_port)
    smtp_port: int = field(default_factory=free_port)
    task_queue: str = "ami-chaos"
    workers: list[Proc] = field(default_factory=list)
    server: Proc | None = None
    relay: Proc | None = None
    proxy: Proc | None = None
    worker_database_url: str = ""

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def mail_dir(self) -> Path:
        return self.out / "mail"

    @property
    def postgres(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "postgresql"

    def start(self, workers: int = 2) -> None:
        logs = self.out / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        kinds = {key.name: key.indexed_value_type.name.title() for key in sa.ALL}  # KEYWORD: Keyword, DATETIME: Datetime
        attributes = [arg for name, kind in kinds.items() for arg in ("--search-attribute", f"{name}={kind}")]  # AmiState=Keyword
        self.server = Proc(
            "temporal",
            [temporal_cli(), "server", "start-dev", "--headless", "--db-filename", str(self.out / "temporal.db"), "--port",
             str(self.temporal_port), "--log-level", "error", *attributes],
            logs / "temporal.log",
        )  # fmt: skip
        self.server.start()
        self.relay = Proc(
            "relay", [ami_command(), "mail-sink", "--out", str(self.mail_dir), "--port", str(self.smtp_port)], logs / "relay.log"
        )
        self.relay.start()
        self.worker_database_url = self.database_url
        if self.postgres:
            # The cluster is shared with other tests: cut the workers' route to it, not the cluster.
            url = make_url(self.database_url)
            proxy_port = free_port()
            self.proxy = Proc(
                "store-proxy",
                python("-m", "chaos.proxy", str(proxy_port), url.host or "127.0.0.1", str(url.port or 5432)),
                logs / "proxy.log",
            )
            self.proxy.start()
            wait_port(proxy_port)
            self.worker_database_url = url.set(host="127.0.0.1", port=proxy_port).render_as_string(hide_password=False)
        wait_port(self.smtp_port)
        wait_port(self.temporal_port, timeout=120)
        env = {
            "AMI_TEMPORAL_ADDRESS": self.address,
            "AMI_TASK_QUEUE": self.task_queue,
            "AMI_DATABASE_URL": self.worker_database_url,
            "AMI_DATA_DIR": str(self.out),
            "AMI_SMTP_PORT": str(self.smtp_port),
            "AMI_SMTP_TIMEOUT": "10",
        }
        for n in range(workers):
            name = f"worker-{n + 1}"
            proc = Proc(name, python("-m", "chaos.worker", str(logs), name), logs / f"{name}.log", env=env)
            proc.start()
            self.workers.append(proc)

    def stop(self) -> None:
        for proc in [*self.workers, self.relay, self.proxy, self.server]:
            if proc is not None:
                proc.stop()

    # --- faults ------------------------------------------------------------------------------------

    def holding(self, worker: Proc) -> int:
        """Activity attempts this worker started and has not finished (from its attempt log)."""
        path = self.out / "logs" / f"attempts-{worker.name}-{worker.starts}.jsonl"
        if not path.exists():
            return 0
        open_: set[tuple[str, str, int]] = set()
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            key = (record["wf"], record["act"], record["attempt"])
            if record["ev"] == "start":
                open_.add(key)
            else:
                open_.discard(key)
        return len(open_)

    async def kill_worker(self, wait_busy: float = 3.0) -> None:
        """SIGKILL a worker, preferably one holding activity tasks (waits up to `wait_busy` for one)."""
        end = time.monotonic() + wait_busy
        while True:
            candidates = [w for w in self.workers if w.alive()]
            if not candidates:
                return
            busy = [w for w in candidates if self.holding(w)]
            if busy or time.monotonic() > end:
                break
            await asyncio.sleep(0.05)
        victim = random.choice(busy or candidates)
        held, pid, incarnation = self.holding(victim), victim.pid, victim.starts
        victim.kill()
        self.faults.log("worker_sigkill", worker=victim.name, pid=pid, incarnation=incarnation, holding=held)
        await asyncio.sleep(random.uniform(0.5, 1.5))
        victim.start()
        self.faults.log("worker_restart", worker=victim.name, pid=victim.pid)

    def supervise(self) -> None:
        """Restart a worker that died by itself (never expected: logged as such, and counted)."""
        for worker in self.workers:
            code = worker.exited_by_itself()
            if code is not None:
                self.faults.log("worker_exited_unexpectedly", worker=worker.name, code=code)
                worker.start()

    async def relay_down(self, seconds: float, why: str) -> None:
        assert self.relay is not None
        self.relay.stop()
        self.faults.log("relay_down", seconds=seconds, why=why)
        await asyncio.sleep(seconds)
        self.relay.start()
        await asyncio.to_thread(wait_port, self.smtp_port)
        self.faults.log("relay_up")

    async def store_down(self, seconds: float) -> None:
        if self.proxy is not None:
            self.proxy.kill()
            self.faults.log("store_down", seconds=seconds, how="proxy to PostgreSQL killed")
            await asyncio.sleep(seconds)
            self.proxy.start()
        else:
            path = make_url(self.database_url).database
            locker = Proc("store-lock", python("-m", "chaos.locker", str(path), str(seconds)), self.out / "logs" / "locker.log")
            locker.start()
            self.faults.log("store_down", seconds=seconds, how="SQLite file locked (BEGIN EXCLUSIVE)")
            await asyncio.to_thread(locker.process.wait)  # type: ignore[union-attr]
        self.faults.log("store_up")

    async def temporal_restart(self, seconds: float) -> None:
        assert self.server is not None
        self.server.stop()
        self.faults.log("temporal_stopped", seconds=seconds)
        await asyncio.sleep(seconds)
        self.server.start()
        await asyncio.to_thread(wait_port, self.temporal_port, 120)
        self.faults.log("temporal_restarted")
