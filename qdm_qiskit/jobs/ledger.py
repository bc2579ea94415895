"""The durable job ledger: an SQLite database (WAL mode) that outlives the laptop's sleep.

A run is written **before** anything is submitted (with all its jobs in state ``PENDING``), and a
job id is written the moment the primitive's ``run()`` returns, each in its own transaction. Every
state change appends an event, so ``qdm status`` can show the history. Writers use ``BEGIN
IMMEDIATE`` transactions and a busy timeout, so two ``qdm collect`` processes serialize on the
database instead of corrupting it; a job is *claimed* by one collector at a time, and a claim
held by a process that has died is taken over. Tokens never reach this file: only the target
string, options and manifests are stored.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qdm_qiskit.errors import ConfigError, QdmError

SCHEMA_VERSION = 1
#: Job states. ``COLLECTED``, ``FAILED`` and ``CANCELLED`` are final.
PENDING, SUBMITTED, QUEUED, RUNNING, DONE = "PENDING", "SUBMITTED", "QUEUED", "RUNNING", "DONE"
COLLECTED, FAILED, CANCELLED = "COLLECTED", "FAILED", "CANCELLED"
FINAL_STATES = frozenset({COLLECTED, FAILED, CANCELLED})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    name TEXT NOT NULL,
    primitive TEXT NOT NULL,
    target TEXT NOT NULL,
    mitigation TEXT NOT NULL,
    options TEXT NOT NULL,
    shots INTEGER NOT NULL,
    precision REAL,
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    manifest TEXT NOT NULL,
    versions TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    results_dir TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS jobs (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    job_index INTEGER NOT NULL,
    job_id TEXT,
    state TEXT NOT NULL,
    error TEXT,
    pub_ids TEXT NOT NULL,
    rows INTEGER,
    submitted_at TEXT,
    updated_at TEXT NOT NULL,
    claimed_by TEXT,
    PRIMARY KEY (run_id, job_index)
);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    job_index INTEGER,
    at TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, event_id);
"""


def utc_now() -> str:
    """ISO-8601 UTC timestamp with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class _RunFields:
    """What a run is: the fields written at creation and read back unchanged."""

    run_id: str
    name: str
    primitive: str
    target: str
    mitigation: str
    options: dict[str, Any]
    shots: int
    precision: float | None
    seed: int
    config: dict[str, Any]
    manifest: dict[str, Any]
    versions: dict[str, Any]
    run_dir: str
    results_dir: str


@dataclass(frozen=True)
class RunRow(_RunFields):
    """A run as stored in the ledger: its fields, when it was created, whether cancelled."""

    created_at: str
    cancelled: bool


@dataclass(frozen=True)
class JobRow:
    """A job as stored in the ledger."""

    run_id: str
    job_index: int
    job_id: str | None
    state: str
    error: str | None
    pub_ids: tuple[str, ...]
    rows: int | None
    submitted_at: str | None
    updated_at: str
    claimed_by: str | None

    @property
    def final(self) -> bool:
        """Whether nothing more will happen to this job."""
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class NewRun(_RunFields):
    """What :meth:`Ledger.create_run` records before submission: the run and its jobs' PUBs."""

    jobs: tuple[tuple[str, ...], ...]


