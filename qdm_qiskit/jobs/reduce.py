"""Restrict a large device to the qubits a circuit uses, so noisy local simulation stays small.

A 3-qubit circuit transpiled for a 156-qubit device (FakeFez) is a 156-qubit ISA circuit. Aer
usually drops idle qubits, but the client-side Runtime primitives (twirling, TREX, ZNE) add
boxes and annotations and then ask Aer for a statevector over every device qubit, which fails.
We therefore simulate the *active* physical qubits only: a :class:`ReducedBackend` whose target
holds exactly those qubits with the device's own gate, readout and T1/T2 properties, the ISA
circuit re-indexed onto it, and the observables re-indexed the same way. The noise a qubit or
pair sees is unchanged; only qubits the circuit never touches (and therefore cannot affect the
result) are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qiskit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import Target

from qdm_qiskit.errors import ConfigError

_IGNORED = frozenset({"barrier"})


class ReducedBackend(BackendV2):
    """A simulation-only backend: a device's target restricted to some physical qubits.

    ``run`` is not provided: use it as the ``mode`` of a Runtime primitive in local testing
    mode or with ``AerSimulator.from_backend``.
    """

    def __init__(self, target: Target, *, name: str, physical_qubits: Sequence[int]) -> None:
        """Wrap ``target``; ``physical_qubits[i]`` is the device qubit behind qubit ``i``."""
        super().__init__(name=name, description=f"{name} (simulation of a device subset)")
        self._target = target
        self.physical_qubits = tuple(physical_qubits)

    @property
    def target(self) -> Target:
        """The restricted target."""
        return self._target

    @property
    def max_circuits(self) -> None:
        """No limit of our own."""
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    def run(self, run_input: object, **options: object) -> None:
        """Not supported: this backend only describes noise and connectivity."""
        raise NotImplementedError("ReducedBackend is simulated through Aer, not run directly")


@dataclass(frozen=True)
class ReducedCircuit:
    """An ISA circuit re-indexed onto its active physical qubits.

    Attributes:
        circuit: the circuit on ``len(physical_qubits)`` qubits, same clbits and parameters.
        physical_qubits: device qubit of each qubit of ``circuit``, in increasing order.
    """

    circuit: QuantumCircuit
    physical_qubits: tuple[int, ...]

    def observable(self, observable: SparsePauliOp) -> SparsePauliOp:
        """Re-index an observable on the device's physical qubits (after ``apply_layout``)."""
        return restrict_observable(observable, self.physical_qubits)


def active_qubits(circuit: QuantumCircuit) -> tuple[int, ...]:
    """Physical qubits an ISA circuit acts on, plus those holding its logical qubits.

    Qubits carrying a logical qubit are included even if idle, so that an observable on them
    still has somewhere to act.
    """
    used = {
        circuit.find_bit(qubit).index
        for instruction in circuit.data
        if instruction.operation.name not in _IGNORED
        for qubit in instruction.qubits
    }
    if circuit.layout is not None:
        used.update(circuit.layout.final_index_layout())
    return tuple(sorted(used))


def reduce_circuit(circuit: QuantumCircuit, qubits: Sequence[int] | None = None) -> ReducedCircuit:
    """Re-index ``circuit`` onto ``qubits`` (default: its :func:`active_qubits`).

    Raises:
        ConfigError: if the circuit acts on a qubit outside ``qubits``.
    """
    physical = tuple(sorted(qubits)) if qubits is not None else active_qubits(circuit)
    index = {q: i for i, q in enumerate(physical)}
    reduced = QuantumCircuit(len(physical), name=circuit.name, global_phase=circuit.global_phase)
    reduced.metadata = dict(circuit.metadata or {})
    # Bits first, in the original order, then the registers over them: clbit order is kept.
    reduced.add_bits(circuit.clbits)
    for register in circuit.cregs:
        reduced.add_register(register)
    for instruction in circuit.data:
        positions = [circuit.find_bit(qubit).index for qubit in instruction.qubits]
        if instruction.operation.name in _IGNORED:
            kept = [reduced.qubits[index[p]] for p in positions if p in index]
            if kept:
                reduced.barrier(*kept)
            continue
        missing = [p for p in positions if p not in index]
        if missing:
            raise ConfigError(
                f"circuit {circuit.name!r} acts on qubit(s) {missing} outside the kept set"
            )
        reduced.append(
            instruction.operation,
            [reduced.qubits[index[p]] for p in positions],
            instruction.clbits,
            copy=False,
        )
    return ReducedCircuit(reduced, physical)


def restrict_observable(observable: SparsePauliOp, qubits: Sequence[int]) -> SparsePauliOp:
    """Re-index ``observable`` (on physical qubits) onto ``qubits``.

    ``qubits`` are sorted first, as :func:`reduce_circuit` sorts them.

    Raises:
        ConfigError: if a term acts non-trivially outside ``qubits``.
    """
    index = {q: i for i, q in enumerate(sorted(qubits))}
    terms = []
    for label, positions, coeff in observable.to_sparse_list():
        outside = [p for p in positions if p not in index]
        if outside:
            raise ConfigError(f"observable acts on qubit(s) {outside} the circuit does not use")
        terms.append((label, [index[p] for p in positions], coeff))
    return SparsePauliOp.from_sparse_list(terms, num_qubits=len(qubits))


def reduce_backend(backend: BackendV2, qubits: Sequence[int]) -> ReducedBackend:
    """Return ``backend`` restricted to ``qubits`` (gate, readout and qubit properties kept)."""
    full = backend.target
    physical = tuple(sorted(qubits))
    bad = [q for q in physical if not 0 <= q < full.num_qubits]
    if bad:
        raise ConfigError(f"{backend.name} has no qubit(s) {bad}")
    index = {q: i for i, q in enumerate(physical)}
    qubit_properties = full.qubit_properties
    target = Target(
        description=f"{backend.name} restricted to {list(physical)}",
        num_qubits=len(physical),
        dt=full.dt,
        granularity=full.granularity,
        min_length=full.min_length,
        pulse_alignment=full.pulse_alignment,
        acquire_alignment=full.acquire_alignment,
        qubit_properties=[qubit_properties[q] for q in physical] if qubit_properties else None,
    )
    for name in full.operation_names:
        operation = full.operation_from_name(name)
        properties = full[name]
        if isinstance(operation, type) or properties is None or None in properties:
            # Global instructions (control flow, variadic gates) apply to every qubit.
            target.add_instruction(operation, name=name)
            continue
        kept = {
            tuple(index[q] for q in qargs): props
            for qargs, props in properties.items()
            if qargs is not None and all(q in index for q in qargs)
        }
        if kept:
            target.add_instruction(operation, kept, name=name)
    return ReducedBackend(
        target, name=f"{backend.name}[{len(physical)}q]", physical_qubits=physical
    )
