"""A run's directory under ``jobs/``: everything needed to rebuild its PUBs, joined by id.

::

    jobs/<run_id>/
        manifest.json          circuits (hash, parameter names, observables), PUBs, jobs
        circuits/<name>.qpy    the circuits the engine runs (ISA, or ISA on the simulated qubits)
        circuits/calibration.qpy
        values/<sha256>.npy    parameter arrays by content hash
        spool/<job_id>.json    local jobs only: the raw primitive result, written on completion

Written before the run is recorded in the ledger, so a crash after the ledger row can always
rebuild (and, for local targets, re-execute) every job; read back with :func:`read_run_dir`.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qiskit import QuantumCircuit, qpy
from qiskit.quantum_info import SparsePauliOp

from qdm_qiskit._io import atomic_write_bytes
from qdm_qiskit.circuits.fingerprint import qpy_bytes
from qdm_qiskit.errors import QdmError
from qdm_qiskit.jobs.plan import RunPlan, values_sha
from qdm_qiskit.options import options_to_dict

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class StoredCircuit:
    """One circuit of a stored run."""

    name: str
    circuit: QuantumCircuit
    values: np.ndarray
    observables: tuple[tuple[str, SparsePauliOp], ...]
    parameter_names: tuple[str, ...]


@dataclass(frozen=True)
class StoredRun:
    """A run read back from its directory."""

    path: Path
    manifest: dict[str, Any]
    circuits: dict[str, StoredCircuit]
    calibration: tuple[QuantumCircuit, ...]

    @property
    def primitive(self) -> str:
        """``sampler`` or ``estimator``."""
        return str(self.manifest["primitive"])

    def pub(self, pub_id: str) -> dict[str, Any]:
        """The manifest entry of a PUB."""
        for pub in self.manifest["pubs"]:
            if pub["pub_id"] == pub_id:
                return dict(pub)
        raise QdmError(f"{self.path}: manifest has no PUB {pub_id!r}")

    def job(self, index: int) -> dict[str, Any]:
        """The manifest entry of a job."""
        return dict(self.manifest["jobs"][index])

    def pub_ids(self, job_index: int) -> list[str]:
        """Ids of job ``job_index``'s PUBs, in submission order (data, then calibration)."""
        return [*self.job(job_index)["pub_ids"], *(c.name for c in self.calibration)]

    def build_pubs(self, job_index: int) -> tuple[list[tuple[Any, ...]], list[str]]:
        """The PUBs of job ``job_index`` and their ids (data PUBs, then calibration)."""
        pubs: list[tuple[Any, ...]] = []
        ids: list[str] = []
        for pub_id in self.job(job_index)["pub_ids"]:
            entry = self.pub(pub_id)
            stored = self.circuits[entry["circuit"]]
            values = stored.values[entry["start"] : entry["stop"]]
            if values_sha(values) != entry["values_sha"]:
                raise QdmError(f"{self.path}: parameter values of PUB {pub_id} do not match")
            if self.primitive == "estimator":
                observables = [[obs] for _, obs in stored.observables]
                pubs.append((stored.circuit, observables, values))
            else:
                pubs.append((stored.circuit, values))
            ids.append(pub_id)
        for circuit in self.calibration:
            pubs.append((circuit,))
            ids.append(circuit.name)
        return pubs, ids


