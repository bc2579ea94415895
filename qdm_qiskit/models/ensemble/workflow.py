"""``qdm train`` and ``qdm sample`` for ensemble models: train, evaluate, report, sample anywhere.

Training writes ``results/train-<id>/`` with ``checkpoint.pt``, ``history.csv`` (one row per
reverse step), ``evaluation.csv`` (distances at every ``t``), ``report.md`` (set beside QuDDPM's
published value when the config is one of its tasks), ``distance.png`` and ``info.json``.
Sampling runs the whole reverse process as one circuit with mid-circuit ancilla measurement and
reset on any job-manager target and compares the measured outcome distribution with the engine's.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from qdm_qiskit._io import artifact_directory, atomic_write_bytes, atomic_write_json, npz_bytes
from qdm_qiskit.engine import probabilities
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.models.ensemble.config import (
    QUDDPM_CIRCLE,
    QUDDPM_CLUSTER_1,
    QUDDPM_CLUSTER_2,
    EnsembleRunConfig,
)
from qdm_qiskit.models.ensemble.jets import evaluate_jets
from qdm_qiskit.models.ensemble.model import EnsembleDiffusion
from qdm_qiskit.models.ensemble.store import load_ensemble_checkpoint
from qdm_qiskit.models.ensemble.tasks import jet_images
from qdm_qiskit.models.ensemble.train import (
    EnsembleData,
    EnsembleTrainingResult,
    StepCallback,
    build_ensemble_model,
    ensemble_data,
    evaluate_ensemble,
    step_generator,
    train_ensemble,
)
from qdm_qiskit.models.sampling import ENGINE, JobExecutor, check_target
from qdm_qiskit.provenance import artifact_info
from qdm_qiskit.results.comparison import metric_table
from qdm_qiskit.results.figures import png_bytes
from qdm_qiskit.results.report import markdown_table, sample_grid_png

#: QuDDPM's test distance at t = 0 (in its preset's loss) for its published tasks (stored
#: generations of Francis-Hsu/QuantGenMdl; see ../shared/reference/qdm-literature.md).
PUBLISHED = {
    "cluster n=1": (QUDDPM_CLUSTER_1, 6.4e-4),
    "cluster n=2": (QUDDPM_CLUSTER_2, 3.9e-3),
    "circle n=1": (QUDDPM_CIRCLE, 2.8e-3),
}


def published_reference(config: EnsembleRunConfig) -> tuple[str, float] | None:
    """``(task name, QuDDPM's test value)`` when ``config`` has a published task's shape."""
    for name, (reference, value) in PUBLISHED.items():
        if (
            config.data.task == reference.data.task
            and config.model == reference.model
            and config.train.loss == reference.train.loss
        ):
            return name, value
    return None


def train_ensemble_to_directory(
    config: EnsembleRunConfig,
    *,
    results_dir: str | Path = "results",
    on_step: StepCallback | None = None,
    device: torch.device | str | None = None,
) -> tuple[Path, EnsembleTrainingResult, pd.DataFrame]:
    """Train, evaluate against an untrained model and the real-vs-real floor, and report."""
    data = ensemble_data(config)
    with artifact_directory(results_dir, "train") as out:
        result = train_ensemble(config, checkpoint=out.partial / "checkpoint.pt", data=data,
                                on_step=on_step, device=device)  # fmt: skip
        evaluation = evaluate_ensemble(result.model, data, seed=config.train.seed)
        untrained_model = build_ensemble_model(config, device=device)
        untrained = evaluate_ensemble(untrained_model, data, seed=config.train.seed)
        summary = summarize(config, evaluation, untrained)
        _write_training(out.partial, config, result, evaluation, summary)
        if config.data.task == "jets":
            _write_jets(out.partial, result.model, untrained_model, data)
    return out.final, replace(result, checkpoint=out.final / "checkpoint.pt"), summary


def _write_jets(
    directory: Path, model: EnsembleDiffusion, untrained: EnsembleDiffusion, data: EnsembleData
) -> None:
    """Jet metrics of the generated images (``jets.csv``), their table and ``samples.png``."""
    count = model.config.data.test_size
    sets, evaluation = evaluate_jets(model, untrained, data, count=count,
                                     seed=model.config.train.seed)  # fmt: skip
    atomic_write_bytes(directory / "jets.csv", evaluation.table.to_csv(index=False).encode())
    npix = model.config.data.npix
    real = {"real test jets": jet_images(data.test, npix)}
    grid = {**real, **{s.name: s.images for s in sets}}
    atomic_write_bytes(directory / "samples.png", sample_grid_png(grid))
    table = metric_table(evaluation, "all", [s.name for s in sets])
    text = [
        "",
        "## Generated jets",
        "",
        f"{count} images per set against the {count} test jets; floor = training jets of the "
        "same size. A generated image is the state's outcome distribution: exact "
        "(`|amplitude|^2`, infinite shots) or the histogram of a stated number of shots.",
        "",
        markdown_table(table),
        "",
        "![real and generated jets](samples.png)",
        "",
    ]
    report = (directory / "report.md").read_text(encoding="utf-8") + "\n".join(text)
    atomic_write_bytes(directory / "report.md", report.encode())


def summarize(
    config: EnsembleRunConfig, evaluation: pd.DataFrame, untrained: pd.DataFrame
) -> pd.DataFrame:
    """The headline table at ``t = 0``: trained, untrained, the floor and QuDDPM's value."""
    metric: str = config.train.loss

    def final(frame: pd.DataFrame, ensemble: str, name: str) -> float:
        rows = frame[
            (frame["t"] == 0) & (frame["ensemble"] == ensemble) & (frame["metric"] == name)
        ]
        return float(rows["value"].iloc[0]) if len(rows) else math.nan

    rows = [
        ("trained: fresh prior vs test set", metric, final(evaluation, "generated", metric)),
        ("trained: training prior vs training set", metric,
         final(evaluation, "generated_train_prior", metric)),
        ("untrained: fresh prior vs test set", metric, final(untrained, "generated", metric)),
        ("real vs real (train vs test set)", metric, final(evaluation, "real_vs_real", metric)),
    ]  # fmt: skip
    reference = published_reference(config)
    if reference is not None:
        rows.append((f"QuDDPM published ({reference[0]}, test)", metric, reference[1]))
    if config.data.task == "cluster":
        fidelity = "fidelity_to_zero"
        rows += [
            ("trained: fresh prior", fidelity, final(evaluation, "generated", fidelity)),
            ("untrained: fresh prior", fidelity, final(untrained, "generated", fidelity)),
            ("real test set", fidelity, final(evaluation, "real", fidelity)),
        ]
    return pd.DataFrame(rows, columns=["ensemble", "metric", "value"])


def _write_training(
    directory: Path,
    config: EnsembleRunConfig,
    result: EnsembleTrainingResult,
    evaluation: pd.DataFrame,
    summary: pd.DataFrame,
) -> None:
    atomic_write_bytes(directory / "history.csv", result.history.to_csv(index=False).encode())
    atomic_write_bytes(directory / "evaluation.csv", evaluation.to_csv(index=False).encode())
    atomic_write_bytes(directory / "summary.csv", summary.to_csv(index=False).encode())
    atomic_write_bytes(directory / "distance.png", distance_png(evaluation, config.train.loss))
    count = result.model.parameter_count()
    model = config.model
    report = [
        f"# Ensemble diffusion: {config.data.task} task, {model.num_qubits} data qubit(s)",
        "",
        f"{model.forward} forward process, T = {model.steps} steps, {model.ancillas} ancilla(s), "
        f"{model.layers} layers per step: {count.quantum} quantum + {count.classical} classical "
        f"parameters. Loss: {config.train.loss}, {config.train.iterations} Adam iterations per "
        f"step at lr {config.train.learning_rate}; seed {config.train.seed}; "
        f"{result.seconds:.1f} s.",
        "",
        markdown_table(summary),
        "",
        "![distance to the data at every step](distance.png)",
        "",
    ]
    atomic_write_bytes(directory / "report.md", "\n".join(report).encode())
    atomic_write_json(
        directory / "info.json",
        artifact_info(
            "train",
            config,
            config.train.seed,
            family="ensemble",
            parameters={"quantum": count.quantum, "classical": count.classical},
            seconds=result.seconds,
        ),
    )


def distance_png(evaluation: pd.DataFrame, metric: str) -> bytes:
    """Distance of the generated ensembles to the diffused data at every step ``t``."""
    fig = Figure(figsize=(5.0, 3.2), layout="constrained")
    ax = fig.subplots()
    for name, label in (("generated", "generated (fresh prior)"),
                        ("generated_train_prior", "generated (training prior)")):  # fmt: skip
        rows = evaluation[(evaluation["ensemble"] == name) & (evaluation["metric"] == metric)]
        ax.plot(rows["t"], rows["value"], marker="o", markersize=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("diffusion step t")
    ax.set_ylabel(metric)
    ax.legend()
    return png_bytes(fig)


@dataclass(frozen=True, eq=False)
class EnsembleSamples:
    """Measured outcome distributions of generated ensembles.

    Attributes:
        distributions: ``(count, 2^n)`` per-sample outcome probabilities of the data qubits.
        engine_distributions: the engine's probabilities for the same prior states, one sampled
            ancilla trajectory per sample (so they agree with a target's on average).
        target: where the circuits ran.
        seconds: wall time.
        run_ids: job-manager runs.
    """

    distributions: np.ndarray
    engine_distributions: np.ndarray
    target: str
    seconds: float
    run_ids: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        """Mean outcome distribution on the target and on the engine, and their distance."""
        target, engine = self.distributions.mean(0), self.engine_distributions.mean(0)
        width = int(np.log2(len(target)))
        rows = [{"outcome": format(k, f"0{width}b"), "target": float(target[k]),
                 "engine": float(engine[k])} for k in range(len(target))]  # fmt: skip
        rows.append({"outcome": "total variation", "target": 0.5 * float(
            np.abs(target - engine).sum()), "engine": 0.0})  # fmt: skip
        return pd.DataFrame(rows, columns=["outcome", "target", "engine"])


def device_prior(model: EnsembleDiffusion, count: int, seed: int) -> np.ndarray:
    """Pure prior states a circuit can prepare: Haar states, or random basis states for ``I/d``."""
    dim = 2**model.num_qubits
    if model.mixed:  # the uniform mixture of basis states is I/d
        rng = np.random.default_rng(seed)
        return np.eye(dim, dtype=complex)[rng.integers(0, dim, size=count)]
    return model.prior(count, seed=seed).detach().cpu().numpy().astype(np.complex128)


def sample_ensemble(
    model: EnsembleDiffusion,
    *,
    count: int,
    seed: int,
    target: str = ENGINE,
    shots: int = 1024,
    mitigation: str = "none",
    workspace: Workspace | None = None,
) -> EnsembleSamples:
    """Generate ``count`` samples and measure the data qubits, on the engine or a target."""
    circuit_width = model.num_qubits + model.num_ancillas
    check_target(target, count=count, shots=shots, width=circuit_width)
    started = time.perf_counter()
    prior = device_prior(model, count, seed)
    generated = model.generate(model.as_states(prior), step_generator(seed, 0))[-1]
    exact = probabilities(generated).double().cpu().numpy()
    if target == ENGINE:
        return EnsembleSamples(exact, exact, target, time.perf_counter() - started, ())
    executor = JobExecutor(target=target, workspace=workspace or Workspace(), shots=shots,
                           mitigation=mitigation, seed=seed, name="ensemble")  # fmt: skip
    circuit, values = model.sampling_circuit(prior)
    measured = executor(name="reverse", circuit=circuit, values=values)
    return EnsembleSamples(
        measured, exact, target, time.perf_counter() - started, tuple(executor.run_ids)
    )


def load_ensemble_model(checkpoint: str | Path) -> EnsembleDiffusion:
    """The trained model stored in ``checkpoint`` (every step must be trained)."""
    saved = load_ensemble_checkpoint(checkpoint)
    if not saved.complete:
        raise ConfigError(
            f"{checkpoint}: only {len(saved.history)} of {saved.config.model.steps} steps are "
            "trained; resume training first"
        )
    model = EnsembleDiffusion(saved.config)
    model.load_state_dict(saved.model_state)
    return model


def sample_ensemble_to_directory(
    checkpoint: str | Path,
    *,
    count: int,
    seed: int,
    target: str = ENGINE,
    shots: int = 1024,
    mitigation: str = "none",
    results_dir: str | Path = "results",
    workspace: Workspace | None = None,
) -> tuple[Path, EnsembleSamples]:
    """Load, sample, and write ``samples.npz``, ``summary.csv`` and ``info.json``."""
    model = load_ensemble_model(checkpoint)
    samples = sample_ensemble(model, count=count, seed=seed, target=target, shots=shots,
                              mitigation=mitigation, workspace=workspace)  # fmt: skip
    with artifact_directory(results_dir, "sample") as out:
        atomic_write_bytes(out.partial / "samples.npz", npz_bytes(
            distributions=samples.distributions, engine=samples.engine_distributions))  # fmt: skip
        summary = samples.summary()
        atomic_write_bytes(out.partial / "summary.csv", summary.to_csv(index=False).encode())
        atomic_write_json(
            out.partial / "info.json",
            artifact_info("sample", model.config, seed, family="ensemble",
                  checkpoint=str(Path(checkpoint).resolve()), target=target, shots=shots,
                  mitigation=mitigation, count=count, seconds=samples.seconds,
                  job_runs=list(samples.run_ids)),
        )  # fmt: skip
    return out.final, samples
