"""``qdm train`` and ``qdm sample`` for the quantum families, as library functions.

Each writes one directory under the results root, named ``<kind>-<UTC time>-<random>``, holding
its artifacts and an ``info.json`` with the package versions, the config and the seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qdm_qiskit._io import artifact_directory, atomic_write_bytes, atomic_write_json, npz_bytes
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace, planned_qpu_seconds
from qdm_qiskit.models.base import QuantumDiffusionModel
from qdm_qiskit.models.checkpoint import load_checkpoint, restore_model_state
from qdm_qiskit.models.config import RunConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.models.factory import MODEL_CLASSES
from qdm_qiskit.models.sampling import ENGINE, JobExecutor, check_sampling
from qdm_qiskit.models.state import StateDenoiser
from qdm_qiskit.models.train import EpochCallback, TrainingResult, train_model
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.provenance import artifact_info, package_versions
from qdm_qiskit.results.sets import SetRecord, write_sets

#: ``qdm run`` samples on this local noisy simulator by default.
DEFAULT_NOISY_TARGET = "aer:FakeManilaV2"


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
        artifact_info(
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
        artifact_info(
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
