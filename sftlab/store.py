"""The results store: one SQLite file (`results.sqlite`, WAL mode) shared by eval, reports and experiments.

One row per (evaluation key, split, metric). An evaluation key identifies *what* was evaluated and *how*: a hash
of the checkpoint's content, the suite and the eval settings, so the same evaluation is never computed twice and
a changed setting never reuses stale numbers. Rows also carry the human names (run, checkpoint, step) used by
tables and curves.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from sftlab import __version__
from sftlab.errors import DataError

SCHEMA_VERSION = 1
_DAMAGED = (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)  # not a database, or a truncated/garbled one
FILENAME = "results.sqlite"
_OPEN_PATIENCE_S = 60  # how long to retry the setup while other processes set up the same new store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    key TEXT NOT NULL,          -- evaluation identity: hash(checkpoint content, suite, settings)
    run TEXT NOT NULL,          -- run or condition name, e.g. "diverse-answer-only" or "base"
    checkpoint TEXT NOT NULL,   -- checkpoint name, e.g. "checkpoint-40", "base", "oracle"
    step INTEGER,               -- training step (0 = base model), NULL for reference policies
    suite TEXT NOT NULL,        -- e.g. "sokoban-eval"
    split TEXT NOT NULL,        -- tag or split, e.g. "SimpleSokobanAlphabetical"
    metric TEXT NOT NULL,       -- e.g. "success", "validity"
    value REAL NOT NULL,
    ci_low REAL,
    ci_high REAL,
    n INTEGER NOT NULL,
    settings TEXT NOT NULL,     -- JSON of the eval settings
    PRIMARY KEY (key, split, metric)
);
CREATE INDEX IF NOT EXISTS results_by_run ON results (run, suite, split, metric);
"""


@dataclass(frozen=True)
class Result:
    """One stored number with its 95% interval and sample count."""

    key: str
    run: str
    checkpoint: str
    step: int | None
    suite: str
    split: str
    metric: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    settings: dict
    seq: int | None = None  # insertion order in its store (SQLite rowid; a replaced row gets a new, larger one)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Metric:
    """A metric to record: value, interval and n for one split."""

    split: str
    metric: str
    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None


class ResultsStore:
    """A results store at `path` (a file, or a folder that gets `results.sqlite`); created on first use."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if path.is_dir() or path.suffix == "":
            path = path / FILENAME
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        try:
            self._open_with_retries()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if getattr(exc, "sqlite_errorcode", None) not in _DAMAGED and "malformed" not in str(exc):
                raise  # a full or read-only disk, a lock held too long: the CLI says so in one line
            raise DataError(f"{path} is not a readable results store ({exc}); move it aside or choose another "
                            "--out, then re-run") from None

    def _open_with_retries(self) -> None:
        """Run `_open`, retrying while another process sets up the same store: switching a new file to WAL
        answers "database is locked" at once, without waiting on SQLite's busy timeout."""
        deadline = time.monotonic() + _OPEN_PATIENCE_S
        delay = 0.01
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _open(self) -> None:
        """Set up the connection and the schema; a damaged file fails here, before anything is evaluated."""
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        check = self._conn.execute("PRAGMA quick_check").fetchone()
        if check and check[0] != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {check[0]}")
        self._conn.executescript(_SCHEMA)
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('sftlab_version', ?)", (__version__,))

    # --- identity -------------------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0])

    @property
    def written_by(self) -> str:
        """The sftlab version that created this store."""
        return self._conn.execute("SELECT value FROM meta WHERE key='sftlab_version'").fetchone()[0]

    # --- writing --------------------------------------------------------------------------------------------
    def record(
        self,
        key: str,
        *,
        run: str,
        checkpoint: str,
        suite: str,
        metrics: Iterable[Metric],
        step: int | None = None,
        settings: dict | None = None,
    ) -> int:
        """Store all `metrics` of one evaluation in one transaction (replacing the same key's rows); return count."""
        settings_json = json.dumps(settings or {}, sort_keys=True)
        rows = [
            (key, run, checkpoint, step, suite, m.split, m.metric, float(m.value), m.ci_low, m.ci_high, int(m.n),
             settings_json)
            for m in metrics
        ]
        with self._transaction():
            self._conn.executemany("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        return len(rows)

    def delete(self, keys: Iterable[str]) -> None:
        """Remove every row of the evaluations with these keys, in one transaction."""
        with self._transaction():
            self._conn.executemany("DELETE FROM results WHERE key = ?", [(k,) for k in keys])

    def _transaction(self):
        conn = self._conn

        class _Tx:
            def __enter__(self):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, *_):
                conn.execute("ROLLBACK" if exc_type else "COMMIT")

        return _Tx()

    # --- reading --------------------------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        """True when an evaluation with this key is stored."""
        return self._conn.execute("SELECT 1 FROM results WHERE key=? LIMIT 1", (key,)).fetchone() is not None

    def query(self, **where: object) -> list[Result]:
        """Rows matching equality filters on any column (run=, suite=, split=, metric=, checkpoint=, key=, step=)."""
        columns = {"key", "run", "checkpoint", "step", "suite", "split", "metric"}
        unknown = set(where) - columns
        if unknown:
            raise ValueError(f"cannot filter results by {sorted(unknown)}; use {sorted(columns)}")
        clause = " AND ".join(f"{name} IS ?" for name in where) or "1"
        cursor = self._conn.execute(
            f"SELECT {', '.join(COLUMNS)}, rowid FROM results WHERE {clause} "  # noqa: S608
            "ORDER BY run, step, checkpoint, suite, split, metric",
            tuple(where.values()),
        )
        return [Result(*row[:-2], settings=json.loads(row[-2]), seq=row[-1]) for row in cursor]

    def runs(self) -> list[str]:
        """Distinct run names, sorted."""
        return [r[0] for r in self._conn.execute("SELECT DISTINCT run FROM results ORDER BY run")]

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


