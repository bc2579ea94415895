"""Compile a ``QuantumCircuit`` into a short list of fused operations (numpy only, no torch).

The training engine never walks a circuit gate by gate at run time. Compilation happens once:

- every gate angle becomes an affine *slot* ``offset + sum_k c_k p_k`` over the circuit's
  parameters (non-linear parameter expressions are refused), so all angles of a batch come from
  one matrix product;
- runs of single-qubit gates are fused into one 2x2 chain per qubit (a :class:`LocalOp`); a
  multi-qubit gate flushes *all* pending chains (they precede it in program order, so this is
  always correct) which lets consecutive multi-qubit gates merge;
- consecutive permutation gates (CX, SWAP, CCX, ...) compose into one :class:`PermutationOp`
  and consecutive diagonal gates (CZ, RZZ, CP, CRZ, ...) into one :class:`DiagonalOp`;
- any other fixed gate becomes a :class:`DenseOp`; parameterized gates that are none of the above
  are expanded through their definition;
- mid-circuit measurement, reset and Kraus channels become density-matrix-only operations.

Qubit order is Qiskit's: qubit ``q`` is bit ``q`` of the basis-state index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Instruction, Parameter, ParameterExpression

from qdm_qiskit.circuits._naming import NOISE_MARKER_PREFIX
from qdm_qiskit.errors import ConfigError

#: Single-qubit gates computed from angles at run time; every other 1q gate must be fixed.
ROTATIONS = {"rx": 1, "ry": 1, "rz": 1, "p": 1, "u1": 1, "u": 3, "u3": 3, "r": 2}
#: Parameterized diagonal two-qubit gates and their phase pattern (angle multiplies it).
_DIAGONAL_2Q = ("rzz", "cp", "cu1", "crz")
_SKIPPED = ("barrier", "delay", "id")
#: Maximum width of a fixed dense gate kept as one matrix (larger ones are decomposed).
MAX_DENSE_QUBITS = 6


@dataclass(frozen=True)
class Slot:
    """One angle: ``offset + coefficients @ parameter_values``."""

    offset: float
    coefficients: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class OneQubitGate:
    """A gate of a fused chain: a rotation kind with its angle slots, or a fixed matrix."""

    kind: str
    slots: tuple[int, ...] = ()
    matrix: np.ndarray | None = None
    conjugate: bool = False


@dataclass
class LocalOp:
    """Per-qubit chains of single-qubit gates (indices into ``Program.gates``), first to last."""

    chains: dict[int, list[int]] = field(default_factory=dict)


@dataclass
class PermutationOp:
    """``new[i] = old[index[i]]`` over basis states (composition of permutation gates)."""

    index: np.ndarray


@dataclass
class DiagonalOp:
    """Multiply by ``fixed * exp(i * sum_s angle_s * pattern_s)`` over basis states."""

    fixed: np.ndarray
    terms: list[tuple[int, np.ndarray]] = field(default_factory=list)


@dataclass
class DenseOp:
    """A fixed unitary on ``qubits`` (Qiskit's matrix convention: ``qubits[0]`` is the low bit)."""

    qubits: tuple[int, ...]
    matrix: np.ndarray


@dataclass
class MeasureOp:
    """Non-selective measurement: dephasing in the computational basis (density mode only)."""

    qubits: tuple[int, ...]


@dataclass
class ResetOp:
    """Reset to |0> (density mode only)."""

    qubits: tuple[int, ...]


@dataclass
class KrausOp:
    """A channel given by Kraus operators (density mode only)."""

    qubits: tuple[int, ...]
    operators: tuple[np.ndarray, ...]


Op = LocalOp | PermutationOp | DiagonalOp | DenseOp | MeasureOp | ResetOp | KrausOp
NON_UNITARY = (MeasureOp, ResetOp, KrausOp)


@dataclass
class Program:
    """A compiled circuit: parameters, angle slots, single-qubit gates and fused operations."""

    num_qubits: int
    parameters: tuple[Parameter, ...]
    slots: list[Slot]
    gates: list[OneQubitGate]
    ops: list[Op]
    global_phase: int | None  # slot index, or None for zero phase
    gate_count: int  # gates of the source circuit that act (for the memory-bandwidth model)

    @property
    def unitary(self) -> bool:
        """True when the program has no measurement, reset or channel (statevector-ready)."""
        return not any(isinstance(op, NON_UNITARY) for op in self.ops)


def compile_program(circuit: QuantumCircuit, *, keep_final_measurements: bool = False) -> Program:
    """Compile ``circuit`` (parameters in ``circuit.parameters`` order) into a :class:`Program`.

    Terminal measurements (no later operation on the measured qubit) are dropped unless
    ``keep_final_measurements``: a state vector is returned before them, while a density matrix
    (density mode) is returned after them, dephased.
    """
    builder = _Builder(circuit)
    terminal = set() if keep_final_measurements else _terminal_measurements(circuit)
    builder.walk(circuit, list(range(circuit.num_qubits)), terminal=terminal)
    builder.flush()
    return Program(
        num_qubits=circuit.num_qubits,
        parameters=builder.parameters,
        slots=builder.slots,
        gates=builder.gates,
        ops=builder.ops,
        global_phase=builder.global_phase_slot(circuit.global_phase),
        gate_count=builder.gate_count,
    )


def _terminal_measurements(circuit: QuantumCircuit) -> set[int]:
    """Indices of measure instructions after which their qubit sees only measures and barriers."""
    terminal: set[int] = set()
    touched: set[int] = set()
    for position in range(len(circuit.data) - 1, -1, -1):
        instruction = circuit.data[position]
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        name = instruction.operation.name
        if name == "barrier":
            continue
        if name == "measure" and not touched.intersection(qubits):
            terminal.add(position)
            continue
        touched.update(qubits)
    return terminal


class _Builder:
    def __init__(self, circuit: QuantumCircuit) -> None:
        self.n = circuit.num_qubits
        self.dim = 2**self.n
        self.parameters = tuple(circuit.parameters)
        self.index = {p: i for i, p in enumerate(self.parameters)}
        self.slots: list[Slot] = []
        self.gates: list[OneQubitGate] = []
        self.ops: list[Op] = []
        self.pending: dict[int, list[int]] = {}
        self.gate_count = 0
        self._bits = (np.arange(self.dim)[:, None] >> np.arange(self.n)[None, :]) & 1

    # ---- angles -------------------------------------------------------------------------
    def slot(self, value: object) -> int:
        if isinstance(value, ParameterExpression) and value.parameters:
            coefficients = []
            for parameter in value.parameters:
                derivative = value.gradient(parameter)
                if isinstance(derivative, ParameterExpression):
                    raise ConfigError(
                        f"gate angle {value} is not linear in its parameters; the engine "
                        "supports affine angles only"
                    )
                coefficients.append((self.index[parameter], float(np.real(derivative))))
            offset = float(np.real(value.bind({p: 0.0 for p in value.parameters}).numeric()))
            self.slots.append(Slot(offset, tuple(sorted(coefficients))))
        else:
            self.slots.append(Slot(float(value), ()))  # type: ignore[arg-type]
        return len(self.slots) - 1

    def global_phase_slot(self, phase: object) -> int | None:
        if not isinstance(phase, ParameterExpression) and float(phase) == 0.0:  # type: ignore[arg-type]
            return None
        return self.slot(phase)

    # ---- walking ------------------------------------------------------------------------
    def walk(self, circuit: QuantumCircuit, qubit_map: list[int], terminal: set[int]) -> None:
        for position, instruction in enumerate(circuit.data):
            operation = instruction.operation
            qubits = tuple(qubit_map[circuit.find_bit(q).index] for q in instruction.qubits)
            if position in terminal:
                continue
            self.apply(operation, qubits)

    def apply(self, operation: Instruction, qubits: tuple[int, ...]) -> None:
        name = operation.name
        control_flow = ("if_else", "while_loop", "for_loop", "switch_case")
        if getattr(operation, "condition", None) is not None or name in control_flow:
            raise ConfigError(f"classically controlled operation {name!r} is not supported")
        if name in _SKIPPED:
            return
        if name == "unitary" and str(operation.label or "").startswith(NOISE_MARKER_PREFIX):
            raise ConfigError(
                "noise-marker gates carry their channel in an Aer noise model; build the "
                "depolarizing circuit with realisation='kraus' for the engine"
            )
        if name == "measure":
            self.flush()
            self.ops.append(MeasureOp(qubits))
            return
        if name == "reset":
            self.flush()
            self.ops.append(ResetOp(qubits))
            return
        if name == "kraus":
            self.flush()
            self.ops.append(
                KrausOp(qubits, tuple(np.asarray(k, complex) for k in operation.params))
            )
            return
        parameterized = any(isinstance(p, ParameterExpression) and p.parameters
                            for p in operation.params)  # fmt: skip
        if len(qubits) == 1 and (
            name in ROTATIONS or (not parameterized and _has_matrix(operation))
        ):
            self.one_qubit(operation, qubits[0])
            return
        if len(qubits) == 2 and name in _DIAGONAL_2Q:
            self.gate_count += 1
            self.diagonal_2q(name, operation.params[0], qubits)
            return
        if not parameterized and len(qubits) <= MAX_DENSE_QUBITS and _has_matrix(operation):
            self.gate_count += 1
            self.fixed(np.asarray(operation.to_matrix(), complex), qubits)
            return
        definition = operation.definition
        if definition is None:
            raise ConfigError(f"gate {name!r} has no matrix or definition the engine can use")
        self.walk(definition, list(qubits), terminal=set())
        self.global_phase_term(definition.global_phase)

    def global_phase_term(self, phase: object) -> None:
        if isinstance(phase, ParameterExpression) and phase.parameters:
            self.flush()
            self.ops.append(
                DiagonalOp(np.ones(self.dim, complex), [(self.slot(phase), np.ones(self.dim))])
            )
        elif float(phase) != 0.0:  # type: ignore[arg-type]
            self.fixed_diagonal(np.full(self.dim, np.exp(1j * float(phase))))  # type: ignore[arg-type]

    # ---- single-qubit chains --------------------------------------------------------------
    def one_qubit(self, operation: Instruction, qubit: int) -> None:
        self.gate_count += 1
        name = operation.name
        if name in ROTATIONS and any(isinstance(p, ParameterExpression) for p in operation.params):
            gate = OneQubitGate(name, tuple(self.slot(p) for p in operation.params))
        else:
            gate = OneQubitGate("fixed", matrix=np.asarray(operation.to_matrix(), complex))
        self.gates.append(gate)
        self.pending.setdefault(qubit, []).append(len(self.gates) - 1)

    def flush(self) -> None:
        if self.pending:
            self.ops.append(LocalOp(dict(sorted(self.pending.items()))))
            self.pending = {}

    # ---- multi-qubit gates ----------------------------------------------------------------
    def fixed(self, matrix: np.ndarray, qubits: tuple[int, ...]) -> None:
        self.flush()
        local = _local_index(self._bits, qubits)
        off_diagonal = matrix - np.diag(np.diag(matrix))
        if not np.any(np.abs(off_diagonal) > 1e-12):
            self.fixed_diagonal(np.diag(matrix)[local])
            return
        if _is_permutation(matrix):
            target = np.argmax(np.abs(matrix), axis=0)  # column l maps to row target[l]
            mask = sum(1 << q for q in qubits)
            spread = np.zeros(2 ** len(qubits), dtype=np.int64)
            for j, q in enumerate(qubits):
                spread |= ((np.arange(2 ** len(qubits)) >> j) & 1) << q
            destination = (np.arange(self.dim) & ~mask) | spread[target[local]]
            source = np.empty(self.dim, dtype=np.int64)
            source[destination] = np.arange(self.dim)
            self.permutation(source)
            return
        self.ops.append(DenseOp(qubits, matrix))

    def permutation(self, source: np.ndarray) -> None:
        last = self.ops[-1] if self.ops else None
        if isinstance(last, PermutationOp):
            last.index = last.index[source]  # apply last, then this one
        else:
            self.ops.append(PermutationOp(source))

    def fixed_diagonal(self, values: np.ndarray) -> None:
        self.flush()
        last = self.ops[-1] if self.ops else None
        if isinstance(last, DiagonalOp):
            last.fixed = last.fixed * values
        else:
            self.ops.append(DiagonalOp(np.asarray(values, complex)))

    def diagonal_2q(self, name: str, angle: object, qubits: tuple[int, ...]) -> None:
        self.flush()
        a, b = (self._bits[:, q] for q in qubits)
        if name == "rzz":
            pattern = -0.5 * (1 - 2 * a) * (1 - 2 * b)
        elif name == "crz":
            pattern = -0.5 * a * (1 - 2 * b)
        else:  # cp, cu1: phase on |11>
            pattern = (a & b).astype(float)
        slot = self.slot(angle)
        last = self.ops[-1] if self.ops else None
        if isinstance(last, DiagonalOp):
            last.terms.append((slot, pattern.astype(float)))
        else:
            self.ops.append(DiagonalOp(np.ones(self.dim, complex), [(slot, pattern.astype(float))]))


def _has_matrix(operation: Instruction) -> bool:
    try:
        operation.to_matrix()
    except Exception:  # noqa: BLE001 - qiskit raises several types for "no matrix"
        return False
    return True


def _is_permutation(matrix: np.ndarray) -> bool:
    magnitude = np.abs(matrix)
    ones = np.isclose(magnitude, 1.0, atol=1e-12)
    return bool(
        np.all(ones | (magnitude < 1e-12))
        and np.all(ones.sum(axis=0) == 1)
        and np.all(ones.sum(axis=1) == 1)
        and np.allclose(matrix[ones], 1.0, atol=1e-12)
    )


def _local_index(bits: np.ndarray, qubits: Sequence[int]) -> np.ndarray:
    """For every basis state, the index of its ``qubits`` bits (``qubits[0]`` lowest)."""
    local = np.zeros(bits.shape[0], dtype=np.int64)
    for j, q in enumerate(qubits):
        local |= bits[:, q].astype(np.int64) << j
    return local


def density_program(program: Program) -> Program:
    """The same circuit acting on a vectorized density matrix: a program on ``2n`` qubits.

    ``vec(rho)[r * 2^n + c] = rho[r, c]``: the row index occupies qubits ``n..2n-1`` and the
    column index qubits ``0..n-1``. A unitary ``U`` on qubit ``q`` becomes ``U`` on ``q + n`` and
    ``conj(U)`` on ``q``; measurement (non-selective) becomes a 0/1 diagonal mask; reset and Kraus
    channels become dense superoperators. The statevector executor then runs it unchanged.
    """
    n = program.num_qubits
    dim = 2**n
    gates = list(program.gates)
    conjugate_of: dict[int, int] = {}
    for index, gate in enumerate(program.gates):
        matrix = None if gate.matrix is None else np.conj(gate.matrix)
        gates.append(OneQubitGate(gate.kind, gate.slots, matrix, conjugate=not gate.conjugate))
        conjugate_of[index] = len(gates) - 1
    rows = np.repeat(np.arange(dim), dim)
    cols = np.tile(np.arange(dim), dim)
    ops: list[Op] = []
    for op in program.ops:
        if isinstance(op, LocalOp):
            chains = {q: [conjugate_of[g] for g in chain] for q, chain in op.chains.items()}
            chains.update({q + n: list(chain) for q, chain in op.chains.items()})
            ops.append(LocalOp(dict(sorted(chains.items()))))
        elif isinstance(op, PermutationOp):
            ops.append(PermutationOp(op.index[rows] * dim + op.index[cols]))
        elif isinstance(op, DiagonalOp):
            fixed = op.fixed[rows] * np.conj(op.fixed[cols])
            terms = [(slot, pattern[rows] - pattern[cols]) for slot, pattern in op.terms]
            ops.append(DiagonalOp(fixed, terms))
        elif isinstance(op, DenseOp):
            ops.append(DenseOp(tuple(q + n for q in op.qubits), op.matrix))
            ops.append(DenseOp(op.qubits, np.conj(op.matrix)))
        elif isinstance(op, MeasureOp):
            keep = np.ones(dim * dim, dtype=bool)
            for q in op.qubits:
                keep &= ((rows >> q) & 1) == ((cols >> q) & 1)
            ops.append(DiagonalOp(keep.astype(complex)))
        elif isinstance(op, ResetOp):
            reset = np.zeros((4, 4), complex)
            reset[0, 0] = reset[0, 3] = 1.0  # |0><0| gets the trace over the qubit
            ops.extend(DenseOp((q, q + n), reset) for q in op.qubits)
        else:  # KrausOp: sum_K K (x) conj(K) on (column qubits, row qubits)
            superop = sum(np.kron(k, np.conj(k)) for k in op.operators)
            qubits = tuple(op.qubits) + tuple(q + n for q in op.qubits)
            ops.append(DenseOp(qubits, np.asarray(superop)))
    return Program(
        num_qubits=2 * n,
        parameters=program.parameters,
        slots=program.slots,
        gates=gates,
        ops=ops,
        global_phase=None,  # |e^{i phi}|^2 = 1 on a density matrix
        gate_count=program.gate_count,
    )
