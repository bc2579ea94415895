"""The job manager end to end on local targets: plan -> submit -> collect -> tidy DataFrames.

Jobs are made small by lowering the per-job execution budget of the planner
(``MAX_EXECUTIONS_PER_JOB``), so a few bindings and shots already give several jobs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector

from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.jobs import plan as plan_module
from qdm_qiskit.jobs import services
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.ledger import CANCELLED, COLLECTED, FAILED, PENDING, SUBMITTED, NewRun
from qdm_qiskit.jobs.manager import (
    Workspace,
    cancel_run,
    collect_run,
    jobs_table,
    plan_tasks,
    run_tasks,
    status_table,
    submit_plan,
)
from qdm_qiskit.jobs.plan import RunPlan, job_seed
from qdm_qiskit.jobs.services import LocalExecutor, TransientError
from qdm_qiskit.results.store import ResultStore, RunResults

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("_collect_worker.py")
SHOTS = 200
CHUNK = 4
#: Per-job execution budget during these tests: one PUB of CHUNK x SHOTS executions per job.
BUDGET = 1000
COUNT_KEYS = ["circuit", "binding", "register", "bitstring"]


# -- tasks -----------------------------------------------------------------------------------


def _alpha(bindings: int = 10, seed: int = 1) -> CircuitTask:
    """Two qubits, one register: only 00 and 11 can be measured."""
    t = ParameterVector("t", 2)
    circuit = QuantumCircuit(2)
    circuit.ry(t[0], 0)
    circuit.cx(0, 1)
    circuit.rz(t[1], 1)
    circuit.measure_all()
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, (bindings, 2))
    return CircuitTask("alpha", circuit, values)


def _beta(bindings: int = 6, seed: int = 2) -> CircuitTask:
    """Three qubits, two registers: 'a' (2 bits, 00 or 11) and 'b' (1 bit, P(1)=sin^2(u/2))."""
    u = ParameterVector("u", 2)
    qubits = QuantumRegister(3, "q")
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    circuit = QuantumCircuit(qubits, a, b)
    circuit.rx(u[0], 0)
    circuit.cx(0, 1)
    circuit.ry(u[1], 2)
    circuit.measure([0, 1], a)
    circuit.measure(2, b[0])
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, (bindings, 2))
    return CircuitTask("beta", circuit, values)


OBSERVABLES = (("ZZ", "ZZ"), ("XI", "XI"), ("Zq1", "ZI"), ("YX", "YX"))


def _gamma(bindings: int = 6, seed: int = 3) -> CircuitTask:
    """Estimator task without measurements."""
    t = ParameterVector("t", 2)
    circuit = QuantumCircuit(2)
    circuit.ry(t[0], 0)
    circuit.cx(0, 1)
    circuit.rx(t[1], 1)
    circuit.h(0)
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, (bindings, 2))
    observables = tuple((name, SparsePauliOp(label)) for name, label in OBSERVABLES)
    return CircuitTask("gamma", circuit, values, observables)


def _registers(task: CircuitTask) -> dict[str, int]:
    return {creg.name: creg.size for creg in task.circuit.cregs}


# -- fixtures --------------------------------------------------------------------------------


@dataclass
class Run:
    workspace: Workspace
    run_id: str
    plan: RunPlan
    tasks: list[CircuitTask]
    results: RunResults


def _workspace(path: Path) -> Workspace:
    return Workspace(jobs_dir=path / "jobs", results_dir=path / "results")


def _plan(tasks: list[CircuitTask], **options: Any) -> RunPlan:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", options.pop("budget", BUDGET))
        return plan_tasks(tasks, **options)


def _submit_and_collect(workspace: Workspace, tasks: list[CircuitTask], **options: Any) -> Run:
    plan = _plan(tasks, **options)
    run_id = submit_plan(plan, workspace=workspace, name="test")
    report = collect_run(run_id, workspace=workspace)
    assert report.complete and sorted(report.collected) == [j.index for j in plan.jobs]
    return Run(workspace, run_id, plan, tasks, ResultStore(workspace.results_dir).load(run_id))


@pytest.fixture(scope="module")
def aer_sampler(tmp_path_factory) -> Run:
    workspace = _workspace(tmp_path_factory.mktemp("aer_sampler"))
    tasks = [_alpha(), _beta()]
    return _submit_and_collect(
        workspace, tasks, target="aer", shots=SHOTS, chunk_size=CHUNK, seed=11
    )


@pytest.fixture(scope="module")
def readout_sampler(tmp_path_factory) -> Run:
    workspace = _workspace(tmp_path_factory.mktemp("readout_sampler"))
    tasks = [_alpha(6), _beta(4)]
    return _submit_and_collect(
        workspace,
        tasks,
        target="fake:FakeManilaV2",
        mitigation="readout",
        shots=SHOTS,
        chunk_size=CHUNK,
        seed=12,
    )


def _ledger_jobs(run: Run) -> list:
    with run.workspace.ledger() as ledger:
        return ledger.jobs(run.run_id)


def _events(workspace: Workspace, run_id: str) -> list[dict]:
    with workspace.ledger() as ledger:
        return ledger.events(run_id)


def _collected_events(workspace: Workspace, run_id: str) -> dict[int, int]:
    events = [e for e in _events(workspace, run_id) if e["state"] == COLLECTED]
    counts: dict[int, int] = {}
    for event in events:
        counts[event["job_index"]] = counts.get(event["job_index"], 0) + 1
    return counts


def _data_rows(counts: pd.DataFrame) -> pd.DataFrame:
    return counts[counts["circuit"] != "calibration"]


def _check_counts_complete(counts: pd.DataFrame, tasks: list[CircuitTask], shots: int) -> None:
    """Every (circuit, binding) once per register, counts summing to shots, no duplicates."""
    data = _data_rows(counts)
    assert not data.duplicated(COUNT_KEYS).any()
    sums = data.groupby(["circuit", "binding", "register"])["count"].sum()
    expected = {
        (task.name, b, register)
        for task in tasks
        for b in range(task.num_bindings)
        for register in _registers(task)
    }
    assert set(sums.index) == expected
    assert (sums == shots).all()
    assert (data["shots"] == shots).all()
    widths = {(t.name, r): n for t in tasks for r, n in _registers(t).items()}
    for (circuit, register), rows in data.groupby(["circuit", "register"]):
        assert (rows["bitstring"].str.len() == widths[(circuit, register)]).all()


def _without_ids(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.drop(columns=["run_id", "job_id"]).sort_values(keys, ignore_index=True)


def _part_files(workspace: Workspace, run_id: str) -> list[Path]:
    return sorted((Path(workspace.results_dir) / run_id / "parts").glob("*.parquet"))


def _raw_parts(workspace: Workspace, run_id: str) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in _part_files(workspace, run_id)])


# -- the full path ---------------------------------------------------------------------------


def test_sampler_on_aer_gives_complete_joined_counts(aer_sampler):
    run, counts = aer_sampler, aer_sampler.results.counts
    assert len(run.plan.jobs) >= 4  # several jobs
    jobs = _ledger_jobs(run)
    assert all(j.state == COLLECTED for j in jobs)
    assert run.results.jobs_collected == tuple(j.job_index for j in jobs)

    # Ledger job ids are the job ids of the rows, job by job.
    ids = {j.job_index: j.job_id for j in jobs}
    assert len(set(ids.values())) == len(ids)
    for job_index, rows in counts.groupby("job_index"):
        assert set(rows["job_id"]) == {ids[job_index]}
    assert set(counts["run_id"]) == {run.run_id}

    _check_counts_complete(counts, run.tasks, SHOTS)
    # A binding lands in the PUB of its chunk.
    for _, row in counts.drop_duplicates(["circuit", "binding"]).iterrows():
        assert row["pub_id"] == f"{row['circuit']}/{row['binding'] // CHUNK:04d}"

    # Rows per job in the ledger equal the rows stored for it.
    per_job = counts.groupby("job_index").size()
    assert {j.job_index: j.rows for j in jobs} == per_job.to_dict()

    # The combined file equals what load() reads from the parts.
    combined = pd.read_parquet(Path(run.workspace.results_dir) / run.run_id / "counts.parquet")
    assert len(combined) == len(counts)


def test_sampler_counts_follow_the_ideal_distribution(aer_sampler):
    counts = aer_sampler.results.counts
    alpha, beta = aer_sampler.tasks
    assert set(counts[counts["circuit"] == "alpha"]["bitstring"]) <= {"00", "11"}
    a_rows = counts[(counts["circuit"] == "beta") & (counts["register"] == "a")]
    assert set(a_rows["bitstring"]) <= {"00", "11"}
    # Bit b is qubit 2: P(1) = sin^2(u1 / 2), u1 the binding's second parameter.
    for binding, (u0, u1) in enumerate(beta.parameter_values):
        rows = counts[(counts["circuit"] == "beta") & (counts["binding"] == binding)]
        ones = rows[(rows["register"] == "b") & (rows["bitstring"] == "1")]["count"].sum()
        p1 = np.sin(u1 / 2) ** 2
        assert abs(ones / SHOTS - p1) < 5 * np.sqrt(p1 * (1 - p1) / SHOTS) + 0.02
        # Register a: P(11) = sin^2(u0 / 2).
        eleven = rows[(rows["register"] == "a") & (rows["bitstring"] == "11")]["count"].sum()
        p11 = np.sin(u0 / 2) ** 2
        assert abs(eleven / SHOTS - p11) < 5 * np.sqrt(p11 * (1 - p11) / SHOTS) + 0.02
    for binding, (t0, _) in enumerate(alpha.parameter_values):
        rows = counts[(counts["circuit"] == "alpha") & (counts["binding"] == binding)]
        p11 = np.sin(t0 / 2) ** 2
        eleven = rows[rows["bitstring"] == "11"]["count"].sum()
        assert abs(eleven / SHOTS - p11) < 5 * np.sqrt(p11 * (1 - p11) / SHOTS) + 0.02


def test_bindings_join_to_their_parameter_values(aer_sampler):
    results = aer_sampler.results
    for task in aer_sampler.tasks:
        names = [p.name for p in task.circuit.parameters]
        joined = results.with_parameters("counts", task.name)
        assert len(joined) == len(results.counts[results.counts["circuit"] == task.name])
        assert not joined[names].isna().any().any()
        got = joined.drop_duplicates("binding").sort_values("binding")
        np.testing.assert_array_equal(got["binding"].to_numpy(), np.arange(task.num_bindings))
        np.testing.assert_array_equal(got[names].to_numpy(), task.parameter_values)
        table = results.parameter_table(task.name)
        np.testing.assert_array_equal(table[names].to_numpy(), task.parameter_values)


def test_collect_twice_adds_nothing(aer_sampler):
    run = aer_sampler
    parts = _part_files(run.workspace, run.run_id)
    before = {p: p.stat().st_mtime_ns for p in parts}
    events_before = _events(run.workspace, run.run_id)
    time.sleep(0.01)
    report = collect_run(run.run_id, workspace=run.workspace)
    assert report.collected == [] and report.resubmitted == [] and report.failed == []
    assert report.complete
    assert {p: p.stat().st_mtime_ns for p in _part_files(run.workspace, run.run_id)} == before
    again = ResultStore(run.workspace.results_dir).load(run.run_id)
    pd.testing.assert_frame_equal(again.counts, run.results.counts)
    assert _events(run.workspace, run.run_id) == events_before
    assert set(_collected_events(run.workspace, run.run_id).values()) == {1}


def test_status_and_jobs_tables(aer_sampler, tmp_path):
    run = aer_sampler
    with run.workspace.ledger() as ledger:
        status = status_table(ledger)
        jobs = jobs_table(ledger, run.run_id[:15])  # a prefix is enough
    assert list(status.columns) == [
        "run",
        "name",
        "primitive",
        "target",
        "mitigation",
        "jobs",
        "collected",
        "failed",
        "state",
    ]
    row = status.set_index("run").loc[run.run_id]
    assert (row["name"], row["primitive"], row["target"], row["mitigation"]) == (
        "test",
        "sampler",
        "aer",
        "none",
    )
    assert row["jobs"] == row["collected"] == len(run.plan.jobs)
    assert (row["failed"], row["state"]) == (0, "complete")

    assert list(jobs.columns) == ["job", "job_id", "state", "pubs", "rows", "error"]
    assert jobs["job"].tolist() == [j.index for j in run.plan.jobs]
    assert jobs["pubs"].tolist() == [len(j.pub_ids) for j in run.plan.jobs]
    assert set(jobs["state"]) == {COLLECTED}
    assert jobs["rows"].tolist() == run.results.counts.groupby("job_index").size().tolist()
    assert set(jobs["error"]) == {""}

    with Workspace(tmp_path / "j", tmp_path / "r").ledger() as empty:
        table = status_table(empty)
    assert table.empty and list(table.columns) == list(status.columns)


def test_readout_mitigation_on_fake_manila(readout_sampler):
    run, counts = readout_sampler, readout_sampler.results.counts
    jobs = _ledger_jobs(run)
    assert len(jobs) >= 3 and all(j.state == COLLECTED for j in jobs)
    ids = {j.job_index: j.job_id for j in jobs}
    for job_index, rows in counts.groupby("job_index"):
        assert set(rows["job_id"]) == {ids[job_index]}
    assert "quasi_probability" in counts.columns
    _check_counts_complete(counts, run.tasks, SHOTS)
    data = _data_rows(counts)
    sums = data.groupby(["circuit", "binding", "register"])["quasi_probability"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-6)
    # Mitigated probabilities stay close to the raw frequencies on a 5-qubit fake device.
    raw = data["count"] / data["shots"]
    assert (data["quasi_probability"] - raw).abs().max() < 0.2
    for task in run.tasks:
        joined = run.results.with_parameters("counts", task.name)
        names = [p.name for p in task.circuit.parameters]
        got = joined.drop_duplicates("binding").sort_values("binding")[names].to_numpy()
        np.testing.assert_array_equal(got, task.parameter_values)


def test_readout_calibration_counts_of_every_job_are_kept(readout_sampler):
    # Each job carries its own calibration PUBs (cal0, cal1): their counts must survive the
    # combine/load step job by job, each PUB summing to the shots.
    run = readout_sampler
    raw = _raw_parts(run.workspace, run.run_id)
    raw_cal = raw[raw["circuit"] == "calibration"]
    assert set(raw_cal["job_index"]) == {j.index for j in run.plan.jobs}
    counts = run.results.counts
    cal = counts[counts["circuit"] == "calibration"]
    sums = cal.groupby(["job_index", "pub_id"])["count"].sum()
    expected = {(j.index, pub) for j in run.plan.jobs for pub in ("cal0", "cal1")}
    assert set(sums.index) == expected
    assert (sums == SHOTS).all()


def _ideal_expectations(task: CircuitTask) -> np.ndarray:
    """(bindings, observables) from the statevector."""
    out = np.zeros((task.num_bindings, len(task.observables)))
    for b, values in enumerate(task.parameter_values):
        state = Statevector(task.circuit.assign_parameters(values))
        for o, (_, observable) in enumerate(task.observables):
            out[b, o] = state.expectation_value(observable).real
    return out


def _check_expectations(run: Run, tolerance: float) -> None:
    (task,) = run.tasks
    frame = run.results.expectations
    assert run.results.counts is None
    jobs = _ledger_jobs(run)
    ids = {j.job_index: j.job_id for j in jobs}
    assert len(ids) >= 2
    for job_index, rows in frame.groupby("job_index"):
        assert set(rows["job_id"]) == {ids[job_index]}
    assert not frame.duplicated(["circuit", "binding", "observable"]).any()
    assert len(frame) == task.num_bindings * len(task.observables)
    ideal = _ideal_expectations(task)
    table = frame.set_index(["binding", "observable"])["value"]
    for b in range(task.num_bindings):
        for o, (name, _) in enumerate(task.observables):
            assert abs(table[(b, name)] - ideal[b, o]) < tolerance, (b, name)
    joined = run.results.with_parameters("expectations", task.name)
    names = [p.name for p in task.circuit.parameters]
    got = joined.drop_duplicates("binding").sort_values("binding")[names].to_numpy()
    np.testing.assert_array_equal(got, task.parameter_values)


def test_estimator_on_aer_matches_the_statevector(tmp_path):
    precision = 0.05
    run = _submit_and_collect(
        _workspace(tmp_path),
        [_gamma()],
        target="aer",
        primitive="estimator",
        precision=precision,
        chunk_size=2,
        seed=4,
        budget=2000,
    )
    assert np.allclose(run.results.expectations["stderr"], precision)
    _check_expectations(run, 5 * precision)


def test_estimator_on_fake_manila_without_mitigation(tmp_path):
    run = _submit_and_collect(
        _workspace(tmp_path),
        [_gamma(4)],
        target="fake:FakeManilaV2",
        primitive="estimator",
        mitigation="none",
        precision=0.05,
        chunk_size=2,
        seed=5,
        budget=2000,
    )
    assert run.results.info["mitigation"] == "none"
    assert (run.results.expectations["stderr"] > 0).all()
    _check_expectations(run, 0.35)  # a noisy device: shot noise plus a bias


def test_same_seed_same_counts_on_noisy_aer(tmp_path):
    def counts(path: Path, seed: int) -> pd.DataFrame:
        run = _submit_and_collect(
            _workspace(path),
            [_alpha(8)],
            target="aer:FakeManilaV2",
            shots=SHOTS,
            chunk_size=CHUNK,
            seed=seed,
        )
        assert len(run.plan.jobs) == 2
        return _without_ids(run.results.counts, COUNT_KEYS)

    first, second = counts(tmp_path / "a", 21), counts(tmp_path / "b", 21)
    pd.testing.assert_frame_equal(first, second)
    assert not counts(tmp_path / "c", 22).equals(first)


def test_lost_local_job_is_reexecuted_with_the_same_seed(tmp_path):
    workspace = _workspace(tmp_path)
    plan = _plan([_alpha(12)], target="aer:FakeManilaV2", shots=SHOTS, chunk_size=CHUNK, seed=8)
    assert len(plan.jobs) == 3
    untouched = submit_plan(plan, workspace=workspace)
    damaged = submit_plan(plan, workspace=workspace)
    with workspace.ledger() as ledger:
        old_id = ledger.job(damaged, 1).job_id
    spool = Path(workspace.jobs_dir) / damaged / "spool" / f"{old_id}.json"
    assert spool.exists()
    spool.unlink()

    assert collect_run(untouched, workspace=workspace).resubmitted == []
    report = collect_run(damaged, workspace=workspace)
    assert report.resubmitted == [1]
    assert sorted(report.collected) == [0, 1, 2] and report.complete

    store = ResultStore(workspace.results_dir)
    reference, recovered = store.load(untouched).counts, store.load(damaged).counts
    pd.testing.assert_frame_equal(
        _without_ids(recovered, COUNT_KEYS), _without_ids(reference, COUNT_KEYS)
    )
    with workspace.ledger() as ledger:
        job = ledger.job(damaged, 1)
        assert job.state == COLLECTED and job.job_id != old_id
        notes = [e for e in ledger.events(damaged) if e["state"] == "NOTE"]
    assert set(recovered[recovered["job_index"] == 1]["job_id"]) == {job.job_id}
    assert any("re-executing" in (e["message"] or "") for e in notes)


# -- crashes and races -----------------------------------------------------------------------


def _worker(workspace: Workspace, run_id: str, delay: float, go: Path | None = None):
    command = [
        sys.executable,
        str(WORKER),
        str(workspace.jobs_dir),
        str(workspace.results_dir),
        run_id,
        str(delay),
    ]
    if go is not None:
        command.append(str(go))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, "the collector ended before it was killed"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _check_run_stored_once(run_id: str, workspace: Workspace, tasks, jobs: int) -> None:
    assert _collected_events(workspace, run_id) == dict.fromkeys(range(jobs), 1)
    with workspace.ledger() as ledger:
        assert all(j.state == COLLECTED and j.claimed_by is None for j in ledger.jobs(run_id))
    raw = _raw_parts(workspace, run_id)
    assert not raw.duplicated(COUNT_KEYS).any()
    _check_counts_complete(ResultStore(workspace.results_dir).load(run_id).counts, tasks, SHOTS)
    _check_counts_complete(raw, tasks, SHOTS)
    leftovers = [p for p in Path(workspace.jobs_dir).parent.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    with sqlite3.connect(workspace.ledger_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.fixture
def five_job_run(tmp_path) -> Iterator[tuple[Workspace, str, list[CircuitTask]]]:
    workspace = _workspace(tmp_path)
    tasks = [_alpha(10), _beta(6)]
    plan = _plan(tasks, target="aer", shots=SHOTS, chunk_size=CHUNK, seed=31)
    assert len(plan.jobs) == 5
    yield workspace, submit_plan(plan, workspace=workspace), tasks


def test_kill_9_during_collect_then_collect_again(five_job_run):
    workspace, run_id, tasks = five_job_run
    worker = _worker(workspace, run_id, delay=2.0)
    try:
        # Job 0 is stored and marked; job 1's part is written but not yet marked collected.
        _wait_for(
            Path(workspace.results_dir) / run_id / "parts" / "job-0001.counts.parquet", worker
        )
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(timeout=30)
        worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL
    with workspace.ledger() as ledger:
        states = [j.state for j in ledger.jobs(run_id)]
        claimed = ledger.job(run_id, 1).claimed_by
    assert states[0] == COLLECTED and states[1:] == [SUBMITTED] * 4
    assert claimed is not None and claimed.endswith(f":{worker.pid}")  # held by the dead one

    report = collect_run(run_id, workspace=workspace)
    assert sorted(report.collected) == [1, 2, 3, 4] and report.busy == []
    assert report.complete
    _check_run_stored_once(run_id, workspace, tasks, jobs=5)


def test_two_collectors_at_once(five_job_run, tmp_path):
    workspace, run_id, tasks = five_job_run
    go = tmp_path / "go"
    workers = [_worker(workspace, run_id, delay=0.2, go=go) for _ in range(2)]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert [w.returncode for w in workers] == [0, 0]
    reports = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    collected = [set(r["collected"]) for r in reports]
    assert collected[0] | collected[1] == set(range(5))
    assert not collected[0] & collected[1]
    assert all(r["failed"] == [] for r in reports)
    _check_run_stored_once(run_id, workspace, tasks, jobs=5)
    assert collect_run(run_id, workspace=workspace).collected == []


# -- failures and cancellation ---------------------------------------------------------------


class _FailingJob:
    def __init__(self, job: Any) -> None:
        self._job = job

    def job_id(self) -> str:
        return self._job.job_id()

    def result(self) -> Any:
        raise RuntimeError("simulated backend failure")


class _FailingPrimitive:
    def __init__(self, primitive: Any) -> None:
        self._primitive = primitive

    def run(self, *args: Any, **kwargs: Any) -> _FailingJob:
        return _FailingJob(self._primitive.run(*args, **kwargs))


def test_job_failing_on_the_service(tmp_path, monkeypatch):
    workspace = _workspace(tmp_path)
    tasks = [_alpha(12)]
    plan = _plan(tasks, target="aer", shots=SHOTS, chunk_size=CHUNK, seed=41)
    assert len(plan.jobs) == 3
    real = services.make_primitive
    bad_seed = job_seed(41, 1)

    def make_primitive(*args: Any, **kwargs: Any) -> Any:
        primitive = real(*args, **kwargs)
        return _FailingPrimitive(primitive) if kwargs.get("seed") == bad_seed else primitive

    monkeypatch.setattr(services, "make_primitive", make_primitive)
    run_id = submit_plan(plan, workspace=workspace)
    monkeypatch.undo()

    report = collect_run(run_id, workspace=workspace)
    assert sorted(report.collected) == [0, 2] and report.failed == [1]
    assert report.complete
    with workspace.ledger() as ledger:
        job = ledger.job(run_id, 1)
        status = status_table(ledger).set_index("run").loc[run_id]
        table = jobs_table(ledger, run_id)
    assert job.state == FAILED and "simulated backend failure" in job.error
    assert (status["state"], status["collected"], status["failed"]) == ("partial", 2, 1)
    assert "simulated backend failure" in table.set_index("job").loc[1, "error"]
    results = ResultStore(workspace.results_dir).load(run_id)
    assert results.jobs_collected == (0, 2)
    assert sorted(set(results.counts["binding"])) == [0, 1, 2, 3, 8, 9, 10, 11]
    assert results.counts.groupby("binding")["count"].sum().eq(SHOTS).all()
    # Nothing changes on a second collect: the failure is final.
    assert collect_run(run_id, workspace=workspace).failed == []


def _refuse(job_index: int | None, error: type[Exception] = RuntimeError):
    real = LocalExecutor.submit

    def submit(self, pubs, *, tags, **kwargs):
        if job_index is None or tags[-1].endswith(f"-{job_index:04d}"):
            raise error("the service refused the job")
        return real(self, pubs, tags=tags, **kwargs)

    return submit


def test_submission_refused_is_recorded(tmp_path, monkeypatch):
    workspace = _workspace(tmp_path)
    plan = _plan([_alpha(12)], target="aer", shots=SHOTS, chunk_size=CHUNK, seed=42)
    monkeypatch.setattr(LocalExecutor, "submit", _refuse(1))
    run_id = submit_plan(plan, workspace=workspace)
    monkeypatch.undo()
    with workspace.ledger() as ledger:
        job = ledger.job(run_id, 1)
    assert (job.state, job.job_id) == (FAILED, None)
    assert job.error == "submission failed: RuntimeError: the service refused the job"
    report = collect_run(run_id, workspace=workspace)
    assert sorted(report.collected) == [0, 2] and report.complete
    with workspace.ledger() as ledger:
        assert status_table(ledger).set_index("run").loc[run_id, "state"] == "partial"


def test_run_tasks_does_not_hide_a_refused_job(tmp_path, monkeypatch):
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", BUDGET)
    monkeypatch.setattr(LocalExecutor, "submit", _refuse(1))
    with pytest.raises(QdmError, match="did not complete"):
        run_tasks(
            [_alpha(12)], workspace=_workspace(tmp_path), shots=SHOTS, chunk_size=CHUNK, seed=1
        )


def test_transient_submit_failure_is_resubmitted_on_collect(tmp_path, monkeypatch):
    workspace = _workspace(tmp_path)
    plan = _plan([_alpha(8)], target="aer", shots=SHOTS, chunk_size=CHUNK, seed=43)
    monkeypatch.setattr(LocalExecutor, "submit", _refuse(None, TransientError))
    run_id = submit_plan(plan, workspace=workspace)
    monkeypatch.undo()
    with workspace.ledger() as ledger:
        assert [j.state for j in ledger.jobs(run_id)] == [PENDING, PENDING]
        notes = [e for e in ledger.events(run_id) if e["state"] == "NOTE"]
    assert len(notes) == 2 and all("will retry on collect" in e["message"] for e in notes)
    report = collect_run(run_id, workspace=workspace)
    assert report.resubmitted == [0, 1] and sorted(report.collected) == [0, 1]
    _check_counts_complete(
        ResultStore(workspace.results_dir).load(run_id).counts, [_alpha(8)], SHOTS
    )


def test_cancel_run_with_pending_jobs(tmp_path, monkeypatch):
    workspace = _workspace(tmp_path)
    plan = _plan([_alpha(8)], target="aer", shots=SHOTS, chunk_size=CHUNK, seed=44)
    monkeypatch.setattr(LocalExecutor, "submit", _refuse(None, TransientError))
    run_id = submit_plan(plan, workspace=workspace)
    monkeypatch.undo()
    messages = cancel_run(run_id, workspace=workspace)
    assert messages == [f"job {i}: cancelled before submission" for i in range(2)]
    with workspace.ledger() as ledger:
        jobs = ledger.jobs(run_id)
        assert ledger.run(run_id).cancelled
        status = status_table(ledger).set_index("run").loc[run_id]
    assert [j.state for j in jobs] == [CANCELLED, CANCELLED]
    assert all(j.error == "cancelled before submission" and j.job_id is None for j in jobs)
    assert status["state"] == "cancelled"
    report = collect_run(run_id, workspace=workspace)
    assert report.collected == [] and report.resubmitted == [] and report.complete
    assert not (Path(workspace.results_dir) / run_id / "parts").exists()


def test_cancel_run_recorded_only_in_the_ledger(tmp_path):
    workspace = _workspace(tmp_path)
    with workspace.ledger() as ledger:
        ledger.create_run(
            NewRun(
                run_id="20260101-000000-abc123",
                name="pending",
                primitive="sampler",
                target="aer",
                mitigation="none",
                options={},
                shots=10,
                precision=None,
                seed=0,
                config={},
                manifest={},
                versions={},
                run_dir=str(tmp_path / "jobs" / "x"),
                results_dir=str(tmp_path / "results"),
                jobs=(("c/0000",), ("c/0001",), ("c/0002",)),
            )
        )
    assert len(cancel_run("20260101-000000", workspace=workspace)) == 3
    with workspace.ledger() as ledger:
        assert {j.state for j in ledger.jobs("20260101-000000-abc123")} == {CANCELLED}
        cancelled = [e for e in ledger.events("20260101-000000-abc123") if e["state"] == CANCELLED]
    assert len(cancelled) == 4  # the run, then each job
    # Cancelling again touches nothing and says so, job by job.
    again = cancel_run("20260101-000000-abc123", workspace=workspace)
    assert again == [f"job {i}: already cancelled" for i in range(3)]
    with workspace.ledger() as ledger:
        events = [e for e in ledger.events("20260101-000000-abc123") if e["state"] == CANCELLED]
    assert len(events) == 4


def test_cancel_after_local_jobs_finished_keeps_them(tmp_path):
    workspace = _workspace(tmp_path)
    plan = _plan([_alpha(8)], target="aer", shots=SHOTS, chunk_size=CHUNK, seed=45)
    run_id = submit_plan(plan, workspace=workspace)
    messages = cancel_run(run_id, workspace=workspace)
    assert all("already finished" in m for m in messages) and len(messages) == 2
    report = collect_run(run_id, workspace=workspace)
    assert sorted(report.collected) == [0, 1]


# -- run_tasks -------------------------------------------------------------------------------


def test_run_tasks_returns_run_results(tmp_path, monkeypatch):
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", BUDGET)
    tasks = [_beta(6)]  # PUBs of 4 and 2 bindings: 800 + 400 executions, over the budget
    workspace = _workspace(tmp_path)
    results = run_tasks(
        tasks, workspace=workspace, name="direct", shots=SHOTS, chunk_size=CHUNK, seed=3
    )
    assert isinstance(results, RunResults)
    assert results.info["name"] == "direct" and results.info["seed"] == 3
    assert results.info["jobs"] == 2 and results.jobs_collected == (0, 1)
    _check_counts_complete(results.counts, tasks, SHOTS)
    with workspace.ledger() as ledger:
        assert [r.run_id for r in ledger.runs()] == [results.run_id]


def test_run_tasks_refuses_ibm_targets(tmp_path):
    with pytest.raises(QdmError, match="submit and collect later"):
        run_tasks([_alpha(2)], target="ibm:ibm_fez", workspace=_workspace(tmp_path))


def test_collect_unknown_run(tmp_path):
    workspace = _workspace(tmp_path)
    with pytest.raises(ConfigError, match="no run"):
        collect_run("nope", workspace=workspace)
