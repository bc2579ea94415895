"""Planning a run: transpile once, batch parameter sets into PUBs, split PUBs into jobs.

One PUB per distinct transpiled circuit and chunk of at most ``chunk_size`` parameter sets (Aer's
cost per binding stays flat up to about a thousand); PUBs are packed into jobs in order, each job
below the Runtime's 10 million executions and carrying one shot count (Sampler) or precision
(Estimator), as the client-side primitives require. Planning has no side effects: ``--dry-run``
prints the plan and writes nothing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from qiskit import QuantumCircuit
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp

from qdm_qiskit.circuits.fingerprint import structure_hash
from qdm_qiskit.circuits.transpile import (
    TranspileCache,
    TranspileOptions,
    isa_violations,
    transpile_isa,
)
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.experiment import CircuitTask, check_chunk_size, check_precision
from qdm_qiskit.jobs.mitigation import (
    ZNE_NOISE_FACTORS,
    calibration_circuits,
    check_preset,
    estimator_options,
    is_dynamic,
    measured_qubits,
    sampler_options,
    uses_readout_calibration,
)
from qdm_qiskit.jobs.reduce import active_qubits, reduce_circuit, restrict_observable
from qdm_qiskit.jobs.targets import TargetSpec

#: Runtime limit on circuit executions (bindings x shots) in one job.
MAX_EXECUTIONS_PER_JOB = 10_000_000
#: Largest number of active qubits simulated locally (statevector of 2**24 amplitudes).
MAX_LOCAL_QUBITS = 24
#: Repetition delay assumed when the backend does not report one (IBM default, 250 us).
DEFAULT_REP_DELAY_S = 250e-6


@dataclass(frozen=True)
class PlannedCircuit:
    """A task after transpilation.

    Attributes:
        name: the task name.
        isa: the ISA circuit on the device's qubits (what hardware runs).
        executed: what the engine runs: ``isa``, or ``isa`` re-indexed onto the simulated
            qubits for local noisy runs.
        circuit_hash: structure hash of ``isa``.
        values: ``(N, P)`` parameter values; ``values_sha`` their content hash.
        observables: ``(name, observable)`` on the qubits of ``executed``.
        physical_qubits: device qubits the ISA circuit uses.
        duration_s: estimated duration of one execution on the device, if known.
        dynamic: has mid-circuit measurement, reset or control flow.
    """

    name: str
    isa: QuantumCircuit
    executed: QuantumCircuit
    circuit_hash: str
    values: np.ndarray
    values_sha: str
    observables: tuple[tuple[str, SparsePauliOp], ...]
    physical_qubits: tuple[int, ...]
    duration_s: float | None
    dynamic: bool

    @property
    def parameter_names(self) -> list[str]:
        """Parameter names in column order of ``values``."""
        return [p.name for p in self.executed.parameters]


@dataclass(frozen=True)
class PlannedPub:
    """A chunk of one circuit's parameter sets: rows ``start:stop`` of its values."""

    pub_id: str
    circuit: str
    start: int
    stop: int
    values_sha: str
    executions: int


@dataclass(frozen=True)
class PlannedJob:
    """PUBs submitted together as one primitive job."""

    index: int
    pub_ids: tuple[str, ...]
    executions: int
    qpu_seconds: float | None


