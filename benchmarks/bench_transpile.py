"""Benchmark: transpile once and bind many, against transpiling every bound circuit.

Workload: the QuDDPM-sized reverse step (2 data qubits + 1 ancilla, 6 hardware-efficient layers,
36 weights) and a 4-qubit angle-encoded denoiser with a time embedding (6 layers, 48 weights),
transpiled for FakeFez (156 qubits, Heron) at optimization level 2. Per parameter set:

- bind: ``isa.assign_parameters(values)`` on the circuit transpiled once (the costliest way to
  bind; a PUB's parameter array needs no per-set work at all);
- transpile: ``pass_manager.run(circuit.assign_parameters(values))``.

Target: binding at least 50x faster than transpiling bound circuits.

Usage: python benchmarks/bench_transpile.py [n_bindings]   (default 1000; 40 transpilations)
"""

from __future__ import annotations

import sys
import time

import numpy as np
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.fake_provider import FakeFez

from qdm_qiskit.circuits import TranspileOptions, denoising_circuit, transpile_isa

TARGET_RATIO = 50.0
N_TRANSPILE = 40


def main(n_bindings: int = 1000) -> float:
    backend = FakeFez()
    options = TranspileOptions(optimization_level=2, seed_transpiler=0)
    manager = generate_preset_pass_manager(
        optimization_level=2, target=backend.target, seed_transpiler=0
    )
    workloads = {
        "quddpm step (2+1 qubits, 36 w)": denoising_circuit(
            num_data_qubits=2, num_ancillas=1, layers=6, measure_data=True
        ),
        "angle denoiser (4 qubits, 48 w)": denoising_circuit(
            num_data_qubits=4, layers=6, encoding="angle", conditioning="time_embedding",
            measure_data=True,
        ),
    }  # fmt: skip
    rng = np.random.default_rng(0)
    print(f"transpile once + bind {n_bindings} sets vs transpile each bound circuit (FakeFez, O2)")
    columns = ("transpile once", 15), ("bind / set", 12), ("transpile / set", 17), ("ratio", 9)
    print(f"{'circuit':<34}" + "".join(f"{title:>{width}}" for title, width in columns))
    ratios = []
    for name, circuit in workloads.items():
        values = rng.uniform(-np.pi, np.pi, size=(n_bindings, circuit.num_parameters))
        start = time.perf_counter()
        isa = transpile_isa(circuit, target=backend, options=options)
        once = time.perf_counter() - start
        start = time.perf_counter()
        for row in values:
            isa.assign_parameters(row)
        bind = (time.perf_counter() - start) / n_bindings
        start = time.perf_counter()
        for row in values[:N_TRANSPILE]:
            manager.run(circuit.assign_parameters(row))
        transpile = (time.perf_counter() - start) / N_TRANSPILE
        ratios.append(transpile / bind)
        print(f"{name:<34}{once:>13.3f} s{bind * 1e3:>9.3f} ms{transpile * 1e3:>14.1f} ms"
              f"{transpile / bind:>8.0f}x")  # fmt: skip
    worst = min(ratios)
    verdict = "OK" if worst >= TARGET_RATIO else "BELOW TARGET"
    print(f"bind-many speed-up: at least {worst:.0f}x (target >= {TARGET_RATIO:.0f}x: {verdict})")
    return worst


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
