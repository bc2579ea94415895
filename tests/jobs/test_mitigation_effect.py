"""Mitigation presets measurably help on noisy fake backends (the Runtime's own TREX/ZNE, M3).

All runs are seeded, so the numbers are reproducible; each comparison averages three seeds so it
does not hinge on one lucky draw.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from qdm_qiskit.circuits.transpile import TranspileOptions
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.manager import Workspace, run_tasks

SEEDS = (0, 1, 2)
LABELS = ("ZZI", "IZZ", "ZIZ", "XXX")


def _folded_ghz(layers: int) -> QuantumCircuit:
    """A 3-qubit GHZ state followed by identity pairs of CNOTs (more noise, same ideal state)."""
    circuit = QuantumCircuit(3, name="ghz")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    for _ in range(layers):
        circuit.barrier()
        circuit.cx(1, 2)
        circuit.cx(1, 2)
        circuit.cx(0, 1)
        circuit.cx(0, 1)
    return circuit


def _mean_error(tmp_path, target: str, preset: str) -> float:
    circuit = _folded_ghz(2)
    observables = tuple((label, SparsePauliOp(label)) for label in LABELS)
    ideal = np.array([Statevector(circuit).expectation_value(o).real for _, o in observables])
    task = CircuitTask("ghz", circuit, np.zeros((1, 0)), observables)
    errors = []
    for seed in SEEDS:
        results = run_tasks(
            [task],
            target=target,
            primitive="estimator",
            mitigation=preset,
            seed=seed,
            precision=0.02,
            transpile=TranspileOptions(optimization_level=1),
            workspace=Workspace(tmp_path / f"jobs-{preset}-{seed}", tmp_path / "results"),
        )
        assert results.expectations is not None
        values = results.expectations.set_index("observable").loc[list(LABELS), "value"]
        errors.append(float(np.mean(np.abs(values.to_numpy() - ideal))))
    return float(np.mean(errors))


def test_estimator_error_shrinks_from_none_to_readout_to_zne(tmp_path):
    none = _mean_error(tmp_path, "fake:FakeManilaV2", "none")
    readout = _mean_error(tmp_path, "fake:FakeManilaV2", "readout")
    zne = _mean_error(tmp_path, "fake:FakeManilaV2", "zne")
    # Unmitigated, the folded GHZ loses about a fifth of each correlator on this device.
    assert none > 0.1
    assert readout < 0.5 * none
    assert zne < readout


def test_zne_runs_locally_on_a_156_qubit_device(tmp_path):
    """FakeFez: the client-side Estimator only works because we simulate the active qubits."""
    none = _mean_error(tmp_path, "fake:FakeFez", "none")
    zne = _mean_error(tmp_path, "fake:FakeFez", "zne")
    assert zne < none


@pytest.mark.parametrize("target", ["fake:FakeManilaV2", "aer:FakeManilaV2"])
def test_m3_readout_correction_moves_counts_towards_the_ideal(tmp_path, target):
    circuit = _folded_ghz(0)
    circuit.measure_all()
    ideal = {"000": 0.5, "111": 0.5}
    task = CircuitTask("ghz", circuit, np.zeros((1, 0)))
    raw_errors, mitigated_errors = [], []
    for seed in SEEDS:
        results = run_tasks(
            [task],
            target=target,
            mitigation="readout",
            shots=4000,
            seed=seed,
            workspace=Workspace(tmp_path / f"jobs-{seed}", tmp_path / "results"),
        )
        counts = results.counts
        assert counts is not None
        rows = counts[(counts["circuit"] == "ghz") & (counts["register"] == "meas")]
        raw = dict(zip(rows["bitstring"], rows["count"] / rows["shots"], strict=True))
        quasi = dict(zip(rows["bitstring"], rows["quasi_probability"], strict=True))
        assert sum(quasi.values()) == pytest.approx(1.0, abs=1e-6)
        keys = set(raw) | set(ideal)
        raw_errors.append(sum(abs(raw.get(k, 0.0) - ideal.get(k, 0.0)) for k in keys))
        mitigated_errors.append(sum(abs(quasi.get(k, 0.0) - ideal.get(k, 0.0)) for k in keys))
    assert np.mean(mitigated_errors) < 0.7 * np.mean(raw_errors)
