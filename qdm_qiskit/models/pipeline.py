"""Workflows behind ``qdm train``, ``qdm sample`` and ``qdm run``, as library functions.

Each writes one directory under the results root, named ``<kind>-<UTC time>-<random>``, holding
its artifacts and an ``info.json`` with the package versions, the config and the seed.
"""

from __future__ import annotations

import contextlib
import io
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qdm_qiskit._io import atomic_write_bytes, atomic_write_json, check_writable
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.jobs.targets import device_backend, parse_target
from qdm_qiskit.models.base import QuantumDiffusionModel
from qdm_qiskit.models.checkpoint import load_checkpoint, restore_model_state
from qdm_qiskit.models.config import QUICK_RUN, RunConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.models.factory import MODEL_CLASSES, build_model
from qdm_qiskit.models.sampling import JobExecutor
from qdm_qiskit.models.state import StateDenoiser
from qdm_qiskit.models.train import EpochCallback, TrainingResult, train_model
from qdm_qiskit.provenance import package_versions
from qdm_qiskit.results.report import (
    loss_curve_png,
    markdown_table,
    observable_distances,
    observable_histograms_png,
    sample_grid_png,
)

#: Target name that means "the torch engine, exact state vectors, no job manager".
ENGINE = "engine"
#: ``qdm run`` samples on this local noisy simulator by default.
DEFAULT_NOISY_TARGET = "aer:FakeManilaV2"


@dataclass(frozen=True)
class ArtifactDirectory:
    """Where an artifact is written (``partial``) and where it appears when done (``final``)."""

    partial: Path
    final: Path


@contextlib.contextmanager
def artifact_directory(root: str | Path, kind: str) -> Iterator[ArtifactDirectory]:
    """A fresh directory ``root/<kind>-<YYYYmmdd-HHMMSS>-<hex>`` that appears only when complete.

    Work happens in the hidden ``root/.<name>.partial``, renamed when the block succeeds. After a
    failure the partial directory stays (hidden) so that, e.g., the last good checkpoint of a
    training run that hit a NaN loss is not lost; the error message names it.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"{kind}-{stamp}-{secrets.token_hex(3)}"
    partial = check_writable(Path(root) / f".{name}.partial")
    partial.mkdir(parents=True, exist_ok=False)
    out = ArtifactDirectory(partial, partial.with_name(name))
    yield out
    partial.rename(out.final)


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
    atomic_write_bytes(directory / "samples.npz", _npz(images=samples.images))
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


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


@dataclass(frozen=True, eq=False)
class RunReport:
    """What ``qdm run`` produced."""

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
    results_dir: str | Path = "results",
    workspace: Workspace | None = None,
    on_epoch: EpochCallback | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> RunReport:
    """Train a small model, sample it exactly and on ``target``, and write a report.

    The report directory holds ``report.md``, ``metrics.csv``, ``summary.csv``, PNG figures
    (sample grid, observable histograms, loss curve), the checkpoint, the samples and
    ``info.json``.
    """
    stage = on_stage or (lambda _message: None)
    untrained = build_model(config)  # the reference row, and the model the settings are checked on
    check_sampling(untrained, target=target, count=count, shots=shots)
    data = load_image_data(config.data)
    with artifact_directory(results_dir, "run") as out:
        report = _run_into(out.partial, config, untrained, data, target, count, shots,
                           mitigation, workspace, on_epoch, stage)  # fmt: skip
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
    workspace: Workspace | None,
    on_epoch: EpochCallback | None,
    stage: Callable[[str], None],
) -> RunReport:
    seed = config.train.seed
    stage(f"training a {config.model.family} model")
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
    test = data.part("test")
    floor = data.part("train")[: len(test)]
    sets = {
        "trained, engine": exact.images,
        f"trained, {target}": noisy.images,
        "untrained, engine": baseline.images,
    }
    reference = test[: max(count, 1)] if len(test) >= count else test
    metrics = observable_distances(sets, reference, floor[: len(reference)])
    count_ = model.parameter_count()
    summary = metrics.pivot_table(index="sample", columns="observable", values="w1", sort=False)
    summary.insert(
        0, "floor_mean_image_l1", metrics[metrics.observable == "mean_image_l1"].floor.iloc[0]
    )
    summary = summary.reset_index()
    _write_report(
        directory,
        config,
        training,
        sets,
        test,
        metrics,
        summary,
        exact,
        noisy,
        count_,
        target,
        shots,
        mitigation,
    )
    return RunReport(directory, metrics, summary, training)


def _write_report(
    directory: Path,
    config: RunConfig,
    training: TrainingResult,
    sets: dict[str, np.ndarray],
    test: np.ndarray,
    metrics: pd.DataFrame,
    summary: pd.DataFrame,
    exact: Samples,
    noisy: Samples,
    count: Any,
    target: str,
    shots: int,
    mitigation: str,
) -> None:
    figures = {
        "samples.png": sample_grid_png({"real (test)": test, **sets}),
        "observables.png": observable_histograms_png({"real (test)": test, **sets}),
        "loss.png": loss_curve_png(training.history),
    }
    for name, png in figures.items():
        atomic_write_bytes(directory / name, png)
    atomic_write_bytes(directory / "metrics.csv", metrics.to_csv(index=False).encode())
    atomic_write_bytes(directory / "summary.csv", summary.to_csv(index=False).encode())
    atomic_write_bytes(directory / "history.csv", training.history.to_csv(index=False).encode())
    atomic_write_bytes(
        directory / "samples.npz", _npz(**{f"set{i}": v for i, v in enumerate(sets.values())})
    )
    floors = metrics.drop_duplicates("observable")[["observable", "floor"]]
    wide = metrics.pivot_table(
        index="sample", columns="observable", values="w1", sort=False
    ).reset_index()
    final_loss = training.history.validation_loss.iloc[-1]
    npix = config.data.npix
    lines = [
        f"# qdm run: {config.model.family} model on {npix}x{npix} jet images",
        "",
        f"- parameters: {count.quantum} quantum, {count.classical} classical",
        f"- training: {len(training.history)} epochs in {training.seconds:.1f} s, best epoch "
        f"{training.best_epoch}, final validation loss {final_loss:.4g}",
        f"- sampling: {len(exact.images)} images; engine {exact.seconds:.2f} s; {target} "
        f"({shots} shots, mitigation {mitigation}) {noisy.seconds:.1f} s, job-manager runs "
        f"{', '.join(noisy.run_ids)}",
        f"- seed {config.train.seed}; split seed {config.data.split_seed}",
        "",
        "## 1-D Wasserstein distance to the test jets (lower is better)",
        "",
        markdown_table(wide),
        "",
        "Real-vs-real floor (training jets against test jets, same size):",
        "",
        markdown_table(floors),
        "",
        "Figures: `samples.png`, `observables.png`, `loss.png`.",
        "",
    ]
    atomic_write_bytes(directory / "report.md", "\n".join(lines).encode())
    atomic_write_json(
        directory / "info.json",
        _info(
            "run",
            config,
            config.train.seed,
            target=target,
            shots=shots,
            mitigation=mitigation,
            parameters={"quantum": count.quantum, "classical": count.classical},
            job_runs=list(noisy.run_ids),
            training_seconds=training.seconds,
            best_epoch=training.best_epoch,
        ),
    )