COLUMNS = ("key", "run", "checkpoint", "step", "suite", "split", "metric", "value", "ci_low", "ci_high", "n",
           "settings")


@dataclass(frozen=True)
class StoreSnapshot:
    """What a read-only look at a store found: its meta table, its results columns, and the rows (None when the
    results table lacks one of COLUMNS, e.g. a store of another schema)."""

    meta: dict
    columns: tuple[str, ...]
    rows: list[Result] | None


class UnreadableStore(Exception):
    """A file that cannot be opened or read as a results store (the message says why)."""


def read_snapshot(path: str | Path) -> StoreSnapshot:
    """Read a store without writing anything (never created, migrated or locked); UnreadableStore when the file
    cannot be opened or read as a store."""
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise UnreadableStore(str(exc)) from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(results)"))
        if not set(COLUMNS) <= set(columns):
            return StoreSnapshot(meta, columns, None)
        rows = []
        select = ", ".join(COLUMNS)
        for row in conn.execute(f"SELECT {select}, rowid FROM results "  # noqa: S608
                                "ORDER BY run, step, checkpoint, suite, split, metric"):
            try:
                settings = json.loads(row[-2]) if row[-2] else {}
            except json.JSONDecodeError:
                settings = {}
            rows.append(Result(*row[:-2], settings=settings if isinstance(settings, dict) else {}, seq=row[-1]))
        return StoreSnapshot(meta, columns, rows)
    except sqlite3.Error as exc:
        raise UnreadableStore(str(exc)) from None
    finally:
        conn.close()


def count_rows(path: str | Path, keys: Iterable[str]) -> dict[str, int]:
    """{key: number of stored rows} for the given evaluation keys (keys without rows left out), read-only;
    UnreadableStore when the file is missing, damaged or not a results store."""
    keys = list(keys)
    if not Path(path).is_file():
        raise UnreadableStore(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise UnreadableStore(str(exc)) from None
    try:
        counts: dict[str, int] = {}
        for start in range(0, len(keys), 500):  # SQLite limits the number of bound parameters
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, COUNT(*) FROM results WHERE key IN ({marks}) GROUP BY key"  # noqa: S608
            counts.update(dict(conn.execute(query, chunk).fetchall()))
        return counts
    except sqlite3.Error as exc:
        raise UnreadableStore(str(exc)) from None
    finally:
        conn.close()


def is_damaged(path: str | Path) -> bool:
    """True when the file at `path` exists but cannot be read as a results store (truncated, garbled, other)."""
    try:
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return True
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()
        conn.execute("SELECT COUNT(*) FROM results").fetchone()
        return not check or check[0] != "ok"
    except sqlite3.Error:
        return True
    finally:
        conn.close()
