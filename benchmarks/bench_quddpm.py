"""Benchmark: QuDDPM's published quantum-ensemble tasks, trained and evaluated here.

Tasks (Zhang et al., PRL 132, 100602; configurations of ``Francis-Hsu/QuantGenMdl``):
2-qubit cluster (720 parameters, MMD), 1-qubit cluster (320, MMD), 1-qubit circle (1440,
Wasserstein). Each is trained step by step on the torch engine with this toolkit's defaults
(400 Adam iterations per step at lr 0.03, against QuDDPM's 2001 at 5e-4) and evaluated on a
fresh Haar prior against the held-out test set.

Printed per task: training time and time per Adam iteration; the test distance at t = 0 and,
measured in the same run, two references: the real-vs-real floor (training set against the
disjoint test set) and the untrained model. QuDDPM's published test value is printed beside them
with the ratio ours / published (below 1: closer to the data than the published model). The
published numbers were computed from QuDDPM's stored generations; see
``shared/reference/qdm-literature.md``.

Usage: python benchmarks/bench_quddpm.py [--quick] [--tasks cluster2 cluster1 circle]
(--quick: the 2-qubit cluster task with 100 iterations per step; other arguments are ignored)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

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

TASKS = {"cluster2": QUDDPM_CLUSTER_2, "cluster1": QUDDPM_CLUSTER_1, "circle": QUDDPM_CIRCLE}


def _final(frame, ensemble: str, metric: str) -> float:  # type: ignore[no-untyped-def]
    rows = frame[(frame["t"] == 0) & (frame["ensemble"] == ensemble) & (frame["metric"] == metric)]
    return float(rows["value"].iloc[0])


def run_task(name: str, iterations: int | None) -> dict[str, object]:
    config = TASKS[name]
    if iterations is not None:
        config = replace(config, train=replace(config.train, iterations=iterations))
    reference = published_reference(TASKS[name])
    data = ensemble_data(config)
    started = time.perf_counter()
    result = train_ensemble(config, data=data)
    seconds = time.perf_counter() - started
    metric = config.train.loss
    trained = evaluate_ensemble(result.model, data, seed=config.train.seed)
    untrained = evaluate_ensemble(build_ensemble_model(config), data, seed=config.train.seed)
    ours = _final(trained, "generated", metric)
    published = reference[1] if reference else float("nan")
    row: dict[str, object] = {
        "task": name,
        "params": result.model.parameter_count().quantum,
        "T": config.model.steps,
        "iters/step": config.train.iterations,
        "train s": seconds,
        "ms/iter": 1e3 * seconds / (config.model.steps * config.train.iterations),
        "metric": metric,
        "test (ours)": ours,
        "floor": _final(trained, "real_vs_real", metric),
        "untrained": _final(untrained, "generated", metric),
        "QuDDPM": published,
        "ours/QuDDPM": ours / published,
    }
    if config.data.task == "cluster":
        row["F(|0>) ours / real"] = (
            f"{_final(trained, 'generated', 'fidelity_to_zero'):.3f} / "
            f"{_final(trained, 'real', 'fidelity_to_zero'):.3f}"
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2-qubit cluster, 100 iterations")
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), help="tasks to run")
    args, _ = parser.parse_known_args()
    torch.set_num_threads(1)  # tiny circuits: threads only add overhead
    tasks = ["cluster2"] if args.quick else (args.tasks or list(TASKS))
    iterations = 100 if args.quick else None
    print("QuDDPM benchmark tasks (trained step by step on the torch engine)")
    rows = [run_task(name, iterations) for name in tasks]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        cells = []
        for key in columns:
            value = row.get(key, "")
            cells.append(f"{value:.3g}" if isinstance(value, float) else str(value))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