@dataclass(frozen=True)
class RunPlan:
    """Everything needed to submit a run, and to rebuild its PUBs later.

    Attributes:
        primitive: ``sampler`` or ``estimator``.
        target: canonical target string.
        engine: ``aer`` or ``runtime`` (see :mod:`qdm_qiskit.jobs.primitives`).
        mitigation: preset name; ``options`` the Runtime options it maps to.
        shots: shots per binding (Sampler), or shots per observable group and binding implied
            by ``precision`` (Estimator).
        precision: Estimator target precision (``None`` for the Sampler).
        seed: run seed; local simulation of job ``i`` uses :func:`job_seed`.
        simulated_qubits: device qubits a local noisy run simulates (``None``: no reduction).
        calibration: readout-calibration circuits carried by every job (Sampler readout/full).
        calibration_qubits: qubit (in ``executed`` indexing) behind each calibration bit.
        notes: caveats worth printing with the plan.
    """

    primitive: str
    target: str
    engine: str
    mitigation: str
    options: dict[str, Any]
    shots: int
    precision: float | None
    seed: int
    chunk_size: int
    transpile: TranspileOptions
    circuits: tuple[PlannedCircuit, ...]
    pubs: tuple[PlannedPub, ...]
    jobs: tuple[PlannedJob, ...]
    simulated_qubits: tuple[int, ...] | None = None
    calibration: tuple[QuantumCircuit, ...] = ()
    calibration_qubits: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def num_bindings(self) -> int:
        """Parameter sets over all circuits."""
        return sum(c.values.shape[0] for c in self.circuits)

    @property
    def qpu_seconds(self) -> float | None:
        """Estimated QPU time of the run, if the target has gate durations."""
        values = [job.qpu_seconds for job in self.jobs]
        return None if any(v is None for v in values) else float(sum(v or 0.0 for v in values))

    def circuit(self, name: str) -> PlannedCircuit:
        """The planned circuit called ``name``."""
        for planned in self.circuits:
            if planned.name == name:
                return planned
        raise KeyError(name)

    def table(self) -> pd.DataFrame:
        """One row per job: PUBs, bindings, executions, QPU seconds."""
        pubs = {p.pub_id: p for p in self.pubs}
        rows = []
        for job in self.jobs:
            rows.append(
                {
                    "job": job.index,
                    "pubs": len(job.pub_ids),
                    "bindings": sum(pubs[p].stop - pubs[p].start for p in job.pub_ids),
                    "shots": self.shots,
                    "executions": job.executions,
                    "qpu_seconds": job.qpu_seconds,
                }
            )
        return pd.DataFrame(rows).set_index("job")


def job_seed(seed: int, job_index: int) -> int:
    """Simulator seed of one job: independent streams per job, fixed by the run seed."""
    return int(np.random.SeedSequence([seed, job_index]).generate_state(1)[0])


