"""Experiments: which circuits to run, with which parameter values and observables.

An experiment is the input of ``qdm submit``: a TOML (or JSON) file such as::

    name = "denoiser-demo"
    primitive = "sampler"          # or "estimator"
    seed = 7                       # parameter draws and simulator seeds
    shots = 1024                   # sampler; the estimator uses precision
    target = "aer"                 # optional: the CLI's --target overrides it
    mitigation = "none"            # none | readout | zne | full

    [transpile]
    optimization_level = 2

    [[circuits]]
    name = "denoiser"
    builder = "denoising_circuit"
    arguments = { num_data_qubits = 2, num_ancillas = 1, layers = 2, steps = 1 }
    bindings = 256                 # random parameter sets, uniform in [-pi, pi)
    # values = "values.npy"        # or an (N, P) array, columns in circuit.parameters order
    # observables = ["ZIZ", "IZI"] # estimator: Pauli labels over the circuit's qubits

:func:`experiment_tasks` turns it into :class:`CircuitTask` objects, the form the job manager
takes from Python code as well (the training loop submits tasks directly).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit.quantum_info import SparsePauliOp

from qdm_qiskit.circuits.config import CircuitSpec
from qdm_qiskit.circuits.registry import build_circuit
from qdm_qiskit.circuits.transpile import TranspileOptions
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.mitigation import PRESETS
from qdm_qiskit.jobs.primitives import PRIMITIVES
from qdm_qiskit.options import options_from_dict, read_config_file

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_BINDINGS = 10_000_000
DEFAULT_SHOTS = 1024
DEFAULT_PRECISION = 0.015625


@dataclass(frozen=True)
class CircuitTask:
    """One logical circuit with its parameter sets (and observables for the Estimator).

    Attributes:
        name: identifier, unique within a run; result rows carry it.
        circuit: the logical (not yet transpiled) circuit.
        parameter_values: ``(N, P)`` array, columns in ``circuit.parameters`` order; ``(1, 0)``
            for a circuit without parameters.
        observables: ``(name, observable)`` pairs over the circuit's qubits (Estimator only).
    """

    name: str
    circuit: QuantumCircuit
    parameter_values: np.ndarray
    observables: tuple[tuple[str, SparsePauliOp], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(f"task name {self.name!r} must be letters, digits, '_', '.', '-'")
        # A private copy: the caller's buffer stays writable and later edits do not leak in.
        values = np.array(self.parameter_values, dtype=float, copy=True)
        if values.ndim == 1 and self.circuit.num_parameters == values.size:
            values = values[None, :]
        if values.ndim != 2 or values.shape[1] != self.circuit.num_parameters:
            raise ConfigError(
                f"task {self.name!r}: parameter values must have shape (N, "
                f"{self.circuit.num_parameters}), got {np.shape(self.parameter_values)}"
            )
        if values.shape[0] < 1:
            raise ConfigError(f"task {self.name!r}: needs at least one parameter set")
        if not np.all(np.isfinite(values)):
            raise ConfigError(f"task {self.name!r}: parameter values contain NaN or inf")
        values = np.ascontiguousarray(values)
        values.setflags(write=False)
        object.__setattr__(self, "parameter_values", values)
        for obs_name, observable in self.observables:
            if observable.num_qubits != self.circuit.num_qubits:
                raise ConfigError(
                    f"task {self.name!r}: observable {obs_name!r} has {observable.num_qubits} "
                    f"qubits, the circuit {self.circuit.num_qubits}"
                )

    @property
    def num_bindings(self) -> int:
        """Number of parameter sets."""
        return int(self.parameter_values.shape[0])


@dataclass(frozen=True)
class ExperimentCircuit:
    """One ``[[circuits]]`` entry of an experiment file."""

    name: str
    builder: str
    arguments: Mapping[str, Any] = field(default_factory=dict)
    bindings: int | None = None
    values: str | None = None
    observables: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        # Name, builder and arguments follow the rules of a `qdm build` entry.
        CircuitSpec(self.name, self.builder, self.arguments)
        if self.bindings is not None and self.values is not None:
            raise ConfigError(f"circuit {self.name!r}: give either bindings or values, not both")
        count = self.bindings
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BINDINGS
        ):
            raise ConfigError(
                f"circuit {self.name!r}: bindings must be an integer in [1, {MAX_BINDINGS}]"
            )
        if self.values is not None and not isinstance(self.values, str):
            raise ConfigError(f"circuit {self.name!r}: values must be a path to a .npy file")


@dataclass(frozen=True)
class ExperimentConfig:
    """A validated experiment (see the module docstring).

    Attributes:
        circuits: the circuits, at least one, unique names.
        name: a label for humans (``status`` tables).
        primitive: ``sampler`` or ``estimator``.
        seed: seed of random parameter draws and of local simulation.
        shots: shots per parameter set (Sampler).
        precision: target standard error per expectation value (Estimator).
        target: default execution target.
        mitigation: default mitigation preset.
        chunk_size: parameter sets per PUB.
        transpile: transpilation options.
        base_dir: directory that relative ``values`` paths are resolved against.
    """

    circuits: tuple[ExperimentCircuit, ...]
    name: str = "experiment"
    primitive: str = "sampler"
    seed: int = 0
    shots: int = DEFAULT_SHOTS
    precision: float = DEFAULT_PRECISION
    target: str | None = None
    mitigation: str = "none"
    chunk_size: int = 1024
    transpile: TranspileOptions = field(default_factory=TranspileOptions)
    base_dir: str = "."

    def __post_init__(self) -> None:
        if not self.circuits:
            raise ConfigError("an experiment needs at least one [[circuits]] entry")
        names = [c.name for c in self.circuits]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"circuit names must be unique: {', '.join(duplicates)}")
        if self.primitive not in PRIMITIVES:
            raise ConfigError(f"primitive must be one of {', '.join(PRIMITIVES)}")
        if self.mitigation not in PRESETS:
            raise ConfigError(f"mitigation must be one of {', '.join(PRESETS)}")
        for label, value, low in (("seed", self.seed, 0), ("shots", self.shots, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{label} must be an integer >= {low}, got {value!r}")
        check_chunk_size(self.chunk_size)
        check_precision(self.precision)


def check_chunk_size(chunk_size: object) -> int:
    """Validate the number of parameter sets per PUB."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return chunk_size


