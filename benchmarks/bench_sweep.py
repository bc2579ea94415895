"""Benchmark: a reservoir sweep in-process against the same sweep on a Dask LocalCluster.

The sweep is the talk's (tau_b, lambda) grid at t_f = 15 on a Trotterized engine (so each point
takes long enough for the distribution overhead to matter less). Printed: wall time in-process,
on a LocalCluster of ``--workers`` single-threaded processes (cluster start-up included and
separately), the speed-up ratio, and whether both tables agree exactly. The reference is the
in-process run of the same sweep in the same process.

Usage: python benchmarks/bench_sweep.py [--workers 2] [--points 16]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.sweeps import run_sweep, sweep_from_dict

METRICS = ["wootters", "wootters_max", "wootters_ensemble", "fidelity", "fidelity_min"]


def grid(points: int) -> dict:
    """A sweep of about ``points`` points over tau_b x lambda."""
    side = max(2, math.isqrt(points))
    return {
        "sweep": {
            "kind": "reservoir",
            "name": "bench",
            "axes": {
                "reservoir.tau_b": [float(v) for v in np.linspace(0.1, 15.0, side)],
                "reservoir.coupling": [float(v) for v in np.linspace(0.0, 1.0, side)],
            },
        },
        "base": {
            "inputs": {"source": "histogram", "num_qubits": 4},
            "reservoir": {"num_ancillas": 2, "t_f": 15.0},
            "engine": {"name": "trotter", "trotter_steps": 40},
        },
    }


def timed(sweep, root: Path, **options) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    """Wall time of one full sweep into a fresh workspace under ``root``."""
    workspace = Workspace(root / "jobs", root / "results")
    start = time.perf_counter()
    outcome = run_sweep(sweep, workspace=workspace, **options)
    return time.perf_counter() - start, outcome


def _import_reservoir() -> None:
    import qdm_qiskit.reservoir  # noqa: F401 - the import is what is timed


def cluster_start_seconds(workers: int) -> float:
    """Start a LocalCluster like run_sweep's, import the package on every worker, close it."""
    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:  # fmt: skip
        client.run(_import_reservoir)
        return time.perf_counter() - start


def main() -> None:
    """Run the sweep both ways and print the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=16)
    args = parser.parse_args()
    sweep = sweep_from_dict(grid(args.points))
    with tempfile.TemporaryDirectory() as tmp:
        serial_s, serial = timed(sweep, Path(tmp) / "serial")
        dask_s, parallel = timed(sweep, Path(tmp) / "dask", workers=args.workers)
    start_s = cluster_start_seconds(args.workers)
    same = serial.table[METRICS].equals(parallel.table[METRICS])  # type: ignore[attr-defined]
    print(f"reservoir sweep, {len(sweep.points)} points (Trotter engine, 6 qubits)")
    print(f"  in-process (reference):       {serial_s:6.1f} s")
    print(f"  Dask LocalCluster, {args.workers} workers: {dask_s:6.1f} s (start-up included)")
    print(f"  of which cluster start-up and imports: about {start_s:.1f} s")
    print(
        f"  speed-up: {serial_s / dask_s:.2f}x ({serial_s / max(dask_s - start_s, 1e-9):.2f}x "
        f"without the start-up); tables identical: {same}"
    )


if __name__ == "__main__":
    main()
