"""Holds an exclusive lock on an SQLite store for a while: the SQLite form of « the store is down ».
`python -m chaos.locker FILE SECONDS`."""

from __future__ import annotations

import sqlite3
import sys
import time

if __name__ == "__main__":
    connection = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    connection.execute("ROLLBACK")
