"""Files that hold personal data (documents, the SQLite store, emails, exports): 0600, in 0700 folders.

The modes are given when a file or folder is created, so there is no window in which another
account of the machine can open them; an existing file we overwrite is narrowed to 0600 too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents with mode 0700. An existing folder keeps its mode: it
    may be a shared one given on the command line (`--out /tmp`); the files inside are 0600."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by another process
            folder.mkdir(mode=DIR_MODE)
        os.chmod(folder, DIR_MODE)  # mkdir's mode goes through the umask
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, created with mode 0600 (an existing file is narrowed to 0600)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
        with os.fdopen(descriptor, "wb", closefd=False) as handle:
            handle.write(data)
    finally:
        os.close(descriptor)


def touch_private(path: Path) -> None:
    """Create an empty file with mode 0600 if it does not exist (the SQLite store, before SQLite
    creates it with the umask's mode; its -wal and -shm files follow the main file's mode)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)
