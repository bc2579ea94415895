"""Run planning: PUB chunks, job packing, shot budgets, reduction for local runs, QPU time."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator

import qdm_qiskit.jobs.plan as plan_module
from qdm_qiskit.circuits import TranspileCache
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.plan import job_seed, plan_run, values_sha
from qdm_qiskit.jobs.targets import device_backend, parse_target

CACHE = TranspileCache()  # in memory: each structure is transpiled once per target
_DEVICES: dict[str, object] = {}


def target(text: str):
    spec = parse_target(text)
    if text not in _DEVICES:
        _DEVICES[text] = device_backend(spec)
    return spec, _DEVICES[text]


def plan(tasks, text="aer", **kwargs):
    spec, device = target(text)
    kwargs.setdefault("primitive", "sampler")
    return plan_run(tasks, spec=spec, device=device, cache=CACHE, **kwargs)


def chain(num_qubits: int, *, measure: bool, prefix: str = "t") -> QuantumCircuit:
    """RY on every qubit, a CX chain, RZ on the last qubit; parameters ``prefix[i]``."""
    qc = QuantumCircuit(num_qubits)
    for q in range(num_qubits):
        qc.ry(Parameter(f"{prefix}{q}"), q)
    for q in range(num_qubits - 1):
        qc.cx(q, q + 1)
    qc.rz(Parameter(f"{prefix}z"), num_qubits - 1)
    if measure:
        qc.measure_all()
    return qc


def values(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(rows, cols))


def sampler_task(name="c", rows=1, num_qubits=2, seed=0) -> CircuitTask:
    circuit = chain(num_qubits, measure=True)
    return CircuitTask(name, circuit, values(rows, circuit.num_parameters, seed))


def touched(circuit: QuantumCircuit) -> set[int]:
    return {
        circuit.find_bit(q).index
        for instruction in circuit.data
        if instruction.operation.name != "barrier"
        for q in instruction.qubits
    }


def measure_sources(circuit: QuantumCircuit) -> set[int]:
    return {
        circuit.find_bit(i.qubits[0]).index for i in circuit.data if i.operation.name == "measure"
    }


# --- PUBs and jobs -----------------------------------------------------------------------------


def test_parameter_sets_are_chunked_into_pubs():
    big, small = sampler_task("big", rows=2500), sampler_task("small", rows=3, seed=1)
    result = plan([big, small], shots=100, chunk_size=1024)
    rows = [(p.pub_id, p.circuit, p.start, p.stop) for p in result.pubs]
    assert rows == [
        ("big/0000", "big", 0, 1024),
        ("big/0001", "big", 1024, 2048),
        ("big/0002", "big", 2048, 2500),
        ("small/0000", "small", 0, 3),
    ]
    for pub in result.pubs:
        task = big if pub.circuit == "big" else small
        assert pub.values_sha == values_sha(task.parameter_values[pub.start : pub.stop])
        assert pub.executions == 100 * (pub.stop - pub.start)
    assert len({p.values_sha for p in result.pubs}) == 4
    assert result.circuit("big").values_sha == values_sha(big.parameter_values)
    np.testing.assert_array_equal(result.circuit("big").values, big.parameter_values)
    assert result.num_bindings == 2503
    (job,) = result.jobs
    assert job.pub_ids == tuple(p.pub_id for p in result.pubs)
    assert job.executions == 2503 * 100
    assert result.table()["bindings"].sum() == 2503


def test_values_sha_depends_on_content_and_shape():
    v = values(4, 2)
    assert values_sha(v) == values_sha(v.copy())
    assert values_sha(v) != values_sha(v.reshape(2, 4))
    changed = v.copy()
    changed[3, 1] += 1e-12
    assert values_sha(v) != values_sha(changed)


@pytest.mark.parametrize("mitigation", ["none", "readout"])
@pytest.mark.parametrize("chunk_size", [4, 1024])
def test_jobs_stay_under_the_execution_limit(monkeypatch, chunk_size, mitigation):
    limit, shots = 1000, 100
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", limit)
    result = plan(
        [sampler_task(rows=25)], shots=shots, chunk_size=chunk_size, mitigation=mitigation
    )
    calibration = len(result.calibration) * shots
    assert calibration == (2 * shots if mitigation == "readout" else 0)
    pubs = {p.pub_id: p for p in result.pubs}
    # PUBs tile the 25 rows in order, each within the limit.
    assert result.pubs[0].start == 0 and result.pubs[-1].stop == 25
    for before, after in zip(result.pubs, result.pubs[1:], strict=False):
        assert before.stop == after.start
    for job in result.jobs:
        assert job.executions <= limit, f"job {job.index}: {job.executions} > {limit}"
        assert job.executions == sum(pubs[p].executions for p in job.pub_ids) + calibration
    flat = [p for job in result.jobs for p in job.pub_ids]
    assert flat == [p.pub_id for p in result.pubs]
    assert [job.index for job in result.jobs] == list(range(len(result.jobs)))


def test_job_splitting_by_hand(monkeypatch):
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", 1000)
    result = plan([sampler_task(rows=25)], shots=100, chunk_size=4)
    # 7 PUBs of at most 4 rows (400 executions); packed greedily in order: 400 + 400 fit,
    # a third 400 would not; the last job takes 400 + 400 + 100.
    assert [(p.start, p.stop) for p in result.pubs] == [
        (0, 4), (4, 8), (8, 12), (12, 16), (16, 20), (20, 24), (24, 25)
    ]  # fmt: skip
    assert [len(j.pub_ids) for j in result.jobs] == [2, 2, 3]
    assert [j.executions for j in result.jobs] == [800, 800, 900]
    # A chunk size larger than the limit allows is cut down to 1000 // 100 = 10 rows.
    wide = plan([sampler_task(rows=25)], shots=100, chunk_size=1024)
    assert [(p.start, p.stop) for p in wide.pubs] == [(0, 10), (10, 20), (20, 25)]


def test_one_parameter_set_above_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", 1000)
    with pytest.raises(ConfigError, match="one parameter set needs 1001 executions"):
        plan([sampler_task()], shots=1001)
    # estimator: 100 shots x 2 QWC groups x 3 ZNE factors = 600 > 500
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", 500)
    task = CircuitTask(
        "e",
        chain(2, measure=False),
        values(1, 3),
        (("xx", SparsePauliOp("XX")), ("zz", SparsePauliOp("ZZ"))),
    )
    with pytest.raises(ConfigError, match="needs 600 executions"):
        plan([task], "fake:FakeManilaV2", primitive="estimator", mitigation="zne", precision=0.1)


# --- estimator budget --------------------------------------------------------------------------


@pytest.mark.parametrize(("precision", "shots"), [(0.25, 16), (0.1, 100), (0.03, 1112), (1, 1)])
def test_estimator_shots_from_precision(precision, shots):
    assert shots == math.ceil(1 / precision**2)
    task = CircuitTask("e", chain(2, measure=False), values(1, 3), (("zz", SparsePauliOp("ZZ")),))
    result = plan([task], primitive="estimator", precision=precision, shots=7)
    assert result.shots == shots
    assert result.precision == precision
    assert result.pubs[0].executions == shots


@pytest.mark.parametrize(
    ("labels", "groups"),
    [
        (["ZI", "IZ", "ZZ"], 1),
        (["XI", "IZ"], 1),
        (["XX", "ZZ"], 2),
        (["XX", "XI", "YY", "ZZ"], 3),
    ],
)
@pytest.mark.parametrize(("mitigation", "factor"), [("none", 1), ("zne", 3), ("full", 3)])
def test_estimator_executions_count_qwc_groups_and_zne(labels, groups, mitigation, factor):
    observables = tuple((label, SparsePauliOp(label)) for label in labels)
    task = CircuitTask("e", chain(2, measure=False), values(5, 3), observables)
    result = plan(
        [task],
        "fake:FakeManilaV2",
        primitive="estimator",
        mitigation=mitigation,
        precision=0.1,
        chunk_size=2,
    )
    assert [p.stop - p.start for p in result.pubs] == [2, 2, 1]
    for pub in result.pubs:
        assert pub.executions == 100 * groups * factor * (pub.stop - pub.start)
    assert result.options["resilience_level"] == (0 if mitigation == "none" else 2)


def test_estimator_needs_observables():
    task = CircuitTask("e", chain(2, measure=False), values(1, 3))
    with pytest.raises(ConfigError, match="needs observables"):
        plan([task], primitive="estimator")


# --- targets and reduction ---------------------------------------------------------------------


def test_circuit_wider_than_the_target():
    task = CircuitTask("wide", chain(6, measure=True), values(1, 7))
    with pytest.raises(ConfigError, match=r"'wide' needs 6 qubits but fake:FakeManilaV2 has 5"):
        plan([task], "fake:FakeManilaV2")


def test_fake_fez_simulates_the_union_of_active_qubits():
    three = QuantumCircuit(3)
    three.x(0)
    three.cx(0, 1)  # logical qubit 2 stays idle
    three.measure_all()
    tasks = [CircuitTask("three", three, np.zeros((1, 0))), sampler_task("two", num_qubits=2)]
    result = plan(tasks, "fake:FakeFez", shots=10)
    union = set()
    for planned in result.circuits:
        assert planned.isa.num_qubits == 156
        active = touched(planned.isa) | set(planned.isa.layout.final_index_layout())
        assert set(planned.physical_qubits) == active
        union |= active
    assert result.simulated_qubits == tuple(sorted(union))
    assert len(union) < 12
    for planned in result.circuits:
        assert planned.executed.num_qubits == len(union)
        assert set(planned.executed.parameters) == set(planned.isa.parameters)
    counts = AerSimulator().run(result.circuit("three").executed, shots=20).result().get_counts()
    assert counts == {"011": 20}  # qubits 0 and 1 read 1, the idle qubit 2 reads 0
    assert any("simulating" in note for note in result.notes)


def test_plain_aer_is_not_reduced():
    result = plan([sampler_task(num_qubits=3)], "aer")
    (planned,) = result.circuits
    assert result.simulated_qubits is None
    assert planned.executed is planned.isa
    assert planned.executed.num_qubits == 3
    assert result.engine == "aer" and result.options == {}


@pytest.mark.parametrize(
    ("primitive", "mitigation", "calibrated"),
    [
        ("sampler", "none", False),
        ("sampler", "readout", True),
        ("sampler", "full", True),
        ("estimator", "none", False),
        ("estimator", "readout", False),
        ("estimator", "full", False),
    ],
)
def test_readout_calibration_pubs(primitive, mitigation, calibrated):
    measure = primitive == "sampler"
    circuit = chain(3, measure=measure)
    observables = () if measure else (("zzz", SparsePauliOp("ZZZ")),)
    task = CircuitTask("c", circuit, values(3, 4), observables)
    result = plan([task], "fake:FakeManilaV2", primitive=primitive, mitigation=mitigation, shots=50)
    executed = result.circuit("c").executed
    if not calibrated:
        assert result.calibration == () and result.calibration_qubits == ()
        assert result.jobs[0].executions == sum(p.executions for p in result.pubs)
        return
    zeros, ones = result.calibration
    assert result.calibration_qubits == tuple(sorted(measure_sources(executed)))
    assert len(result.calibration_qubits) == 3
    for circuit_ in (zeros, ones):
        assert circuit_.num_qubits == executed.num_qubits
        assert measure_sources(circuit_) == set(result.calibration_qubits)
    assert "x" not in zeros.count_ops()
    flipped = {ones.find_bit(i.qubits[0]).index for i in ones.data if i.operation.name == "x"}
    assert flipped == set(result.calibration_qubits)
    assert result.jobs[0].executions == 3 * 50 + 2 * 50


def test_qpu_seconds_follow_the_documented_formula():
    assert plan([sampler_task(rows=4)], "aer", shots=10).qpu_seconds is None
    _, fez = target("fake:FakeFez")
    result = plan([sampler_task(rows=30)], "fake:FakeFez", shots=100, mitigation="readout")
    (planned,) = result.circuits
    duration = planned.isa.estimate_duration(fez.target, unit="s")
    assert planned.duration_s == pytest.approx(duration)
    rep_delay = fez.default_rep_delay
    assert rep_delay == pytest.approx(250e-6)
    expected = 30 * 100 * (duration + rep_delay) + 2 * 100 * rep_delay
    assert result.qpu_seconds == pytest.approx(expected, rel=1e-12)
    assert result.qpu_seconds > 0
    assert result.table()["qpu_seconds"].sum() == pytest.approx(expected, rel=1e-12)


def test_qpu_seconds_per_job(monkeypatch):
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", 1000)
    _, fez = target("fake:FakeFez")
    result = plan([sampler_task(rows=25)], "fake:FakeFez", shots=100, chunk_size=4)
    duration = result.circuits[0].duration_s
    assert duration is not None and duration > 0
    pubs = {p.pub_id: p for p in result.pubs}
    for job in result.jobs:
        rows = sum(pubs[p].stop - pubs[p].start for p in job.pub_ids)
        assert job.qpu_seconds == pytest.approx(rows * 100 * (duration + fez.default_rep_delay))
    assert result.qpu_seconds == pytest.approx(25 * 100 * (duration + fez.default_rep_delay))


@pytest.mark.parametrize("row", [0, 1, 2])
def test_executed_observables_keep_the_logical_expectation_values(row):
    logical = QuantumCircuit(3)
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    logical.ry(a, 0)
    logical.rx(b, 1)
    logical.cx(0, 1)
    logical.cx(1, 2)
    logical.cx(2, 0)  # a triangle: needs a swap on the Manila line
    logical.ry(c, 2)
    observables = (
        ("zzi", SparsePauliOp("ZZI")),
        ("xix", SparsePauliOp("XIX")),
        ("mix", SparsePauliOp(["IYZ", "ZII", "XXX"], [0.5, -1.0, 0.25])),
    )
    task = CircuitTask("tri", logical, values(3, 3, seed=4), observables)
    result = plan([task], "fake:FakeManilaV2", primitive="estimator")
    planned = result.circuit("tri")
    assert result.simulated_qubits is not None
    assert planned.executed.num_qubits == len(result.simulated_qubits)
    binding = dict(zip(logical.parameters, task.parameter_values[row], strict=True))
    assert planned.parameter_names == [p.name for p in logical.parameters]
    state = Statevector(planned.executed.assign_parameters(binding))
    expected_state = Statevector(logical.assign_parameters(binding))
    for (name, executed_obs), (logical_name, observable) in zip(
        planned.observables, observables, strict=True
    ):
        assert name == logical_name
        assert executed_obs.num_qubits == planned.executed.num_qubits
        assert state.expectation_value(executed_obs) == pytest.approx(
            expected_state.expectation_value(observable), abs=1e-9
        )


# --- seeds, argument checks, side effects ------------------------------------------------------


def test_job_seed_is_deterministic_and_per_job():
    seeds = [job_seed(7, i) for i in range(5)]
    assert seeds == [job_seed(7, i) for i in range(5)]
    assert len(set(seeds)) == 5
    assert job_seed(8, 0) != job_seed(7, 0)
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in seeds)


def test_plan_carries_run_settings():
    result = plan([sampler_task(rows=3)], "fake:FakeManilaV2", seed=9, shots=64, mitigation="full")
    assert (result.seed, result.shots, result.precision) == (9, 64, None)
    assert result.target == "fake:FakeManilaV2" and result.engine == "runtime"
    assert result.options["twirling"] == {"enable_gates": True, "enable_measure": True}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tasks": []}, "no circuits"),
        ({"tasks": "dup"}, "task names must be unique"),
        ({"shots": 0}, "shots must be a positive integer"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"mitigation": "zne"}, "needs the estimator"),
        ({"mitigation": "full"}, "runs inside the Runtime primitives"),
    ],
)
def test_bad_arguments(kwargs, message):
    tasks = kwargs.pop("tasks", [sampler_task()])
    if tasks == "dup":
        tasks = [sampler_task("same"), sampler_task("same", seed=2)]
    with pytest.raises(ConfigError, match=message):
        plan(tasks, "aer", **kwargs)


def test_planning_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec, device = target("fake:FakeManilaV2")
    plan_run(
        [sampler_task(rows=5)],
        spec=spec,
        device=device,
        primitive="sampler",
        mitigation="readout",
        cache=TranspileCache(),
    )
    plan_run([sampler_task(rows=5)], spec=spec, device=device, primitive="sampler")
    assert list(tmp_path.rglob("*")) == []
