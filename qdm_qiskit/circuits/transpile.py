"""Transpilation to ISA circuits: preset pass managers, a cache, ISA checks, summaries.

Since March 2024 IBM devices accept only ISA circuits (instructions and qubit pairs the target
supports). A parameterized circuit is transpiled **once** per (structure, target, options) and
then bound to many parameter sets: :class:`TranspileCache` makes that the default path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import ControlFlowOp
from qiskit.exceptions import QiskitError
from qiskit.providers import BackendV2
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import Target, generate_preset_pass_manager
from qiskit.transpiler.exceptions import TranspilerError
from qiskit.transpiler.preset_passmanagers.plugin import list_stage_plugins

from qdm_qiskit._io import atomic_write_bytes
from qdm_qiskit.circuits._naming import NOISE_MARKER_PREFIX
from qdm_qiskit.circuits.fingerprint import qpy_bytes, structure_hash, target_fingerprint
from qdm_qiskit.errors import ConfigError

#: Instructions that never need target support.
_DIRECTIVES = frozenset({"barrier", "delay", "store"})


@dataclass(frozen=True)
class TranspileOptions:
    """How to transpile; part of the cache key.

    Attributes:
        optimization_level: preset pass manager level 0-3. Default 2 (Qiskit's default).
        seed_transpiler: seed of the stochastic passes (layout, routing), so the same inputs
            give the same ISA circuit. Default 0.
        layout_method: preset layout method name, or None for the level's default.
        routing_method: preset routing method name, or None for the level's default.
    """

    optimization_level: int = 2
    seed_transpiler: int = 0
    layout_method: str | None = None
    routing_method: str | None = None

    def __post_init__(self) -> None:
        level = self.optimization_level
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 3:
            raise ConfigError(f"optimization_level must be 0, 1, 2 or 3, got {level!r}")
        seed = self.seed_transpiler
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed_transpiler must be a non-negative integer, got {seed!r}")
        for stage, method in (("layout", self.layout_method), ("routing", self.routing_method)):
            if method is None:
                continue
            known = sorted(list_stage_plugins(stage))
            if method not in known:
                raise ConfigError(
                    f"{stage}_method must be one of {', '.join(known)} (or unset), got {method!r}"
                )


def as_target(target: Target | BackendV2) -> Target:
    """Accept a :class:`~qiskit.transpiler.Target` or any BackendV2 (fake, Aer, IBM)."""
    if isinstance(target, Target):
        return target
    if isinstance(target, BackendV2):
        return target.target
    raise ConfigError(f"expected a Target or a BackendV2, got {type(target).__name__}")


@dataclass
class TranspileCache:
    """ISA circuits keyed by (structure hash, target fingerprint, options).

    In memory by default; with ``directory``, entries are also kept as QPY files (layout
    included) so that separate processes, e.g. ``qdm build`` then ``qdm submit``, share them.
    A hit returns a copy carrying the *caller's* parameter objects, name and metadata.

    Attributes:
        directory: optional on-disk store.
        autoflush: write new entries to the directory at once; with False, only on
            :meth:`flush` (a build writes nothing unless every circuit succeeds).
        hits: lookups answered from the cache.
        misses: lookups that ran the transpiler.
    """

    directory: Path | str | None = None
    autoflush: bool = True
    hits: int = 0
    misses: int = 0
    _memory: dict[str, QuantumCircuit] = field(default_factory=dict, repr=False)
    _pending: dict[str, QuantumCircuit] = field(default_factory=dict, repr=False)
    _fingerprints: dict[int, tuple[Target, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.directory is not None:
            self.directory = Path(self.directory)

    def key(self, circuit: QuantumCircuit, target: Target, options: TranspileOptions) -> str:
        """The cache key of one transpilation."""
        record = {
            "structure": structure_hash(circuit),
            "target": self._fingerprint(target),
            "options": asdict(options),
        }
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()

    def _fingerprint(self, target: Target) -> str:
        cached = self._fingerprints.get(id(target))
        if cached is None or cached[0] is not target:
            cached = (target, target_fingerprint(target))
            self._fingerprints[id(target)] = cached
        return cached[1]

    def get(self, key: str) -> QuantumCircuit | None:
        """Return a copy of the cached ISA circuit, or None."""
        circuit = self._memory.get(key)
        if circuit is None and self.directory is not None:
            path = Path(self.directory) / f"{key}.qpy"
            if path.exists():
                try:
                    with path.open("rb") as stream:
                        circuit = qpy.load(stream)[0]
                except Exception:  # noqa: BLE001 - a damaged entry is only a cache miss
                    path.unlink(missing_ok=True)
                    return None
                self._memory[key] = circuit
        return None if circuit is None else circuit.copy()

    def put(self, key: str, circuit: QuantumCircuit) -> None:
        """Store an ISA circuit (and write it to the directory, if any)."""
        self._memory[key] = circuit.copy()
        if self.directory is not None:
            self._pending[key] = self._memory[key]
            if self.autoflush:
                self.flush()

    def flush(self) -> None:
        """Write entries not yet on disk to the directory."""
        if self.directory is not None:
            for key, circuit in self._pending.items():
                atomic_write_bytes(Path(self.directory) / f"{key}.qpy", qpy_bytes(circuit))
        self._pending.clear()


def transpile_isa(
    circuit: QuantumCircuit,
    *,
    target: Target | BackendV2,
    options: TranspileOptions | None = None,
    cache: TranspileCache | None = None,
) -> QuantumCircuit:
    """Transpile ``circuit`` for ``target`` with a preset pass manager, once per cache key.

    Parameters stay symbolic: bind many parameter sets into the returned ISA circuit. The
    circuit's metadata is carried over (with ``isa_target_fingerprint`` added).

    Raises:
        ConfigError: if the circuit needs more qubits than the target has.
    """
    resolved = as_target(target)
    options = options or TranspileOptions()
    markers = sorted(_noise_markers(circuit))
    if markers:
        raise ConfigError(
            f"holds simulator-only noise markers ({', '.join(markers[:3])}): transpiling would "
            "drop them; simulate the logical circuit with its noise model instead"
        )
    if circuit.num_qubits > resolved.num_qubits:
        raise ConfigError(
            f"needs {circuit.num_qubits} qubits but the target has {resolved.num_qubits}"
        )
    key = cache.key(circuit, resolved, options) if cache is not None else None
    if cache is not None and key is not None:
        found = cache.get(key)
        if found is not None:
            cache.hits += 1
            return _with_identity_of(found, circuit, resolved)
        cache.misses += 1
    try:
        manager = generate_preset_pass_manager(
            optimization_level=options.optimization_level,
            target=resolved,
            seed_transpiler=options.seed_transpiler,
            layout_method=options.layout_method,
            routing_method=options.routing_method,
        )
        isa = manager.run(circuit)
    except (TranspilerError, QiskitError) as exc:
        raise ConfigError(f"cannot be transpiled for the target: {exc}") from exc
    isa = _with_identity_of(isa, circuit, resolved)
    if cache is not None and key is not None:
        cache.put(key, isa)
    return isa


def _with_identity_of(
    isa: QuantumCircuit, circuit: QuantumCircuit, target: Target
) -> QuantumCircuit:
    """Give an ISA circuit the logical circuit's parameter objects, name and metadata.

    A cached ISA circuit may come from another, structurally equal circuit: its parameters are
    other objects with the same names (binding with the caller's would fail) and its name and
    metadata are the other circuit's.
    """
    own = {p.name: p for p in circuit.parameters}
    foreign = {p: own[p.name] for p in isa.parameters if own.get(p.name, p) is not p}
    if foreign:
        isa.assign_parameters(foreign, inplace=True)
    isa.name = circuit.name
    isa.metadata = {
        **(circuit.metadata or {}),
        "isa_target_fingerprint": target_fingerprint(target),
    }
    return isa


def _noise_markers(circuit: QuantumCircuit) -> set[str]:
    """Labels of the identity gates that noise models attach simulated channels to."""
    return {
        label
        for instruction in circuit.data
        if (label := getattr(instruction.operation, "label", None))
        and str(label).startswith(NOISE_MARKER_PREFIX)
    }


def isa_violations(circuit: QuantumCircuit, target: Target | BackendV2) -> list[str]:
    """Instructions of ``circuit`` that ``target`` does not support (empty for an ISA circuit)."""
    resolved = as_target(target)
    problems = []
    if circuit.num_qubits > resolved.num_qubits:
        problems.append(f"{circuit.num_qubits} qubits > target's {resolved.num_qubits}")
    _collect_violations(circuit, list(range(circuit.num_qubits)), resolved, problems)
    return problems


def _collect_violations(
    circuit: QuantumCircuit, physical: list[int], target: Target, problems: list[str]
) -> None:
    """Check every instruction, and the bodies of control flow on the qubits they map to."""
    for instruction in circuit.data:
        operation = instruction.operation
        qargs = tuple(physical[circuit.find_bit(q).index] for q in instruction.qubits)
        if operation.name in _DIRECTIVES:
            continue
        if not target.instruction_supported(operation.name, qargs):
            problems.append(f"{operation.name} on qubits {qargs}")
        if isinstance(operation, ControlFlowOp):
            for block in operation.blocks:
                _collect_violations(block, list(qargs), target, problems)


def layout_observable(observable: SparsePauliOp, isa_circuit: QuantumCircuit) -> SparsePauliOp:
    """Map a logical observable onto the physical qubits of a transpiled circuit."""
    return observable.apply_layout(isa_circuit.layout)


@dataclass(frozen=True)
class CircuitSummary:
    """What a circuit costs on a target.

    Attributes:
        name: the circuit's name.
        width: qubits of the circuit (physical qubits for an ISA circuit).
        active_qubits: qubits touched by at least one instruction.
        depth: circuit depth.
        two_qubit_gates: number of two-qubit gates.
        parameters: number of unbound parameters.
        duration_us: estimated duration on the target in microseconds (longest path of the
            target's instruction durations), or None without a target or duration data.
    """

    name: str
    width: int
    active_qubits: int
    depth: int
    two_qubit_gates: int
    parameters: int
    duration_us: float | None


def circuit_summary(
    circuit: QuantumCircuit, *, target: Target | BackendV2 | None = None, name: str | None = None
) -> CircuitSummary:
    """Summarise one circuit (an ISA circuit for a meaningful duration)."""
    active = {
        circuit.find_bit(q).index
        for instruction in circuit.data
        if instruction.operation.name not in _DIRECTIVES
        for q in instruction.qubits
    }
    two_qubit = sum(
        1
        for instruction in circuit.data
        if len(instruction.qubits) == 2
        and instruction.operation.name not in _DIRECTIVES
        and not isinstance(instruction.operation, ControlFlowOp)
    )
    duration = None
    if target is not None:
        try:
            duration = 1e6 * circuit.estimate_duration(as_target(target), unit="s")
        except Exception:  # noqa: BLE001 - missing durations or control flow: no estimate
            duration = None
    return CircuitSummary(
        name=name or circuit.name,
        width=circuit.num_qubits,
        active_qubits=len(active),
        depth=circuit.depth(),
        two_qubit_gates=two_qubit,
        parameters=circuit.num_parameters,
        duration_us=None if duration is None else float(duration),
    )


def summary_table(summaries: Iterable[CircuitSummary]) -> pd.DataFrame:
    """One row per circuit summary."""
    return pd.DataFrame([asdict(s) for s in summaries]).set_index("name")
