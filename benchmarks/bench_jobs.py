"""Benchmark: sampling many parameter sets through the job manager vs one bound circuit each.

Workload: an 8-qubit angle-encoded denoiser with a time embedding (4 hardware-efficient layers),
4096 parameter sets, 256 shots each, on the ideal Aer target.

- job manager: ``run_tasks`` end to end: transpile once, chunked broadcast PUBs (1024 sets
  each), ledger, result spool, collection into tidy Parquet tables;
- reference: the usual script: for each parameter set, bind the (already transpiled) circuit
  and run it as its own Aer SamplerV2 job. Measured on the first ``n_reference`` sets and
  expressed per set (its cost per set is flat).

Target: the job manager samples at least 10x more parameter sets per second.

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
SHOTS = 256


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

    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace(Path(tmp) / "jobs", Path(tmp) / "results")
        start = time.perf_counter()
        results = run_tasks([task], target="aer", shots=SHOTS, seed=0, workspace=workspace)
        manager_seconds = time.perf_counter() - start
        assert results.counts is not None
        assert results.counts["binding"].nunique() == n_bindings

    isa = transpile_isa(circuit, target=AerSimulator())
    sampler = SamplerV2(seed=0)
    sampler.run([isa.assign_parameters(values[0])], shots=SHOTS).result()  # warm-up
    start = time.perf_counter()
    for row in values[:n_reference]:
        sampler.run([isa.assign_parameters(row)], shots=SHOTS).result()
    reference_seconds = (time.perf_counter() - start) / n_reference * n_bindings

    ratio = reference_seconds / manager_seconds
    print(
        f"8-qubit denoiser, {circuit.num_parameters} parameters, {n_bindings} sets x {SHOTS} "
        "shots on aer"
    )
    print(
        f"  job manager (plan, ledger, PUBs, collect): {manager_seconds:8.2f} s "
        f"({n_bindings / manager_seconds:8.0f} sets/s)"
    )
    print(
        f"  one bound circuit per set (reference):     {reference_seconds:8.2f} s "
        f"({n_bindings / reference_seconds:8.0f} sets/s, measured on {n_reference})"
    )
    verdict = "OK" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"  throughput ratio: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x) {verdict}")
    return ratio


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a.isdigit()]
    main(int(arguments[0]) if arguments else 4096)
