"""Real processes the suite starts, kills and restarts: each writes its output to its own log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_port(port: int, timeout: float = 60.0, *, open_: bool = True) -> None:
    end = time.monotonic() + timeout
    while port_open(port) != open_:
        if time.monotonic() > end:
            raise TimeoutError(f"port {port} still {'closed' if open_ else 'open'} after {timeout:.0f} s")
        time.sleep(0.1)


@dataclass
class Proc:
    """One long-running process, restartable with the same command line."""

    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        env = {**os.environ, **self.env, "CHAOS_INCARNATION": str(self.starts)}
        with self.log.open("ab") as out:
            out.write(f"\n=== {self.name} start {self.starts} at {time.time():.3f}\n".encode())
            out.flush()
            self.process = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited_by_itself(self) -> int | None:
        """The exit code of a process that ended without being stopped here, else None."""
        return self.process.poll() if self.process is not None else None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, what a crash or the OOM killer does."""
        if self.process is not None and self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if the process lingers."""
        if self.process is None:
            return
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def ami_command() -> str:
    """The real `ami` command installed beside this interpreter."""
    return str(Path(sys.executable).with_name("ami"))
