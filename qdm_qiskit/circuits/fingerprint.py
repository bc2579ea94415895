"""Content hashes that identify a circuit's structure and a transpilation target.

Two circuits built separately by the same builder with the same arguments differ in their
parameters' UUIDs and auto-generated names, and QPY gives custom instructions (Kraus channels,
unitaries) random names, so serialised bytes are no identity. The *structure hash* instead walks
the instruction list: registers, each operation's name, label, qubit and clbit positions, and
parameters in canonical form (parameters by name, numbers by value, matrices by their bytes,
nested circuits and operators recursively). Equal structure, equal hash, in any process.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, qpy
from qiskit.circuit import ParameterExpression
from qiskit.transpiler import Target


def qpy_bytes(circuit: QuantumCircuit) -> bytes:
    """Serialise one circuit to QPY bytes."""
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


def structure_hash(circuit: QuantumCircuit) -> str:
    """SHA-256 of the circuit's structure; independent of UUIDs, circuit name and metadata."""
    digest = hashlib.sha256()
    for token in _circuit_tokens(circuit):
        digest.update(token.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def _circuit_tokens(circuit: QuantumCircuit) -> list[str]:
    tokens = [
        f"q:{[(r.name, r.size) for r in circuit.qregs]}",
        f"c:{[(r.name, r.size) for r in circuit.cregs]}",
        f"n:{circuit.num_qubits},{circuit.num_clbits}",
        f"phase:{_canonical(circuit.global_phase)}",
    ]
    for instruction in circuit.data:
        operation = instruction.operation
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        clbits = [circuit.find_bit(c).index for c in instruction.clbits]
        params = [_canonical(p) for p in operation.params]
        extra = _canonical(getattr(operation, "operator", None))  # PauliEvolutionGate
        condition = getattr(operation, "condition", None)
        tokens.append(
            f"{operation.name}|{getattr(operation, 'label', None)}|{qubits}|{clbits}|"
            f"{params}|{extra}|{_canonical(condition)}"
        )
    return tokens


def _canonical(value: Any) -> str:
    """A deterministic text form of an instruction parameter."""
    if value is None:
        return "-"
    if isinstance(value, QuantumCircuit):  # control-flow blocks, custom definitions
        return "circuit[" + ";".join(_circuit_tokens(value)) + "]"
    if isinstance(value, ParameterExpression):
        return f"expr({value})"  # parameters print by name
    if isinstance(value, (bool, int, float, complex, np.number)):
        return repr(complex(value)) if isinstance(value, complex) else repr(float(value))
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return f"array{array.shape}{array.dtype}:{hashlib.sha256(array.tobytes()).hexdigest()}"
    if hasattr(value, "to_matrix") and hasattr(value, "paulis"):  # SparsePauliOp
        return f"pauli:{value.paulis.to_labels()}:{_canonical(np.asarray(value.coeffs))}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if hasattr(value, "__array__"):
        return _canonical(np.asarray(value))
    return f"{type(value).__name__}:{value!r}"


def target_fingerprint(target: Target) -> str:
    """SHA-256 of what transpilation reads from a target: qubits, instructions, error, duration.

    Calibration data changes the chosen layout at optimisation levels >= 1, so a refreshed
    backend snapshot gets a new fingerprint.
    """
    record: dict[str, Any] = {"num_qubits": target.num_qubits, "dt": target.dt, "ops": {}}
    for name in sorted(target.operation_names):
        entries = []
        for qargs, props in sorted(
            target[name].items(), key=lambda item: item[0] if item[0] is not None else ()
        ):
            error = getattr(props, "error", None) if props is not None else None
            duration = getattr(props, "duration", None) if props is not None else None
            entries.append([list(qargs) if qargs is not None else None, error, duration])
        record["ops"][name] = entries
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