def values_sha(values: np.ndarray) -> str:
    """Content hash of a parameter array (shape, dtype and bytes)."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    digest = hashlib.sha256(f"{array.shape}|{array.dtype.str}|".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def shots_for_precision(precision: float) -> int:
    """Shots per observable group and binding that reach standard error ``precision``."""
    return math.ceil(1.0 / precision**2)


def plan_run(
    tasks: list[CircuitTask],
    *,
    spec: TargetSpec,
    device: BackendV2,
    primitive: str,
    mitigation: str = "none",
    shots: int = 1024,
    precision: float = 0.015625,
    seed: int = 0,
    chunk_size: int = 1024,
    transpile: TranspileOptions | None = None,
    cache: TranspileCache | None = None,
) -> RunPlan:
    """Transpile the tasks for ``device`` and cut their parameter sets into PUBs and jobs.

    Args:
        tasks: the circuits with their parameter values (and observables for the Estimator).
        spec: the parsed target.
        device: its backend (from :func:`~qdm_qiskit.jobs.targets.device_backend`).
        primitive: ``sampler`` or ``estimator``.
        mitigation: a preset of :mod:`qdm_qiskit.jobs.mitigation`.
        shots: shots per parameter set (Sampler).
        precision: target precision (Estimator).
        seed: the run seed.
        chunk_size: parameter sets per PUB.
        transpile: transpilation options.
        cache: transpile cache (transpile once per structure and target).

    Raises:
        ConfigError: bad sizes, a circuit wider than the target, duplicate task names, a preset
            that does not apply, or too many active qubits to simulate locally.
    """
    if not tasks:
        raise ConfigError("nothing to run: no circuits")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ConfigError(f"task names must be unique, got {names}")
    check_chunk_size(chunk_size)
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ConfigError(f"shots must be a positive integer, got {shots!r}")
    engine = "aer" if spec.kind == "aer" else "runtime"
    check_preset(mitigation, primitive=primitive, runtime=engine == "runtime")
    options_transpile = transpile or TranspileOptions()
    if primitive == "estimator":
        precision = check_precision(precision)
        shots = shots_for_precision(precision)
        for task in tasks:
            if not task.observables:
                raise ConfigError(f"task {task.name!r}: the estimator needs observables")
    width = device.target.num_qubits
    isas = []
    for task in tasks:
        if width is not None and task.circuit.num_qubits > width:
            raise ConfigError(
                f"circuit {task.name!r} needs {task.circuit.num_qubits} qubits but "
                f"{spec.text} has {width}"
            )
        try:
            isa = transpile_isa(task.circuit, target=device, options=options_transpile, cache=cache)
        except ConfigError as exc:
            raise ConfigError(f"circuit {task.name!r}: {exc}") from exc
        problems = isa_violations(isa, device)
        if problems:
            raise ConfigError(f"circuit {task.name!r}: not ISA for {spec.text}: {problems[:3]}")
        isas.append(isa)

    simulated = _simulated_qubits(spec, isas)
    dynamic = any(is_dynamic(isa) for isa in isas)
    notes = []
    if spec.kind in ("aer", "fake") and spec.backend is not None and simulated is not None:
        notes.append(
            f"simulating {len(simulated)} of {width} device qubits (the ones the circuits use)"
        )
    if dynamic and mitigation == "full":
        notes.append("dynamical decoupling left off: the circuits are dynamic")
    options = (
        {}
        if engine == "aer"
        else (
            estimator_options(mitigation, dynamic=dynamic)
            if primitive == "estimator"
            else sampler_options(mitigation, dynamic=dynamic)
        )
    )
    planned = tuple(
        _planned_circuit(task, isa, device, simulated)
        for task, isa in zip(tasks, isas, strict=True)
    )
    calibration: tuple[QuantumCircuit, ...] = ()
    cal_qubits: tuple[int, ...] = ()
    if uses_readout_calibration(mitigation, primitive=primitive):
        measured = sorted(
            {
                q
                for c in planned
                for creg in c.executed.cregs
                for q in measured_qubits(c.executed, creg.name)
            }
        )
        cal_qubits = tuple(measured)
        calibration = calibration_circuits(max(c.executed.num_qubits for c in planned), measured)
    per_binding = _executions_per_binding(primitive, shots, mitigation, planned)
    pubs = _chunk(planned, chunk_size, per_binding, reserved=len(calibration) * shots)
    jobs = _pack_jobs(
        pubs,
        planned,
        extra_executions=len(calibration) * shots,
        shots=shots,
        rep_delay=rep_delay_seconds(device) if spec.kind != "aer" or spec.backend else None,
    )
    return RunPlan(
        primitive=primitive,
        target=spec.text,
        engine=engine,
        mitigation=mitigation,
        options=options,
        shots=shots,
        precision=precision if primitive == "estimator" else None,
        seed=seed,
        chunk_size=chunk_size,
        transpile=options_transpile,
        circuits=planned,
        pubs=pubs,
        jobs=jobs,
        simulated_qubits=simulated,
        calibration=calibration,
        calibration_qubits=cal_qubits,
        notes=tuple(notes),
    )


def _simulated_qubits(spec: TargetSpec, isas: list[QuantumCircuit]) -> tuple[int, ...] | None:
    """Device qubits to simulate for a local noisy run (``None`` for plain Aer or hardware)."""
    if spec.kind == "ibm" or spec.backend is None:
        return None
    union = sorted({q for isa in isas for q in active_qubits(isa)})
    if len(union) > MAX_LOCAL_QUBITS:
        raise ConfigError(
            f"the circuits use {len(union)} device qubits together; local noisy simulation is "
            f"limited to {MAX_LOCAL_QUBITS}: submit them as separate experiments"
        )
    return tuple(union)


def _planned_circuit(
    task: CircuitTask,
    isa: QuantumCircuit,
    device: BackendV2,
    simulated: tuple[int, ...] | None,
) -> PlannedCircuit:
    isa.name = task.name
    observables = []
    for obs_name, observable in task.observables:
        physical = observable.apply_layout(isa.layout, num_qubits=isa.num_qubits)
        if simulated is not None:
            physical = restrict_observable(physical, simulated)
        observables.append((obs_name, physical))
    executed = isa if simulated is None else reduce_circuit(isa, simulated).circuit
    try:
        duration = float(isa.estimate_duration(device.target, unit="s"))
    except Exception:  # noqa: BLE001 - no durations in the target (ideal Aer) or control flow
        duration = None
    return PlannedCircuit(
        name=task.name,
        isa=isa,
        executed=executed,
        circuit_hash=structure_hash(isa),
        values=task.parameter_values,
        values_sha=values_sha(task.parameter_values),
        observables=tuple(observables),
        physical_qubits=active_qubits(isa),
        duration_s=duration,
        dynamic=is_dynamic(isa),
    )


def _executions_per_binding(
    primitive: str, shots: int, mitigation: str, circuits: tuple[PlannedCircuit, ...]
) -> dict[str, int]:
    """Circuit executions per parameter set, per circuit.

    Estimator: one execution per shot and qubit-wise commuting group of the observables, times
    the ZNE noise factors. An estimate: the Runtime may group differently.
    """
    if primitive == "sampler":
        return {c.name: shots for c in circuits}
    factor = len(ZNE_NOISE_FACTORS) if mitigation in ("zne", "full") else 1
    result = {}
    for c in circuits:
        terms = SparsePauliOp.sum([obs for _, obs in c.observables]).simplify()
        groups = len(terms.group_commuting(qubit_wise=True))
        result[c.name] = shots * max(groups, 1) * factor
    return result


def _chunk(
    circuits: tuple[PlannedCircuit, ...],
    chunk_size: int,
    per_binding: dict[str, int],
    *,
    reserved: int,
) -> tuple[PlannedPub, ...]:
    """Cut parameter sets into PUBs that fit a job beside ``reserved`` executions.

    ``reserved`` counts the readout-calibration executions every job carries.
    """
    pubs = []
    budget = MAX_EXECUTIONS_PER_JOB - reserved
    for circuit in circuits:
        total = circuit.values.shape[0]
        each = per_binding[circuit.name]
        if each > budget:
            raise ConfigError(
                f"circuit {circuit.name!r}: one parameter set needs {each} executions (plus "
                f"{reserved} for calibration), above the Runtime's {MAX_EXECUTIONS_PER_JOB} per "
                "job; lower shots or precision"
            )
        size = min(chunk_size, max(1, budget // each))
        for number, start in enumerate(range(0, total, size)):
            stop = min(start + size, total)
            pubs.append(
                PlannedPub(
                    pub_id=f"{circuit.name}/{number:04d}",
                    circuit=circuit.name,
                    start=start,
                    stop=stop,
                    values_sha=values_sha(circuit.values[start:stop]),
                    executions=each * (stop - start),
                )
            )
    return tuple(pubs)


def _pack_jobs(
    pubs: tuple[PlannedPub, ...],
    circuits: tuple[PlannedCircuit, ...],
    *,
    extra_executions: int,
    shots: int,
    rep_delay: float | None,
) -> tuple[PlannedJob, ...]:
    durations = {c.name: c.duration_s for c in circuits}
    budget = MAX_EXECUTIONS_PER_JOB - extra_executions
    groups: list[list[PlannedPub]] = [[]]
    used = 0
    for pub in pubs:
        if groups[-1] and used + pub.executions > budget:
            groups.append([])
            used = 0
        groups[-1].append(pub)
        used += pub.executions
    jobs = []
    for index, group in enumerate(groups):
        executions = sum(p.executions for p in group) + extra_executions
        seconds: float | None = None
        if rep_delay is not None and all(durations[p.circuit] is not None for p in group):
            seconds = (
                sum(p.executions * (float(durations[p.circuit] or 0.0) + rep_delay) for p in group)
                + extra_executions * rep_delay
            )
        jobs.append(PlannedJob(index, tuple(p.pub_id for p in group), executions, seconds))
    return tuple(jobs)


def rep_delay_seconds(device: BackendV2) -> float:
    """The device's default repetition delay between shots (250 us when it has none)."""
    value = getattr(device, "default_rep_delay", None)
    return float(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_REP_DELAY_S
