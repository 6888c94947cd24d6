"""The class leaderboard: every net saved from the architecture lab, in an SQLite file under
CNN_LAB_RUNS so it outlives a restart of the server. Standard library only; each call opens its
own connection, so any thread may call it."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

# The course's assignment for the GAP MNIST net.
ASSIGNMENT = {"accuracy": 0.994, "parameters": 20_000, "epochs": 20}
MAX_NAME = 60

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    dataset TEXT NOT NULL,
    parameters INTEGER NOT NULL,
    test_accuracy REAL,
    epochs INTEGER NOT NULL,
    seconds REAL NOT NULL,
    has_fc INTEGER NOT NULL,
    checkpoint TEXT NOT NULL,
    saved_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Entry:
    id: int
    name: str
    dataset: str
    parameters: int
    test_accuracy: float | None
    epochs: int
    seconds: float
    has_fc: bool
    checkpoint: str
    saved_at: float

    def meets_assignment(self) -> bool:
        """≥ 99.4 % on MNIST with fewer than 20k parameters, in fewer than 20 epochs, and no FC layer."""
        return (self.dataset == "mnist" and self.test_accuracy is not None
                and self.test_accuracy >= ASSIGNMENT["accuracy"] and self.parameters < ASSIGNMENT["parameters"]
                and self.epochs < ASSIGNMENT["epochs"] and not self.has_fc)


class Leaderboard:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute(_SCHEMA)
        return connection

    def add(self, name: str, dataset: str, parameters: int, test_accuracy: float | None, epochs: int,
            seconds: float, has_fc: bool, checkpoint: str) -> int:
        with self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO nets (name, dataset, parameters, test_accuracy, epochs, seconds, has_fc, checkpoint,"
                " saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name[:MAX_NAME], dataset, int(parameters), test_accuracy, int(epochs), float(seconds),
                 int(bool(has_fc)), str(checkpoint), time.time()))
            return int(cursor.lastrowid)

    def entries(self) -> list[Entry]:
        """Best first: those that meet the assignment, then by test accuracy, then fewer parameters."""
        if not self.path.exists():
            return []
        with self._connect() as connection:
            rows = connection.execute("SELECT id, name, dataset, parameters, test_accuracy, epochs, seconds, has_fc,"
                                      " checkpoint, saved_at FROM nets").fetchall()
        entries = [Entry(*row[:7], bool(row[7]), *row[8:]) for row in rows]
        return sorted(entries, key=lambda e: (not e.meets_assignment(), -(e.test_accuracy or 0), e.parameters, e.id))

    def remove(self, entry_id: int) -> None:
        with self._connect() as connection:
            connection.execute("DELETE FROM nets WHERE id = ?", (int(entry_id),))