def check_precision(precision: object) -> float:
    """Validate an Estimator precision (a standard error, in (0, 1])."""
    if (
        isinstance(precision, bool)
        or not isinstance(precision, (int, float))
        or not 0 < precision <= 1
    ):
        raise ConfigError(f"precision must be a number in (0, 1], got {precision!r}")
    return float(precision)


def parse_experiment(data: Mapping[str, Any], *, source: str = "experiment") -> ExperimentConfig:
    """Validate a mapping (parsed TOML/JSON) into an :class:`ExperimentConfig`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a table at the top level")
    entries = data.get("circuits", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'circuits' must be a list of tables ([[circuits]])")
    circuits = tuple(
        options_from_dict(ExperimentCircuit, entry, context=f"{source}: circuits[{i}]")
        for i, entry in enumerate(entries)
    )
    transpile = options_from_dict(
        TranspileOptions, data.get("transpile", {}), context=f"{source}: transpile"
    )
    top = {k: v for k, v in data.items() if k not in ("circuits", "transpile")}
    return options_from_dict(
        ExperimentConfig, {**top, "circuits": circuits, "transpile": transpile}, context=source
    )


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read an experiment from a ``.toml`` or ``.json`` file.

    Raises:
        ConfigError: unreadable file or invalid content, naming the file.
    """
    path = Path(path)
    data = read_config_file(path, kind="experiment", described="an experiment")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table at the top level")
    if "base_dir" in data:
        raise ConfigError(f"{path}: 'base_dir' is set from the file's location, not in the file")
    return parse_experiment({**data, "base_dir": str(path.parent)}, source=str(path))


def experiment_tasks(config: ExperimentConfig) -> list[CircuitTask]:
    """Build the circuits of an experiment and draw (or load) their parameter values."""
    rng = np.random.default_rng(config.seed)
    tasks = []
    for entry in config.circuits:
        where = f"circuit {entry.name!r}"
        try:
            circuit = build_circuit(entry.builder, entry.arguments)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        circuit.name = entry.name
        if config.primitive == "sampler" and circuit.num_clbits == 0:
            circuit.measure_all()
        values = _parameter_values(entry, circuit, rng, Path(config.base_dir))
        observables: tuple[tuple[str, SparsePauliOp], ...] = ()
        if config.primitive == "estimator":
            observables = parse_observables(entry.observables, circuit.num_qubits, where=where)
        elif entry.observables:
            raise ConfigError(f"{where}: observables need primitive = 'estimator'")
        tasks.append(CircuitTask(entry.name, circuit, values, observables))
    return tasks


def _parameter_values(
    entry: ExperimentCircuit, circuit: QuantumCircuit, rng: np.random.Generator, base: Path
) -> np.ndarray:
    if entry.values is not None:
        path = base / entry.values
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"circuit {entry.name!r}: cannot read values {path}: {exc}") from exc
        return np.atleast_2d(np.asarray(values, dtype=float))
    count = entry.bindings if entry.bindings is not None else 1
    return rng.uniform(-np.pi, np.pi, size=(count, circuit.num_parameters))


def parse_observables(
    entries: Sequence[Any], num_qubits: int, *, where: str = "observables"
) -> tuple[tuple[str, SparsePauliOp], ...]:
    """Observables from Pauli labels (``"ZIZ"``) or tables ``{name, terms=[[paulis, qubits, c]]}``.

    Without entries: ``Z`` on each qubit, named ``Z0``, ``Z1``, ...
    """
    if not entries:
        return tuple(
            (f"Z{q}", SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], num_qubits))
            for q in range(num_qubits)
        )
    parsed = []
    for i, entry in enumerate(entries):
        try:
            if isinstance(entry, str):
                if len(entry) != num_qubits:
                    raise ConfigError(
                        f"label {entry!r} has {len(entry)} letters for {num_qubits} qubits"
                    )
                parsed.append((entry, SparsePauliOp(entry)))
            elif isinstance(entry, Mapping) and set(entry) == {"name", "terms"}:
                terms = [(str(p), list(q), complex(c)) for p, q, c in entry["terms"]]
                for paulis, qubits, _ in terms:
                    if len(paulis) != len(qubits):
                        raise ConfigError(
                            f"term {paulis!r} needs {len(paulis)} qubits, got {qubits}"
                        )
                parsed.append(
                    (str(entry["name"]), SparsePauliOp.from_sparse_list(terms, num_qubits))
                )
            else:
                raise ConfigError("expected a Pauli label or a table with 'name' and 'terms'")
        except ConfigError as exc:
            raise ConfigError(f"{where}: observables[{i}]: {exc}") from exc
        except (TypeError, ValueError, QiskitError) as exc:
            raise ConfigError(f"{where}: observables[{i}]: {exc}") from exc
    names = [name for name, _ in parsed]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: observable names must be unique")
    return tuple(parsed)
