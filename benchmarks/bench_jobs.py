"""Benchmark: sampling many parameter sets through the job manager vs one bound circuit each.

Workload: an 8-qubit angle-encoded denoiser with a time embedding (4 hardware-efficient layers,
73 parameters), 4096 parameter sets on the ideal Aer target, at 1 shot per set (one generated
sample per set, as in diffusion sampling) and at 256 shots per set (a distribution per set).

- job manager: ``run_tasks`` end to end: transpile once, chunked broadcast PUBs (1024 sets
  each), ledger, result spool, collection into tidy Parquet tables, reading them back;
- reference: the usual script: transpile once, then for each parameter set bind the circuit and
  run it as its own Aer SamplerV2 job. Measured on the first ``n_reference`` sets and expressed
  per set (its cost per set is flat).

The pass-manager machinery is warmed up first, so neither side pays Qiskit's one-off plugin
loading. Target: the job manager samples at least 10x more parameter sets per second.

Usage: python benchmarks/bench_jobs.py [n_bindings]   (default 4096; reference on 512)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from qiskit_aer import AerSimulator
from qiskit_aer.primitives import SamplerV2

from qdm_qiskit.circuits import denoising_circuit, transpile_isa
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.manager import Workspace, run_tasks

TARGET_RATIO = 10.0
SHOT_COUNTS = (1, 256)


def _manager_seconds(task: CircuitTask, shots: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace(Path(tmp) / "jobs", Path(tmp) / "results")
        start = time.perf_counter()
        results = run_tasks([task], target="aer", shots=shots, seed=0, workspace=workspace)
        seconds = time.perf_counter() - start
        assert results.counts is not None
        assert results.counts["binding"].nunique() == task.num_bindings
    return seconds


def _reference_seconds(task: CircuitTask, shots: int, n_reference: int) -> float:
    start = time.perf_counter()
    isa = transpile_isa(task.circuit, target=AerSimulator())
    sampler = SamplerV2(seed=0)
    for row in task.parameter_values[:n_reference]:
        sampler.run([isa.assign_parameters(row)], shots=shots).result()
    return (time.perf_counter() - start) / n_reference * task.num_bindings


def main(n_bindings: int = 4096) -> float:
    circuit = denoising_circuit(
        num_data_qubits=8,
        layers=4,
        encoding="angle",
        conditioning="time_embedding",
        measure_data=True,
    )
    values = np.random.default_rng(0).uniform(-np.pi, np.pi, (n_bindings, circuit.num_parameters))
    task = CircuitTask("denoiser", circuit, values)
    n_reference = min(512, n_bindings)
    warm = CircuitTask("warm", circuit, values[:4])
    _manager_seconds(warm, 1)  # warm-up: plugin loading, imports, Aer start-up
    _reference_seconds(warm, 1, 4)

    print(
        f"8-qubit denoiser ({circuit.num_parameters} parameters), {n_bindings} parameter sets "
        f"on aer; reference measured on {n_reference} sets"
    )
    print(f"{'shots/set':>9}  {'job manager':>16}  {'one job per set':>16}  ratio")
    worst = float("inf")
    for shots in SHOT_COUNTS:
        manager = _manager_seconds(task, shots)
        reference = _reference_seconds(task, shots, n_reference)
        ratio = reference / manager
        worst = min(worst, ratio)
        print(
            f"{shots:>9}  {manager:7.2f} s {n_bindings / manager:5.0f}/s"
            f"  {reference:7.2f} s {n_bindings / reference:5.0f}/s  {ratio:5.1f}x"
        )
    verdict = "OK" if worst >= TARGET_RATIO else "BELOW TARGET"
    print(f"throughput ratio, worst case: {worst:.1f}x (target >= {TARGET_RATIO:.0f}x) {verdict}")
    return worst


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(arguments[0]) if arguments else 4096)
