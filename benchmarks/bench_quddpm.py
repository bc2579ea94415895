"""Benchmark: QuDDPM's published quantum-ensemble tasks, trained and evaluated here.

Tasks (Zhang et al., PRL 132, 100602; configurations of ``Francis-Hsu/QuantGenMdl``):
2-qubit cluster (720 parameters, MMD), 1-qubit cluster (320, MMD), 1-qubit circle (1440,
Wasserstein). Each is trained step by step on the torch engine with this toolkit's defaults
(400 Adam iterations per step at lr 0.03, against QuDDPM's 2001 at 5e-4) and evaluated on a
fresh Haar prior against the held-out test set.

Every task is trained with each of ``--seeds`` (default 0-4: the training seed draws the initial
weights, the prior and the ancilla outcomes; the data and its split are the task's own). Printed
per task: the test distance at t = 0 as mean +- sd over the seeds, with the best and the worst
seed; two references measured in the same run, the real-vs-real floor (training set against the
disjoint test set, the same for every seed) and the untrained model (mean); QuDDPM's published
test value; the median time per Adam iteration. The published numbers were computed from
QuDDPM's stored generations; see ``shared/reference/qdm-literature.md``. Evaluation protocol:
``evaluate_ensemble`` generates ``test_size`` states from a fresh Haar prior (seed
``train.seed + 1000003``) and compares them with the ``test_size`` held-out states by the
biased (V-statistic) fidelity-kernel MMD, or by the exact Wasserstein distance.

Usage: python benchmarks/bench_quddpm.py [--quick] [--tasks cluster2 cluster1 circle]
[--seeds 0 1 2 3 4] (--quick: the 2-qubit cluster task, seed 0, 100 iterations per step)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from qdm_qiskit.models.ensemble import (
    QUDDPM_CIRCLE,
    QUDDPM_CLUSTER_1,
    QUDDPM_CLUSTER_2,
    build_ensemble_model,
    ensemble_data,
    evaluate_ensemble,
    train_ensemble,
)
from qdm_qiskit.models.ensemble.workflow import published_reference
from qdm_qiskit.stats import mean_sd

TASKS = {"cluster2": QUDDPM_CLUSTER_2, "cluster1": QUDDPM_CLUSTER_1, "circle": QUDDPM_CIRCLE}


def _final(frame, ensemble: str, metric: str) -> float:  # type: ignore[no-untyped-def]
    rows = frame[(frame["t"] == 0) & (frame["ensemble"] == ensemble) & (frame["metric"] == metric)]
    return float(rows["value"].iloc[0])


def run_task(name: str, iterations: int | None, seed: int) -> dict[str, float]:
    """Train one task with one seed; its test distance, floor, untrained value and timing."""
    config = TASKS[name].with_seed(seed)
    if iterations is not None:
        config = replace(config, train=replace(config.train, iterations=iterations))
    data = ensemble_data(config)
    started = time.perf_counter()
    result = train_ensemble(config, data=data)
    seconds = time.perf_counter() - started
    metric = config.train.loss
    trained = evaluate_ensemble(result.model, data, seed=config.train.seed)
    untrained = evaluate_ensemble(build_ensemble_model(config), data, seed=config.train.seed)
    return {
        "test": _final(trained, "generated", metric),
        "floor": _final(trained, "real_vs_real", metric),
        "untrained": _final(untrained, "generated", metric),
        "ms_per_iteration": 1e3 * seconds / (config.model.steps * config.train.iterations),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-qubit cluster, 100 iterations")
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), help="tasks to run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args, _ = parser.parse_known_args()
    torch.set_num_threads(1)  # tiny circuits: threads only add overhead
    tasks = ["cluster2"] if args.quick else (args.tasks or list(TASKS))
    seeds = [0] if args.quick else args.seeds
    iterations = 100 if args.quick else None
    print("QuDDPM benchmark tasks (trained step by step on the torch engine)")
    print("| task | params | T | iters/step | metric | test (ours), mean +- sd | best | worst "
          "| floor | untrained | QuDDPM published | ms / iteration (median) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in tasks:
        config = TASKS[name]
        runs = [run_task(name, iterations, seed) for seed in seeds]
        test = np.array([run["test"] for run in runs])
        reference = published_reference(config)
        published = f"{reference[1]:.2g}" if reference else ""
        print(f"| {name} | {build_ensemble_model(config).parameter_count().quantum} | "
              f"{config.model.steps} | {iterations or config.train.iterations} | "
              f"{config.train.loss} | {mean_sd(test)} | {test.min():.3g} | {test.max():.3g} | "
              f"{runs[0]['floor']:.3g} | {np.mean([r['untrained'] for r in runs]):.3g} | "
              f"{published} | {np.median([r['ms_per_iteration'] for r in runs]):.2f} |",
              flush=True)  # fmt: skip
    print(f"seeds {seeds}; mean +- sd over seeds (sample sd)")


if __name__ == "__main__":
    main()
