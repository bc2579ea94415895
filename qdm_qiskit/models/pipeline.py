"""Workflows behind ``qdm train``, ``qdm sample`` and ``qdm run``, as library functions.

Each writes one directory under the results root, named ``<kind>-<UTC time>-<random>``, holding
its artifacts and an ``info.json`` with the package versions, the config and the seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qdm_qiskit._io import artifact_directory, atomic_write_bytes, atomic_write_json, npz_bytes
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace, planned_qpu_seconds
from qdm_qiskit.jobs.targets import device_backend, parse_target
from qdm_qiskit.models.base import QuantumDiffusionModel
from qdm_qiskit.models.checkpoint import load_checkpoint, restore_model_state
from qdm_qiskit.models.classical import ClassicalConfig, sanity_markdown, seed_notebook_row
from qdm_qiskit.models.compare import (
    classical_records,
    evaluate_records,
    real_jets,
    standard_checks,
    write_comparison,
)
from qdm_qiskit.models.config import QUICK_RUN, RunConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.models.factory import MODEL_CLASSES, build_model
from qdm_qiskit.models.sampling import JobExecutor
from qdm_qiskit.models.state import StateDenoiser
from qdm_qiskit.models.train import EpochCallback, TrainingResult, train_model
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.provenance import package_versions
from qdm_qiskit.results.comparison import summary_table
from qdm_qiskit.results.sets import SetRecord, write_sets

#: Target name that means "the torch engine, exact state vectors, no job manager".
ENGINE = "engine"
#: ``qdm run`` samples on this local noisy simulator by default.
DEFAULT_NOISY_TARGET = "aer:FakeManilaV2"


def _info(kind: str, config: Any, seed: int, **extra: Any) -> dict[str, Any]:
    """Provenance of an artifact; ``config`` is any run config with ``to_dict()``."""
    return {
        "kind": kind,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "seed": seed,
        "versions": package_versions(),
        **extra,
    }


def train_to_directory(
    config: RunConfig,
    *,
    results_dir: str | Path = "results",
    data: JetImageData | None = None,
    on_epoch: EpochCallback | None = None,
) -> tuple[Path, TrainingResult]:
    """Train and write ``checkpoint.pt``, ``history.csv`` and ``info.json`` to a new directory."""
    with artifact_directory(results_dir, "train") as out:
        result = _train_into(out.partial, config, data, on_epoch)
    return out.final, replace(result, checkpoint=out.final / "checkpoint.pt")


def _train_into(
    directory: Path,
    config: RunConfig,
    data: JetImageData | None,
    on_epoch: EpochCallback | None,
) -> TrainingResult:
    result = train_model(
        config, data=data, checkpoint=directory / "checkpoint.pt", on_epoch=on_epoch
    )
    atomic_write_bytes(directory / "history.csv", result.history.to_csv(index=False).encode())
    count = result.model.parameter_count()
    atomic_write_json(
        directory / "info.json",
        _info(
            "train",
            config,
            config.train.seed,
            family=config.model.family,
            parameters={"quantum": count.quantum, "classical": count.classical},
            best_epoch=result.best_epoch,
            stopped=result.stopped,
            seconds=result.seconds,
        ),
    )
    return result


def load_model(checkpoint: str | Path) -> QuantumDiffusionModel:
    """Rebuild the model a checkpoint was trained as, with its kept weights."""
    saved = load_checkpoint(checkpoint)
    if saved.family not in MODEL_CLASSES:
        raise ConfigError(f"{checkpoint}: unknown model family {saved.family!r}")
    model = MODEL_CLASSES[saved.family](saved.config)
    restore_model_state(model, saved, family=saved.family, source=str(checkpoint))
    return model


@dataclass(frozen=True, eq=False)
class Samples:
    """Generated images and how they were made."""

    images: np.ndarray
    target: str
    seconds: float
    run_ids: tuple[str, ...]


def generate(
    model: QuantumDiffusionModel,
    *,
    count: int,
    seed: int,
    target: str = ENGINE,
    shots: int = 1024,
    mitigation: str = "none",
    workspace: Workspace | None = None,
    data: JetImageData | None = None,
) -> Samples:
    """Generate ``count`` images on the engine or on a job-manager target.

    The state family reconstructs noised test jets (see :mod:`qdm_qiskit.models.state`); the
    others sample from noise.
    """
    check_sampling(model, target=target, count=count, shots=shots)
    executor = None
    if target != ENGINE:
        executor = JobExecutor(
            target=target,
            workspace=workspace or Workspace(),
            shots=shots,
            mitigation=mitigation,
            seed=seed,
            name=f"{model.family}-sample",
        )
    started = time.perf_counter()
    if isinstance(model, StateDenoiser):
        data = load_image_data(model.config.data) if data is None else data
        test = data.part("test")
        if count > len(test):
            raise ConfigError(f"the state model reconstructs test jets: at most {len(test)} here")
        images = model.reconstruct(test[:count], seed=seed, executor=executor)
    else:
        images = model.sample(count, seed=seed, executor=executor)
    runs = tuple(executor.run_ids) if executor is not None else ()
    return Samples(images, target, time.perf_counter() - started, runs)


def check_sampling(model: QuantumDiffusionModel, *, target: str, count: int, shots: int) -> None:
    """Refuse bad sampling settings before any work (one clear error line each)."""
    check_target(target, count=count, shots=shots, width=model.circuit.num_qubits)


def check_target(target: str, *, count: int, shots: int, width: int) -> None:
    """Refuse a bad count, shots, target name or a target narrower than ``width`` qubits."""
    for name, value in (("the number of samples", count), ("shots", shots)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if target == ENGINE:
        return
    spec = parse_target(target)
    if spec.kind == "ibm":
        return  # checked by the job manager against the live backend
    available = getattr(device_backend(spec), "num_qubits", None)
    if available is not None and width > available:
        raise ConfigError(f"the model needs {width} qubits but {target} has {available}")


def sample_to_directory(
    checkpoint: str | Path,
    *,
    count: int,
    seed: int,
    target: str = ENGINE,
    shots: int = 1024,
    mitigation: str = "none",
    results_dir: str | Path = "results",
    workspace: Workspace | None = None,
) -> tuple[Path, Samples]:
    """Load a checkpoint, generate, and write ``samples.npz`` and ``info.json``."""
    model = load_model(checkpoint)
    samples = generate(model, count=count, seed=seed, target=target, shots=shots,
                       mitigation=mitigation, workspace=workspace)  # fmt: skip
    with artifact_directory(results_dir, "sample") as out:
        record = quantum_record(
            model, samples, key="sample", seed=seed,
            name=f"quantum {model.family} ({Path(checkpoint).resolve().parent.name}), "
                 f"{samples.target}",
            qpu_seconds_per_1000=qpu_per_1000(samples, workspace),
        )  # fmt: skip
        write_sets(out.partial, [record], options_to_dict(model.config.data), seed=seed,
                   versions=package_versions())  # fmt: skip
        _write_samples(out.partial, samples, model.config, checkpoint, seed, shots, mitigation)
    return out.final, samples


def _write_samples(
    directory: Path,
    samples: Samples,
    config: RunConfig,
    checkpoint: str | Path,
    seed: int,
    shots: int,
    mitigation: str,
) -> None:
    atomic_write_bytes(directory / "samples.npz", npz_bytes(images=samples.images))
    atomic_write_json(
        directory / "info.json",
        _info(
            "sample",
            config,
            seed,
            checkpoint=str(Path(checkpoint).resolve()),
            target=samples.target,
            shots=shots,
            mitigation=mitigation,
            count=len(samples.images),
            seconds=samples.seconds,
            job_runs=list(samples.run_ids),
        ),
    )


def quantum_record(
    model: QuantumDiffusionModel,
    samples: Samples,
    *,
    key: str,
    name: str,
    data: JetImageData | None = None,
    training: TrainingResult | None = None,
    qpu_seconds_per_1000: float | None = None,
    seed: int = 0,
    untrained: bool = False,
) -> SetRecord:
    """A quantum model's generated images as a comparison set.

    Reconstructions of the state family carry the true labels of the test jets they
    reconstruct, and their indices (``pairs``), so paired metrics and true quark/gluon subsets
    apply.
    """
    count = model.parameter_count()
    labels = pairs = None
    if isinstance(model, StateDenoiser):
        data = load_image_data(model.config.data) if data is None else data
        pairs = np.arange(len(samples.images))
        labels = data.labels[data.splits.test][pairs]
    return SetRecord(
        key=key,
        name=name,
        family=model.family,
        images=samples.images,
        quantum_parameters=count.quantum,
        classical_parameters=count.classical,
        train_seconds=training.seconds if training is not None else None,
        sample_seconds=samples.seconds,
        qpu_seconds_per_1000=qpu_seconds_per_1000,
        target=samples.target,
        seed=seed,
        labels=labels,
        pairs=pairs,
        history=training.history if training is not None else None,
        extra={
            "model": f"quantum {model.family}" + (" untrained" if untrained else ""),
            "job_runs": list(samples.run_ids),
        },
    )


def qpu_per_1000(samples: Samples, workspace: Workspace | None) -> float | None:
    """The plans' QPU-seconds estimate of a job-manager sampling, scaled to 1000 samples."""
    if not samples.run_ids:
        return None
    total = planned_qpu_seconds(workspace or Workspace(), samples.run_ids)
    return None if total is None else 1000.0 * total / max(len(samples.images), 1)


