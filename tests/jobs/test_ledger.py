"""The SQLite job ledger: schema, transactions, state rules, claims and concurrent writers."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.ledger import (
    CANCELLED,
    COLLECTED,
    DONE,
    FAILED,
    PENDING,
    RUNNING,
    SUBMITTED,
    Ledger,
    NewRun,
)

ROOT = Path(__file__).resolve().parents[2]


def _new_run(run_id: str = "20260101-000000-aaaaaa", jobs: int = 3) -> NewRun:
    return NewRun(
        run_id=run_id,
        name="unit",
        primitive="sampler",
        target="aer",
        mitigation="none",
        options={"a": 1},
        shots=100,
        precision=None,
        seed=5,
        config={"circuits": ["c"]},
        manifest={"simulated_qubits": None},
        versions={"qiskit": "2"},
        run_dir="jobs/" + run_id,
        results_dir="results",
        jobs=tuple((f"c/{i:04d}", f"d/{i:04d}") for i in range(jobs)),
    )


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "jobs" / "ledger.sqlite") as opened:
        yield opened


def _raw(ledger: Ledger) -> sqlite3.Connection:
    return sqlite3.connect(ledger.path)


def _events(ledger: Ledger, run_id: str, state: str | None = None) -> list[dict]:
    events = ledger.events(run_id)
    return [e for e in events if state is None or e["state"] == state]


def test_schema_and_wal_mode(ledger):
    with _raw(ledger) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"meta", "runs", "jobs", "events"} <= tables
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert version == ("1",)
    # Opening again keeps the data and the schema version.
    ledger.create_run(_new_run())
    with Ledger(ledger.path) as again:
        assert [r.run_id for r in again.runs()] == ["20260101-000000-aaaaaa"]


def test_other_schema_version_is_refused(ledger):
    with _raw(ledger) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(QdmError, match="schema 99"):
        Ledger(ledger.path)


def test_create_run_records_run_jobs_and_event(ledger):
    new = _new_run(jobs=3)
    ledger.create_run(new)
    run = ledger.run(new.run_id)
    assert (run.name, run.primitive, run.target, run.shots, run.seed) == (
        "unit",
        "sampler",
        "aer",
        100,
        5,
    )
    assert run.options == {"a": 1} and run.config == {"circuits": ["c"]}
    assert run.versions == {"qiskit": "2"} and not run.cancelled
    jobs = ledger.jobs(new.run_id)
    assert [j.job_index for j in jobs] == [0, 1, 2]
    assert all(j.state == PENDING and j.job_id is None and not j.final for j in jobs)
    assert [j.pub_ids for j in jobs] == list(new.jobs)
    events = ledger.events(new.run_id)
    assert len(events) == 1
    assert events[0]["state"] == "CREATED" and events[0]["job_index"] is None
    assert "3 job(s)" in events[0]["message"]


def test_create_run_is_one_transaction(ledger):
    # Make the last statement of create_run (the CREATED event) fail: nothing may remain.
    with _raw(ledger) as db:
        db.execute(
            "CREATE TRIGGER no_events BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'events refused'); END"
        )
    with pytest.raises(sqlite3.DatabaseError, match="events refused"):
        ledger.create_run(_new_run())
    with _raw(ledger) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 0
    # The connection is usable again afterwards (the transaction was rolled back).
    with _raw(ledger) as db:
        db.execute("DROP TRIGGER no_events")
    ledger.create_run(_new_run())
    assert len(ledger.jobs("20260101-000000-aaaaaa")) == 3


def test_duplicate_run_id_is_refused(ledger):
    ledger.create_run(_new_run(jobs=2))
    with pytest.raises(ConfigError, match="already exists"):
        ledger.create_run(_new_run(jobs=5))
    assert len(ledger.jobs("20260101-000000-aaaaaa")) == 2
    assert len(ledger.events("20260101-000000-aaaaaa")) == 1


def test_run_lookup_by_prefix(ledger):
    for run_id in ("20260101-000000-aaa111", "20260101-000000-aab222", "20260202-000000-ccc333"):
        ledger.create_run(_new_run(run_id))
    assert ledger.run("20260202").run_id == "20260202-000000-ccc333"
    assert ledger.run("20260101-000000-aab").run_id == "20260101-000000-aab222"
    assert ledger.run("20260101-000000-aaa111").run_id == "20260101-000000-aaa111"
    with pytest.raises(ConfigError, match="ambiguous"):
        ledger.run("20260101-000000-aa")
    with pytest.raises(ConfigError, match="no run"):
        ledger.run("2027")
    with pytest.raises(ConfigError, match="no run"):
        ledger.run("2026%")  # a wildcard is not a prefix


def test_run_prefix_with_underscore_is_literal(ledger):
    # Run ids may be chosen by the caller (submit_plan(run_id=...)); '_' is an ordinary
    # character in them, not a wildcard.
    ledger.create_run(_new_run("exp_a-1"))
    ledger.create_run(_new_run("expXa-2"))
    assert ledger.run("exp_").run_id == "exp_a-1"
    assert ledger.run("expX").run_id == "expXa-2"


def test_record_job_id(ledger):
    ledger.create_run(_new_run())
    ledger.record_job_id("20260101-000000-aaaaaa", 1, "job-xyz")
    job = ledger.job("20260101-000000-aaaaaa", 1)
    assert (job.job_id, job.state, job.error) == ("job-xyz", SUBMITTED, None)
    assert job.submitted_at is not None
    assert ledger.job("20260101-000000-aaaaaa", 0).job_id is None
    (event,) = _events(ledger, "20260101-000000-aaaaaa", SUBMITTED)
    assert event["job_index"] == 1 and "job-xyz" in event["message"]
    with pytest.raises(ConfigError, match="no job 7"):
        ledger.job("20260101-000000-aaaaaa", 7)


def test_set_state_transitions(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    assert ledger.set_state(run_id, 0, SUBMITTED)
    assert ledger.set_state(run_id, 0, RUNNING)
    assert not ledger.set_state(run_id, 0, RUNNING)  # no change, no event
    assert ledger.set_state(run_id, 0, DONE)
    assert ledger.job(run_id, 0).state == DONE
    assert [e["state"] for e in _events(ledger, run_id) if e["job_index"] == 0] == [
        SUBMITTED,
        RUNNING,
        DONE,
    ]
    assert not ledger.set_state(run_id, 99, RUNNING)  # unknown job


@pytest.mark.parametrize("final", [COLLECTED, FAILED, CANCELLED])
def test_final_states_are_sticky(ledger, final):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    if final == COLLECTED:
        assert ledger.mark_collected(run_id, 2, rows=17)
    else:
        assert ledger.set_state(run_id, 2, final, "the reason")
        assert ledger.job(run_id, 2).error == "the reason"
    before = len(ledger.events(run_id))
    for state in (PENDING, SUBMITTED, RUNNING, DONE, FAILED, CANCELLED):
        assert not ledger.set_state(run_id, 2, state, "later")
    assert not ledger.mark_collected(run_id, 2, rows=3)
    job = ledger.job(run_id, 2)
    assert job.state == final and job.final
    assert job.error == (None if final == COLLECTED else "the reason")
    assert len(ledger.events(run_id)) == before


def test_mark_collected_is_idempotent(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    ledger.record_job_id(run_id, 0, "j0")
    assert ledger.claim(run_id, 0)
    assert ledger.mark_collected(run_id, 0, rows=42)
    assert not ledger.mark_collected(run_id, 0, rows=42)
    job = ledger.job(run_id, 0)
    assert (job.state, job.rows, job.claimed_by) == (COLLECTED, 42, None)
    assert len(_events(ledger, run_id, COLLECTED)) == 1


def test_claim_and_release(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    me = f"{socket.gethostname()}:{os.getpid()}"
    assert ledger.claim(run_id, 0)
    assert ledger.job(run_id, 0).claimed_by == me
    assert ledger.claim(run_id, 0)  # re-entrant for the holder
    ledger.release(run_id, 0)
    assert ledger.job(run_id, 0).claimed_by is None
    assert not ledger.claim(run_id, 99)
    ledger.set_state(run_id, 1, FAILED, "x")
    assert not ledger.claim(run_id, 1)  # nothing to claim in a final job


def _set_claim(ledger: Ledger, run_id: str, job_index: int, owner: str) -> None:
    with _raw(ledger) as db:
        db.execute(
            "UPDATE jobs SET claimed_by=? WHERE run_id=? AND job_index=?",
            (owner, run_id, job_index),
        )


def test_claim_held_by_a_live_process_blocks(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = f"{socket.gethostname()}:{sleeper.pid}"
        _set_claim(ledger, run_id, 0, holder)
        assert not ledger.claim(run_id, 0)
        ledger.release(run_id, 0)  # not ours: stays
        assert ledger.job(run_id, 0).claimed_by == holder
    finally:
        sleeper.kill()
        sleeper.wait()
    # The holder is gone now: its claim is taken over.
    assert ledger.claim(run_id, 0)
    assert ledger.job(run_id, 0).claimed_by != holder


def test_claim_held_by_a_dead_process_is_taken_over(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    _set_claim(ledger, run_id, 1, f"{socket.gethostname()}:{finished.pid}")
    assert ledger.claim(run_id, 1)
    assert ledger.job(run_id, 1).claimed_by.endswith(f":{os.getpid()}")


def test_claim_from_another_host_is_respected(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    _set_claim(ledger, run_id, 2, "some-other-host.example:1")
    assert not ledger.claim(run_id, 2)


def test_failed_transaction_rolls_back(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    with pytest.raises(RuntimeError, match="boom"), ledger.transaction() as db:
        db.execute("UPDATE jobs SET state='RUNNING' WHERE run_id=?", (run_id,))
        db.event(run_id, 0, "NOTE", "inside", "now")
        raise RuntimeError("boom")
    assert {j.state for j in ledger.jobs(run_id)} == {PENDING}
    assert [e["state"] for e in ledger.events(run_id)] == ["CREATED"]
    ledger.note(run_id, 0, "after")  # the connection is still usable
    assert [e["message"] for e in ledger.events(run_id)][-1] == "after"


_WRITER = textwrap.dedent(
    """
    import sys
    from qdm_qiskit.jobs.ledger import Ledger
    path, run_id, tag, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with Ledger(path) as ledger:
        for i in range(count):
            ledger.note(run_id, i % 3, f"{tag}-{i}")
    """
)


def test_concurrent_writers_lose_nothing(ledger):
    run_id = "20260101-000000-aaaaaa"
    ledger.create_run(_new_run())
    count = 200
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(ledger.path), run_id, tag, str(count)], cwd=ROOT
        )
        for tag in ("A", "B")
    ]
    for tag_index in range(50):  # this process writes too, while the others run
        ledger.note(run_id, None, f"C-{tag_index}")
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    messages = [e["message"] for e in _events(ledger, run_id, "NOTE")]
    assert len(messages) == 2 * count + 50
    for tag in ("A", "B"):
        mine = [m for m in messages if m.startswith(f"{tag}-")]
        assert mine == [f"{tag}-{i}" for i in range(count)]  # each writer's order kept
    with _raw(ledger) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2 * count + 51


def test_non_database_file_is_a_clear_error(tmp_path):
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"this is not a database, just some text\n" * 200)
    with pytest.raises(QdmError, match="not a qdm ledger"):
        Ledger(path)


def test_directory_as_ledger_path_is_a_clear_error(tmp_path):
    with pytest.raises(QdmError, match="ledger"):
        Ledger(tmp_path)


def test_no_token_is_stored_anywhere(tmp_path, monkeypatch):
    from qdm_qiskit.jobs.manager import Workspace, run_tasks

    sentinel = "SENTINEL-token-9f3b1c7e2d"
    monkeypatch.setenv("QISKIT_IBM_TOKEN", sentinel)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", sentinel + "-instance")
    theta = Parameter("theta")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    circuit.measure_all()
    task = CircuitTask("bell", circuit, np.linspace(0, 3, 5)[:, None])
    workspace = Workspace(jobs_dir=tmp_path / "jobs", results_dir=tmp_path / "results")
    results = run_tasks([task], target="aer", workspace=workspace, shots=100, chunk_size=2)
    assert results.counts is not None and len(results.jobs_collected) == 1

    def scan() -> list[Path]:
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert any(p.name == "ledger.sqlite" for p in files)
        assert any(p.suffix == ".parquet" for p in files)
        assert any("spool" in p.parts for p in files)
        return [p for p in files if sentinel.encode() in p.read_bytes()]

    with workspace.ledger():  # while a connection is open the -wal file exists too
        assert any(p.name.endswith("-wal") for p in tmp_path.rglob("*"))
        assert scan() == []
    assert scan() == []