class Ledger:
    """The ledger database at ``path`` (created with its schema on first use)."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        """Open (or create) the database; ``timeout`` is how long a writer waits for a lock."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise QdmError(f"{self.path}: cannot open the ledger ({exc})") from exc
        self._connection.row_factory = sqlite3.Row
        try:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            self._connection.execute("PRAGMA foreign_keys=ON")
            with self.transaction() as db:
                db.executescript_safe(_SCHEMA)
                db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        except sqlite3.DatabaseError as exc:
            self._connection.close()
            raise QdmError(f"{self.path}: not a qdm ledger database ({exc})") from exc
        version = self._connection.execute(
            "SELECT value FROM meta WHERE key='schema_version'"
        ).fetchone()
        if version is None or int(version[0]) != SCHEMA_VERSION:
            raise QdmError(f"{self.path}: ledger schema {version and version[0]} is not supported")

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()

    def __enter__(self) -> Ledger:
        """Use as a context manager that closes the connection."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the connection."""
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """A write transaction (``BEGIN IMMEDIATE``): all or nothing."""
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield _Tx(connection)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------------

    def create_run(self, run: NewRun) -> None:
        """Record a run and its jobs (``PENDING``), before anything is submitted."""
        now = utc_now()
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM runs WHERE run_id=?", (run.run_id,)).fetchone():
                raise ConfigError(f"run {run.run_id} already exists in {self.path}")
            db.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)",
                (
                    run.run_id,
                    now,
                    run.name,
                    run.primitive,
                    run.target,
                    run.mitigation,
                    _dumps(run.options),
                    run.shots,
                    run.precision,
                    run.seed,
                    _dumps(run.config),
                    _dumps(run.manifest),
                    _dumps(run.versions),
                    run.run_dir,
                    run.results_dir,
                ),
            )
            for index, pub_ids in enumerate(run.jobs):
                db.execute(
                    "INSERT INTO jobs (run_id, job_index, state, pub_ids, updated_at) "
                    "VALUES (?,?,?,?,?)",
                    (run.run_id, index, PENDING, _dumps(list(pub_ids)), now),
                )
            db.event(run.run_id, None, "CREATED", f"{len(run.jobs)} job(s) planned", now)

    def runs(self) -> list[RunRow]:
        """All runs, oldest first."""
        rows = self._connection.execute("SELECT * FROM runs ORDER BY created_at, run_id")
        return [_run_row(r) for r in rows]

    def run(self, run_id: str) -> RunRow:
        """The run ``run_id``, or a unique prefix of it.

        Raises:
            ConfigError: no such run, or an ambiguous prefix.
        """
        rows = self._connection.execute(
            "SELECT * FROM runs WHERE substr(run_id, 1, length(?)) = ? ORDER BY run_id",
            (run_id, run_id),
        ).fetchall()
        exact = [r for r in rows if r["run_id"] == run_id]
        if exact:
            return _run_row(exact[0])
        if not rows:
            raise ConfigError(f"no run {run_id!r} in {self.path} (see 'qdm status')")
        if len(rows) > 1:
            options = ", ".join(r["run_id"] for r in rows[:5])
            raise ConfigError(f"run prefix {run_id!r} is ambiguous: {options}")
        return _run_row(rows[0])

    def mark_cancelled(self, run_id: str) -> None:
        """Flag a run as cancelled by the user."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET cancelled=1 WHERE run_id=?", (run_id,))
            db.event(run_id, None, CANCELLED, "cancelled by the user", utc_now())

    # -- jobs -------------------------------------------------------------------------------

    def jobs(self, run_id: str) -> list[JobRow]:
        """The jobs of a run in index order."""
        rows = self._connection.execute(
            "SELECT * FROM jobs WHERE run_id=? ORDER BY job_index", (run_id,)
        )
        return [_job_row(r) for r in rows]

    def job(self, run_id: str, job_index: int) -> JobRow:
        """One job."""
        row = self._connection.execute(
            "SELECT * FROM jobs WHERE run_id=? AND job_index=?", (run_id, job_index)
        ).fetchone()
        if row is None:
            raise ConfigError(f"run {run_id} has no job {job_index}")
        return _job_row(row)

    def record_job_id(self, run_id: str, job_index: int, job_id: str, message: str = "") -> None:
        """Store the id the service gave a job, the moment ``run()`` returned it."""
        now = utc_now()
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET job_id=?, state=?, error=NULL, submitted_at=?, updated_at=? "
                "WHERE run_id=? AND job_index=?",
                (job_id, SUBMITTED, now, now, run_id, job_index),
            )
            db.event(run_id, job_index, SUBMITTED, message or f"job id {job_id}", now)

    def set_state(
        self, run_id: str, job_index: int, state: str, message: str | None = None
    ) -> bool:
        """Move a non-final job to ``state``; returns whether anything changed.

        ``FAILED`` and ``CANCELLED`` keep ``message`` as the job's error.
        """
        now = utc_now()
        with self.transaction() as db:
            row = db.execute(
                "SELECT state, error FROM jobs WHERE run_id=? AND job_index=?",
                (run_id, job_index),
            ).fetchone()
            if row is None or row["state"] in FINAL_STATES:
                return False
            error = message if state in (FAILED, CANCELLED) else row["error"]
            if row["state"] == state and error == row["error"]:
                return False
            db.execute(
                "UPDATE jobs SET state=?, error=?, updated_at=? WHERE run_id=? AND job_index=?",
                (state, error, now, run_id, job_index),
            )
            db.event(run_id, job_index, state, message, now)
            return True

    def mark_collected(self, run_id: str, job_index: int, rows: int) -> bool:
        """Record that a job's results are in the store; ``False`` if it already was."""
        now = utc_now()
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE jobs SET state=?, rows=?, updated_at=?, claimed_by=NULL "
                "WHERE run_id=? AND job_index=? AND state NOT IN (?,?,?)",
                (COLLECTED, rows, now, run_id, job_index, *sorted(FINAL_STATES)),
            ).rowcount
            if changed:
                db.event(run_id, job_index, COLLECTED, f"{rows} result row(s) stored", now)
            return bool(changed)

    def note(self, run_id: str, job_index: int | None, message: str) -> None:
        """Append an informational event (state ``NOTE``)."""
        with self.transaction() as db:
            db.event(run_id, job_index, "NOTE", message, utc_now())

    def claim(self, run_id: str, job_index: int) -> bool:
        """Claim a job for this process; ``False`` if a live process holds it.

        A claim names ``host:pid``; on the same host, a claim whose process is gone (killed
        collector) is taken over.
        """
        me = _owner()
        with self.transaction() as db:
            row = db.execute(
                "SELECT claimed_by, state FROM jobs WHERE run_id=? AND job_index=?",
                (run_id, job_index),
            ).fetchone()
            if row is None or row["state"] in FINAL_STATES:
                return False
            holder = row["claimed_by"]
            if holder and holder != me and _owner_alive(holder):
                return False
            db.execute(
                "UPDATE jobs SET claimed_by=? WHERE run_id=? AND job_index=?",
                (me, run_id, job_index),
            )
            return True

    def release(self, run_id: str, job_index: int) -> None:
        """Drop this process's claim on a job."""
        with self.transaction() as db:
            db.execute(
                "UPDATE jobs SET claimed_by=NULL WHERE run_id=? AND job_index=? AND claimed_by=?",
                (run_id, job_index, _owner()),
            )

    def events(self, run_id: str) -> list[dict[str, Any]]:
        """The status history of a run, oldest first."""
        rows = self._connection.execute(
            "SELECT job_index, at, state, message FROM events WHERE run_id=? ORDER BY event_id",
            (run_id,),
        )
        return [dict(r) for r in rows]


