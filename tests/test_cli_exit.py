"""How the `ami` program ends (`ami.app.cli.main.entry`, `ami.app.program.run_program`).

Once Temporal's bridge is loaded, the SDK's Rust threads may call into Python while the interpreter
tears itself down, and about one command in a hundred then aborted after its work was done
(`python -m bench.exit_race` measures it). `run_program` leaves just before that teardown. These tests
run a stand-in command in a child process and check what must still happen: its exit code, its
output, the exit functions it registered; and that the teardown is skipped only when Temporal was
used."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# The stand-in: the exit registered first, as a program of this project does, then an exit function
# of its own; `main` replaced by a command that loads the bridge (or not), registers another exit
# function, prints, then returns, exits or raises. An object's finaliser tells whether the
# interpreter's teardown ran.
PROBE = """
from ami.app.program import leave_before_teardown

leave_before_teardown()

import atexit, sys
from pathlib import Path

import ami.app.cli.main as cli

here = Path(sys.argv[1])
mode, temporal = sys.argv[2], sys.argv[3] == "temporal"
atexit.register(lambda: (here / "early").write_text("ran"))


class Teardown:
    def __init__(self) -> None:
        self.mark = (here / "teardown").write_text  # bound now: the teardown clears the module's globals

    def __del__(self) -> None:
        self.mark("ran")


KEEP = Teardown()


def command(argv=None):
    if temporal:
        import temporalio.bridge.temporal_sdk_bridge  # noqa: F401
    atexit.register(lambda: (here / "atexit").write_text("ran"))
    print("Candidature enregistrée")
    if mode == "exit":
        sys.exit(2)
    if mode == "exit-none":
        sys.exit(None)
    if mode == "exit-message":
        sys.exit("Erreur : dossier introuvable")
    if mode == "raise":
        raise LookupError("boom")
    if mode == "interrupt":
        raise KeyboardInterrupt
    return 3


cli.main = command
cli.entry()
"""

MARKERS = ("teardown", "early", "atexit")


def buffered_environ() -> dict[str, str]:
    """Buffered output, as a shell pipe or a supervisor gets it (PYTHONUNBUFFERED would flush each print)."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}


def run_probe(tmp_path: Path, mode: str, temporal: bool) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    # Run with -c: unlike a script file, Python flushes nothing before its exit functions then.
    argv = [sys.executable, "-c", PROBE, str(tmp_path), mode, "temporal" if temporal else "plain"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=buffered_environ())
    return done, {name for name in MARKERS if (tmp_path / name).exists()}


@pytest.mark.parametrize(
    ("mode", "code", "stderr"),
    [
        ("return", 3, ""),
        ("exit", 2, ""),
        ("exit-none", 0, ""),
        ("exit-message", 1, "Erreur : dossier introuvable"),
        ("raise", 1, "LookupError: boom"),
        ("interrupt", 130, "KeyboardInterrupt"),
    ],
)
def test_a_command_that_used_temporal_keeps_its_code_output_and_exit_functions(tmp_path: Path, mode: str, code: int, stderr: str) -> None:
    done, ran = run_probe(tmp_path, mode, temporal=True)
    assert done.returncode == code, done.stderr
    assert done.stdout == "Candidature enregistrée\n"  # block-buffered into a pipe: flushed before leaving
    assert stderr in done.stderr
    assert "Fatal Python error" not in done.stderr
    # Every exit function ran, the one registered before `entry` too (registering twice keeps the
    # first place); the interpreter's teardown, where the SDK's threads crash it, was skipped.
    assert ran == {"early", "atexit"}


def test_a_command_that_never_used_temporal_ends_as_python_does(tmp_path: Path) -> None:
    done, ran = run_probe(tmp_path, "return", temporal=False)
    assert done.returncode == 3
    assert done.stdout == "Candidature enregistrée\n"
    assert ran == {"teardown", "early", "atexit"}


def test_the_program_runs_as_a_module_without_warnings(tmp_path: Path) -> None:
    # `ami.app.cli` imports nothing, so `-m ami.app.cli.main` runs that module once (runpy warned
    # when the package had imported it first).
    for module in ("ami.app.cli.main", "ami.app.cli"):
        done = subprocess.run(
            [sys.executable, "-W", "error", "-m", module, "check", str(tmp_path / "absent.yaml")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert "Warning" not in done.stderr
        assert "Traceback" not in done.stderr


# A test module with a finaliser: it tells whether the run's teardown ran.
ONE_TEST = """
import temporalio.bridge.temporal_sdk_bridge
from pathlib import Path


class Teardown:
    def __init__(self) -> None:
        self.mark = (Path(__file__).parent / "teardown").write_text  # bound now: the teardown clears the module's globals

    def __del__(self) -> None:
        self.mark("ran")


KEEP = Teardown()


def test_one():
    assert {verdict}
"""


def run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest in a child process, with this suite's conftest as a plugin, on `tmp_path`."""
    environ = buffered_environ()
    environ["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=environ)


@pytest.mark.parametrize(("verdict", "code"), [("True", 0), ("False", 1)])
def test_a_test_run_keeps_its_exit_status_and_summary(tmp_path: Path, verdict: str, code: int) -> None:
    # The suite's own process (tests/conftest.py) leaves the same way, with pytest's exit status.
    (tmp_path / "test_one.py").write_text(ONE_TEST.format(verdict=verdict))
    done = run_pytest(tmp_path, str(tmp_path / "test_one.py"))
    assert done.returncode == code, done.stdout + done.stderr
    assert ("1 passed" if code == 0 else "1 failed") in done.stdout
    assert not (tmp_path / "teardown").exists()


def test_a_pytest_command_without_a_session_ends_as_pytest_does(tmp_path: Path) -> None:
    # No session, no status from it: the exit code stays pytest's own (0 for --help, 4 for a bad option).
    assert run_pytest(tmp_path, "--help").returncode == 0
    assert run_pytest(tmp_path, "--no-such-option").returncode == 4


def test_a_test_run_whose_plugin_fails_at_the_end_fails(tmp_path: Path) -> None:
    # A plugin's unconfigure raising after a passing session: pytest exits 1, and so must the run.
    (tmp_path / "test_one.py").write_text(ONE_TEST.format(verdict="True"))
    (tmp_path / "conftest.py").write_text('def pytest_unconfigure(config):\n    raise RuntimeError("boom")\n')
    done = run_pytest(tmp_path, str(tmp_path / "test_one.py"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "RuntimeError: boom" in done.stderr