@dataclass(frozen=True, eq=False)
class RunReport:
    """What ``qdm run`` produced: the tidy metric table, its all-jets summary, the training."""

    directory: Path
    metrics: pd.DataFrame
    summary: pd.DataFrame
    training: TrainingResult


def quick_run(
    config: RunConfig = QUICK_RUN,
    *,
    target: str = DEFAULT_NOISY_TARGET,
    count: int = 200,
    shots: int = 1024,
    mitigation: str = "none",
    classical: ClassicalConfig | None = None,
    bootstrap: int = 30,
    results_dir: str | Path = "results",
    workspace: Workspace | None = None,
    on_epoch: EpochCallback | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> RunReport:
    """Train a small QDM and its classical references, sample them, compare, report.

    The quantum model is sampled exactly (engine) and on ``target`` through the job manager;
    the classical references (parameter-matched and usual-size DDPMs, on the same jets, split
    and seed) with DDPM and DDIM. The directory holds ``report.md``, ``metrics.csv`` (every
    metric with floor and uncertainty, all/quark/gluon), ``summary.csv``, the figures, the
    checkpoint, ``sets.json``/``sets.npz`` (for ``qdm compare``) and ``info.json``.
    """
    stage = on_stage or (lambda _message: None)
    untrained = build_model(config)  # the reference row, and the model the settings are checked on
    check_sampling(untrained, target=target, count=count, shots=shots)
    data = load_image_data(config.data)
    classical = classical or ClassicalConfig()
    with artifact_directory(results_dir, "run") as out:
        report = _run_into(
            out.partial, config, untrained, data, target, count, shots, mitigation, classical,
            bootstrap, workspace, on_epoch, stage,
        )  # fmt: skip
    stage(f"report written to {out.final}")
    return replace(report, directory=out.final)


def _run_into(
    directory: Path,
    config: RunConfig,
    untrained: QuantumDiffusionModel,
    data: JetImageData,
    target: str,
    count: int,
    shots: int,
    mitigation: str,
    classical: ClassicalConfig,
    bootstrap: int,
    workspace: Workspace | None,
    on_epoch: EpochCallback | None,
    stage: Callable[[str], None],
) -> RunReport:
    seed = config.train.seed
    family = config.model.family
    stage(f"training a {family} model")
    training = train_model(
        config, data=data, checkpoint=directory / "checkpoint.pt", on_epoch=on_epoch
    )
    model = training.model
    stage("sampling on the engine (exact)")
    exact = generate(model, count=count, seed=seed + 1, data=data)
    baseline = generate(untrained, count=count, seed=seed + 1, data=data)
    stage(f"sampling on {target} through the job manager ({shots} shots)")
    noisy = generate(model, count=count, seed=seed + 1, target=target, shots=shots,
                     mitigation=mitigation, workspace=workspace, data=data)  # fmt: skip
    qpu = qpu_per_1000(noisy, workspace)
    quantum = f"quantum {family}"
    record = partial(quantum_record, data=data, seed=seed + 1, qpu_seconds_per_1000=qpu)
    records = [
        record(model, exact, key="quantum-engine", name=f"{quantum}, engine", training=training),
        record(model, noisy, key="quantum-target", name=f"{quantum}, {target}",
               training=training),
        record(untrained, baseline, key="quantum-untrained", name=f"{quantum} untrained, engine",
               untrained=True),
    ]  # fmt: skip
    stage("training the classical references (parameter-matched and usual-size DDPM)")
    prediction = config.model.prediction if family == "angle" else "eps"
    records += classical_records(
        data, budget=model.parameter_count().total, prediction=prediction, count=count,
        seed=seed, config=classical,
    )  # fmt: skip
    stage("evaluating every set against the test jets (floors, bootstrap errors)")
    real = real_jets(data)
    evaluation = evaluate_records(records, real, seed=seed, bootstrap=bootstrap)
    checks = standard_checks(records)
    write_sets(directory, records, options_to_dict(config.data), seed=seed,
               versions=package_versions())  # fmt: skip
    body = write_comparison(directory, records, real, evaluation, **checks)
    sanity = ""
    if classical.notebook_epochs and data.particles is not None:
        stage("sanity row: the seed notebook's denoiser (sigma 0.1, train-split min-max)")
        row = seed_notebook_row(data.particles, data.splits, seed=seed,
                                epochs=classical.notebook_epochs)  # fmt: skip
        atomic_write_json(directory / "sanity.json", asdict(row))
        sanity = sanity_markdown(row)
    count_ = model.parameter_count()
    final_loss = training.history.validation_loss.iloc[-1]
    npix = config.data.npix
    lines = [
        f"# qdm run: {family} QDM vs classical DDPM/DDIM on {npix}x{npix} jet images",
        "",
        f"- quantum model: {count_.quantum} quantum + {count_.classical} classical parameters; "
        f"{len(training.history)} epochs in {training.seconds:.1f} s, best epoch "
        f"{training.best_epoch}, final validation loss {final_loss:.4g}",
        f"- sampling: {count} images per set; {target} ({shots} shots, mitigation "
        f"{mitigation}) through job-manager runs {', '.join(noisy.run_ids)}",
        f"- classical references: DDPM T = {classical.steps}, DDIM {classical.fast_steps} steps, "
        f"{classical.epochs} epochs; the matched network predicts {prediction}, the usual one eps",
        f"- seed {seed}; split seed {config.data.split_seed}; {len(data.images)} jets "
        f"({len(data.splits.train)} train / {len(data.splits.test)} test)",
        "",
        body,
        sanity,
    ]
    atomic_write_bytes(directory / "report.md", "\n".join(lines).encode())
    atomic_write_json(
        directory / "info.json",
        _info(
            "run",
            config,
            seed,
            target=target,
            shots=shots,
            mitigation=mitigation,
            classical=options_to_dict(classical),
            bootstrap=bootstrap,
            parameters={"quantum": count_.quantum, "classical": count_.classical},
            job_runs=list(noisy.run_ids),
            training_seconds=training.seconds,
            best_epoch=training.best_epoch,
        ),
    )
    return RunReport(directory, evaluation.table, summary_table(evaluation), training)
