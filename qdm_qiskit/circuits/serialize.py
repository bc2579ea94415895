"""Circuits on disk: QPY plus a JSON sidecar that says what the circuit is and how it was made.

``name.qpy`` holds the circuit (layout included for ISA circuits); ``name.json`` records the
builder and its arguments, parameter names and roles, the structure hash, the SHA-256 of the QPY
file (checked on load), the package versions and anything the caller adds (target, transpile
options). Both files are written atomically.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qiskit import QuantumCircuit, qpy

from qdm_qiskit._io import atomic_write_bytes
from qdm_qiskit.circuits.fingerprint import qpy_bytes, structure_hash
from qdm_qiskit.errors import DataError
from qdm_qiskit.provenance import package_versions


def circuit_record(circuit: QuantumCircuit, *, extra: Mapping[str, Any] | None = None) -> dict:
    """The JSON-ready description of ``circuit`` stored beside its QPY file."""
    metadata = circuit.metadata or {}
    return {
        "name": circuit.name,
        "builder": metadata.get("builder"),
        "arguments": metadata.get("arguments", {}),
        "parameter_roles": metadata.get("parameter_roles", {}),
        "num_weights": metadata.get("num_weights"),
        "parameter_names": [p.name for p in circuit.parameters],
        "num_qubits": circuit.num_qubits,
        "num_clbits": circuit.num_clbits,
        "structure_hash": structure_hash(circuit),
        "versions": package_versions(("qiskit", "qiskit-aer", "qiskit-ibm-runtime")),
        **dict(extra or {}),
    }


def save_circuit(
    circuit: QuantumCircuit, path: str | Path, *, extra: Mapping[str, Any] | None = None
) -> Path:
    """Write ``path`` (``.qpy`` added if missing) and a ``.json`` sidecar; return the QPY path."""
    qpy_path = _qpy_path(path)
    payload = qpy_bytes(circuit)
    record = circuit_record(circuit, extra=extra)
    record["qpy_sha256"] = hashlib.sha256(payload).hexdigest()
    atomic_write_bytes(qpy_path, payload)
    text = json.dumps(record, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write_bytes(qpy_path.with_suffix(".json"), text.encode())
    return qpy_path


def load_circuit(path: str | Path) -> tuple[QuantumCircuit, dict[str, Any]]:
    """Read a circuit saved by :func:`save_circuit`, checking the QPY file against its record.

    Raises:
        DataError: a file is missing, unreadable, or the QPY does not match its sidecar.
    """
    qpy_path = _qpy_path(path)
    json_path = qpy_path.with_suffix(".json")
    for required in (qpy_path, json_path):
        if not required.is_file():
            raise DataError(f"{required}: no such file")
    try:
        record = json.loads(json_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{json_path}: not a readable circuit record ({exc})") from exc
    payload = qpy_path.read_bytes()
    if hashlib.sha256(payload).hexdigest() != record.get("qpy_sha256"):
        raise DataError(
            f"{qpy_path}: content does not match {json_path.name} (modified or corrupt)"
        )
    try:
        circuits = qpy.load(io.BytesIO(payload))
    except Exception as exc:
        raise DataError(f"{qpy_path}: not a readable QPY file ({exc})") from exc
    return circuits[0], record


def _qpy_path(path: str | Path) -> Path:
    path = Path(path)
    return path if path.suffix == ".qpy" else path.with_name(path.name + ".qpy")


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
