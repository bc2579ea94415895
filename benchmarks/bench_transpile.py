"""Benchmark: transpile once and bind many, against transpiling every bound circuit.

Workload: the QuDDPM-sized reverse step (2 data qubits + 1 ancilla, 6 hardware-efficient layers,
36 weights) and a 4-qubit angle-encoded denoiser with a time embedding (6 layers, 48 weights),
transpiled for FakeFez (156 qubits, Heron) at optimization level 2. Per parameter set:

- assign: ``isa.assign_parameters(values)`` on the circuit transpiled once (the costliest way to
  bind, one bound copy per set);
- PUB: coercing one V2 primitive PUB ``(isa, values)`` with the whole ``(N, P)`` array, which is
  how bindings reach the primitives;
- transpile: ``pass_manager.run(circuit.assign_parameters(values))``.

Medians of repeated runs after a warm-up. Target: assign at least 50x faster than transpile.

Usage: python benchmarks/bench_transpile.py [n_bindings]   (default 1000; 40 transpilations)
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.fake_provider import FakeFez

from qdm_qiskit.circuits import TranspileOptions, denoising_circuit, transpile_isa

TARGET_RATIO = 50.0
N_TRANSPILE = 40
REPEATS = 3


def _median_seconds(task: Callable[[], object], repeats: int = REPEATS) -> float:
    task()  # warm-up: first calls pay for lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
    columns = ("transpile once", 15), ("assign/set", 12), ("PUB/set", 10), ("transpile/set", 15)
    print(f"{'circuit':<33}" + "".join(f"{t:>{w}}" for t, w in columns) + f"{'ratio':>8}")
    ratios = []
    for name, circuit in workloads.items():
        values = rng.uniform(-np.pi, np.pi, size=(n_bindings, circuit.num_parameters))
        start = time.perf_counter()
        isa = transpile_isa(circuit, target=backend, options=options)
        once = time.perf_counter() - start
        assign = _median_seconds(lambda isa=isa, v=values: [isa.assign_parameters(r) for r in v])
        pub = _median_seconds(lambda isa=isa, v=values: SamplerPub.coerce((isa, v)))
        subset = values[:N_TRANSPILE]
        transpile = _median_seconds(
            lambda c=circuit, v=subset: [manager.run(c.assign_parameters(r)) for r in v],
            repeats=1,
        )
        per_assign, per_pub = assign / n_bindings, pub / n_bindings
        per_transpile = transpile / N_TRANSPILE
        ratios.append(per_transpile / per_assign)
        print(f"{name:<33}{once:>13.3f} s{per_assign * 1e3:>9.3f} ms{per_pub * 1e6:>7.2f} us"
              f"{per_transpile * 1e3:>12.1f} ms{per_transpile / per_assign:>7.0f}x")  # fmt: skip
    worst = min(ratios)
    verdict = "OK" if worst >= TARGET_RATIO else "BELOW TARGET"
    print(f"bind-many speed-up (assign vs transpile): at least {worst:.0f}x "
          f"(target >= {TARGET_RATIO:.0f}x: {verdict}); a PUB binds for less still")  # fmt: skip
    return worst


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