def plan_manifest(plan: RunPlan) -> dict[str, Any]:
    """The JSON-ready manifest of a plan: circuit hashes, value hashes, PUBs and jobs."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "primitive": plan.primitive,
        "target": plan.target,
        "engine": plan.engine,
        "mitigation": plan.mitigation,
        "options": plan.options,
        "shots": plan.shots,
        "precision": plan.precision,
        "seed": plan.seed,
        "chunk_size": plan.chunk_size,
        "transpile": options_to_dict(plan.transpile),
        "simulated_qubits": list(plan.simulated_qubits)
        if plan.simulated_qubits is not None
        else None,
        "calibration_qubits": list(plan.calibration_qubits),
        "circuits": [
            {
                "name": c.name,
                "circuit_hash": c.circuit_hash,
                "num_qubits": c.isa.num_qubits,
                "physical_qubits": list(c.physical_qubits),
                "parameter_names": c.parameter_names,
                "bindings": int(c.values.shape[0]),
                "values_sha": c.values_sha,
                "observables": [
                    {"name": name, "terms": _sparse_terms(obs)} for name, obs in c.observables
                ],
                "duration_s": c.duration_s,
                "dynamic": c.dynamic,
                "logical": {
                    key: c.isa.metadata.get(key)
                    for key in ("builder", "arguments")
                    if c.isa.metadata and key in c.isa.metadata
                },
            }
            for c in plan.circuits
        ],
        "pubs": [
            {
                "pub_id": p.pub_id,
                "circuit": p.circuit,
                "start": p.start,
                "stop": p.stop,
                "values_sha": p.values_sha,
                "executions": p.executions,
            }
            for p in plan.pubs
        ],
        "jobs": [
            {
                "index": j.index,
                "pub_ids": list(j.pub_ids),
                "executions": j.executions,
                "qpu_seconds": j.qpu_seconds,
            }
            for j in plan.jobs
        ],
        "notes": list(plan.notes),
    }


def write_run_dir(plan: RunPlan, path: Path) -> dict[str, Any]:
    """Write a plan's circuits, values and manifest under ``path``; return the manifest."""
    manifest = plan_manifest(plan)
    for circuit in plan.circuits:
        atomic_write_bytes(path / "circuits" / f"{circuit.name}.qpy", qpy_bytes(circuit.executed))
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(circuit.values, dtype=np.float64), allow_pickle=False)
        atomic_write_bytes(path / "values" / f"{circuit.values_sha}.npy", buffer.getvalue())
    if plan.calibration:
        buffer = io.BytesIO()
        qpy.dump(list(plan.calibration), buffer)
        atomic_write_bytes(path / "circuits" / "calibration.qpy", buffer.getvalue())
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    atomic_write_bytes(path / "manifest.json", text.encode())
    return manifest


def read_run_dir(path: str | Path) -> StoredRun:
    """Read a run directory written by :func:`write_run_dir`, checking value hashes.

    Raises:
        QdmError: missing or inconsistent files.
    """
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        circuits = {}
        for entry in manifest["circuits"]:
            with open(path / "circuits" / f"{entry['name']}.qpy", "rb") as stream:
                (circuit,) = qpy.load(stream)
            values = np.load(path / "values" / f"{entry['values_sha']}.npy", allow_pickle=False)
            if values_sha(values) != entry["values_sha"]:
                raise QdmError(f"{path}: values of circuit {entry['name']!r} are corrupt")
            values.setflags(write=False)
            observables = tuple(
                (o["name"], _from_terms(o["terms"], circuit.num_qubits))
                for o in entry["observables"]
            )
            circuits[entry["name"]] = StoredCircuit(
                entry["name"], circuit, values, observables, tuple(entry["parameter_names"])
            )
        calibration: tuple[QuantumCircuit, ...] = ()
        if (path / "circuits" / "calibration.qpy").exists():
            with open(path / "circuits" / "calibration.qpy", "rb") as stream:
                calibration = tuple(qpy.load(stream))
    except (OSError, ValueError, KeyError) as exc:
        raise QdmError(f"{path}: run directory is incomplete or corrupt ({exc})") from exc
    return StoredRun(path, manifest, circuits, calibration)


def _sparse_terms(observable: SparsePauliOp) -> list[list[Any]]:
    terms = []
    for label, qubits, coeff in observable.to_sparse_list():
        value = complex(coeff)
        terms.append([label, [int(q) for q in qubits], [value.real, value.imag]])
    return terms


def _from_terms(terms: list[list[Any]], num_qubits: int) -> SparsePauliOp:
    return SparsePauliOp.from_sparse_list(
        [(label, qubits, complex(re, im)) for label, qubits, (re, im) in terms], num_qubits
    )
