"""Benchmark: a fully quantum diffusion model that generates jet images from Haar noise.

The ensemble family (QuDDPM: a PQC per reverse step on data + ancilla qubits, the ancillas
measured after each step, trained step by step with the fidelity-kernel MMD) on the ``jets``
task: jet images amplitude-encoded as ``sum_j sqrt(p_j)|j>`` (4 qubits at 4x4, 6 at 8x8). A
generated image is the state's outcome distribution, exact (``|amplitude|^2``) or the histogram
of ``--shots`` measurements. Per resolution and training seed it reports the MMD to the test
states beside the train-vs-test floor, and the jet metrics of the generated images against the
test jets beside the untrained model, the Haar prior the reverse process starts from, and the
floor (training jets of the same size). The hardware cost per 1000 jets is the shots and the
sampling circuit transpiled for FakeTorino (two-qubit gates, depth, scheduled duration).

Usage: python benchmarks/bench_ensemble_jets.py [--quick] [--resolutions 4 8] [--seeds 0 1 2]
[--losses mmd outcome_mmd] [--steps 10] [--layers 10] [--iterations 200] [--shots 1000]
(--quick: 4x4, one seed, 3 iterations per step)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _seeded import seeded_parser, seeded_settings
from qiskit_ibm_runtime.fake_provider import FakeTorino

from qdm_qiskit.circuits import circuit_summary, transpile_isa
from qdm_qiskit.models.ensemble import EnsembleRunConfig, train_ensemble
from qdm_qiskit.models.ensemble.config import (
    EnsembleDataConfig,
    EnsembleModelConfig,
    EnsembleTrainConfig,
)
from qdm_qiskit.models.ensemble.distances import outcome_mmd
from qdm_qiskit.models.ensemble.jets import evaluate_jets
from qdm_qiskit.models.ensemble.tasks import jet_amplitudes
from qdm_qiskit.models.ensemble.train import build_ensemble_model, ensemble_data
from qdm_qiskit.stats import mean_sd

#: QuDDPM's fidelity-kernel MMD (phases count) and the phase-blind MMD of the measured outcomes.
LOSSES = ("mmd", "outcome_mmd")
METRICS = ("variance_ratio", "w1_mass_over_pt", "w1_ptd", "w1_girth", "pixel_fd",
           "classifier_auc")  # fmt: skip


def config(npix: int, seed: int, loss: str, args: argparse.Namespace) -> EnsembleRunConfig:
    """The jets task at ``npix`` with the benchmark's model and training settings."""
    return EnsembleRunConfig(
        data=EnsembleDataConfig(
            task="jets", npix=npix, train_size=args.train_size, test_size=args.test_size, seed=0
        ),
        model=EnsembleModelConfig(
            num_qubits=int(np.log2(npix * npix)),
            ancillas=args.ancillas,
            layers=args.layers,
            steps=args.steps,
        ),
        train=EnsembleTrainConfig(
            loss=loss, iterations=args.iterations, learning_rate=args.learning_rate, seed=seed
        ),
    )


def measure(npix: int, seed: int, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Jet metrics, outcome MMD and training time of every loss, for one resolution and seed."""
    rows: dict[str, dict[str, float]] = {}
    losses = args.losses
    for loss in losses:
        run = config(npix, seed, loss, args)
        data = ensemble_data(run)
        started = time.perf_counter()
        model = train_ensemble(run, data=data).model
        seconds = time.perf_counter() - started
        sets, evaluation = evaluate_jets(model, build_ensemble_model(run), data,
                                         count=run.data.test_size, shots=args.shots, seed=seed,
                                         bootstrap=3)  # fmt: skip
        table = evaluation.table
        keep = sets if loss == losses[-1] else sets[:2]  # the untrained model and prior once
        for sample_set in keep:
            mine = table[table["set"] == sample_set.name].set_index("metric")
            name = sample_set.name.replace("quantum ensemble untrained", "untrained")
            name = name.replace("quantum ensemble", f"{loss}-trained")
            rows[name] = {m: float(mine.loc[m, "value"]) for m in METRICS}
        test = model.as_states(data.test)
        with torch.no_grad():
            exact = model.as_states(jet_amplitudes(sets[0].images))
            rows[f"{loss}-trained, exact"]["outcome_mmd"] = float(outcome_mmd(exact, test))
            floor = float(outcome_mmd(model.as_states(data.train), test))
        rows[f"{loss}-trained, exact"]["train_s"] = seconds
    mine = table[table["set"] == sets[0].name].set_index("metric")
    rows["real (floor)"] = {m: float(mine.loc[m, "floor"]) for m in METRICS}
    rows["real (floor)"]["outcome_mmd"] = floor
    return rows


def hardware_cost(run: EnsembleRunConfig, shots: int) -> str:
    """Shots and the FakeTorino-transpiled sampling circuit per 1000 generated jets."""
    model = build_ensemble_model(run)
    prior = model.prior(1, seed=0).detach().cpu().numpy()
    circuit, _ = model.sampling_circuit(prior)
    summary = circuit_summary(transpile_isa(circuit, target=FakeTorino()), target=FakeTorino())
    duration = summary.duration_us or float("nan")
    return (f"{shots * 1000:.0e} shots per 1000 jets; the sampling circuit on FakeTorino: "
            f"{summary.two_qubit_gates} two-qubit gates, depth {summary.depth}, "
            f"{duration:.0f} us, so >= {shots * 1000 * duration * 1e-6:.0f} s of circuit time "
            "per 1000 jets before the device's repetition delay")  # fmt: skip


def main() -> None:
    parser = seeded_parser(__doc__.splitlines()[0], resolutions=[4, 8])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--ancillas", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.03)
    parser.add_argument("--train-size", type=int, default=500)
    parser.add_argument("--test-size", type=int, default=300)
    parser.add_argument("--shots", type=int, default=1000)
    parser.add_argument("--losses", nargs="+", choices=LOSSES, default=list(LOSSES))
    args = parser.parse_args()
    resolutions, seeds, _ = seeded_settings(args, quick=4)
    if args.quick:
        args.iterations, args.steps, args.train_size, args.test_size = 3, 3, 100, 100
    torch.manual_seed(0)
    columns = [*METRICS, "outcome_mmd", "train_s"]
    print("| npix | set | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for npix in resolutions:
        runs = [measure(npix, seed, args) for seed in seeds]
        for name in runs[0]:
            cells = [
                mean_sd([run[name][key] for run in runs], ".0f" if key == "train_s" else ".3g")
                if key in runs[0][name]
                else ""
                for key in columns
            ]
            print(f"| {npix}x{npix} | {name} | " + " | ".join(cells) + " |", flush=True)
        print(f"{npix}x{npix}: " + hardware_cost(config(npix, 0, "mmd", args), args.shots))
    print(f"seeds {seeds}; T = {args.steps}, {args.layers} layers, {args.ancillas} ancillas, "
          f"{args.iterations} Adam iterations per step at lr {args.learning_rate}; "
          f"{args.train_size} training / {args.test_size} test jets of the shipped sample "
          f"(split seed 0); mean +- sd over seeds")  # fmt: skip


if __name__ == "__main__":
    main()
