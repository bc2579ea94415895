"""Content hashes that identify a circuit's structure and a transpilation target.

Two circuits built separately by the same builder with the same arguments differ in their
parameters' UUIDs and auto-generated names, so their QPY bytes differ. The *structure hash*
canonicalises both (parameters renamed to UUIDs derived from their names, circuit name and
metadata dropped) and hashes the QPY of the result: equal structure, equal hash.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from typing import Any

from qiskit import QuantumCircuit, qpy
from qiskit.circuit import Parameter
from qiskit.transpiler import Target

_NAMESPACE = uuid.UUID("6f1d0c52-8c1e-4f7a-9a55-2f0e6c6d7a11")


def qpy_bytes(circuit: QuantumCircuit) -> bytes:
    """Serialise one circuit to QPY bytes."""
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


def structure_hash(circuit: QuantumCircuit) -> str:
    """SHA-256 of the circuit's structure, independent of parameter UUIDs, name and metadata."""
    canonical = circuit.assign_parameters(
        {p: Parameter(p.name, uuid=uuid.uuid5(_NAMESPACE, p.name)) for p in circuit.parameters},
        inplace=False,
    )
    canonical.name = "canonical"
    canonical.metadata = {}
    return hashlib.sha256(qpy_bytes(canonical)).hexdigest()


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