class _Tx:
    """The cursor-like object handed out by :meth:`Ledger.transaction`."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._connection.execute(sql, parameters)

    def executescript_safe(self, script: str) -> None:
        # executescript would COMMIT the open transaction; run statement by statement instead.
        for statement in script.split(";"):
            if statement.strip():
                self._connection.execute(statement)

    def event(
        self, run_id: str, job_index: int | None, state: str, message: str | None, at: str
    ) -> None:
        self._connection.execute(
            "INSERT INTO events (run_id, job_index, at, state, message) VALUES (?,?,?,?,?)",
            (run_id, job_index, at, state, message),
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _run_row(row: sqlite3.Row) -> RunRow:
    return RunRow(
        run_id=row["run_id"],
        created_at=row["created_at"],
        name=row["name"],
        primitive=row["primitive"],
        target=row["target"],
        mitigation=row["mitigation"],
        options=json.loads(row["options"]),
        shots=row["shots"],
        precision=row["precision"],
        seed=row["seed"],
        config=json.loads(row["config"]),
        manifest=json.loads(row["manifest"]),
        versions=json.loads(row["versions"]),
        run_dir=row["run_dir"],
        results_dir=row["results_dir"],
        cancelled=bool(row["cancelled"]),
    )


def _job_row(row: sqlite3.Row) -> JobRow:
    return JobRow(
        run_id=row["run_id"],
        job_index=row["job_index"],
        job_id=row["job_id"],
        state=row["state"],
        error=row["error"],
        pub_ids=tuple(json.loads(row["pub_ids"])),
        rows=row["rows"],
        submitted_at=row["submitted_at"],
        updated_at=row["updated_at"],
        claimed_by=row["claimed_by"],
    )


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's claim: assume it is alive
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
