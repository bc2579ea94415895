"""The training loop: Adam, a learning-rate schedule, validation, early stopping, checkpoints.

Deterministic for a seed: weights, batch order, noise and timesteps are all drawn from one
``torch.Generator`` seeded by ``train.seed`` (on the CPU, so CPU and CUDA runs draw the same
numbers). A checkpoint is written atomically after every epoch; ``resume=True`` continues from
it bit for bit. A non-finite loss stops training with a message and leaves the last good
checkpoint in place.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from qdm_qiskit.engine.allocator import keep_state_buffers
from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.models.base import QuantumDiffusionModel
from qdm_qiskit.models.checkpoint import load_checkpoint, restore_model_state, save_checkpoint
from qdm_qiskit.models.config import RunConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.models.factory import build_model

#: Validation noise is drawn from this offset of the training seed, the same every epoch, so
#: validation losses of different epochs are comparable.
VALIDATION_SEED_OFFSET = 1_000_003
MIN_LR_FACTOR = 0.05


class TrainingFailed(QdmError):
    """Training stopped on a non-finite loss."""


@dataclass(frozen=True, eq=False)
class TrainingResult:
    """A finished run.

    Attributes:
        model: the model with its best-validation weights loaded.
        history: one row per epoch: ``epoch, train_loss, validation_loss, learning_rate, seconds``.
        best_epoch: the epoch whose weights were kept.
        stopped: ``completed`` or ``early_stopping``.
        checkpoint: the final checkpoint file, if one was written.
        seconds: wall time of the epochs run in this call.
    """

    model: QuantumDiffusionModel
    history: pd.DataFrame
    best_epoch: int
    stopped: str
    checkpoint: Path | None
    seconds: float


EpochCallback = Callable[[dict[str, float]], None]


def learning_rate(config: RunConfig, epoch: int) -> float:
    """Learning rate of epoch ``epoch`` (0-based): constant, or cosine down to 5%."""
    base = config.train.learning_rate
    if config.train.lr_schedule == "constant" or config.train.epochs == 1:
        return base
    progress = epoch / (config.train.epochs - 1)
    return base * (MIN_LR_FACTOR + (1 - MIN_LR_FACTOR) * 0.5 * (1 + math.cos(math.pi * progress)))


def evaluate(
    model: QuantumDiffusionModel, data: torch.Tensor, *, seed: int, batch_size: int
) -> float:
    """Mean loss over ``data`` with noise drawn from ``seed`` (no gradients)."""
    generator = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, data.shape[0], batch_size):
            batch = data[start : start + batch_size]
            total += float(model.loss(batch, generator)) * batch.shape[0]
            count += batch.shape[0]
    return total / max(count, 1)


def train_model(
    config: RunConfig,
    *,
    data: JetImageData | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    device: torch.device | str | None = None,
    on_epoch: EpochCallback | None = None,
) -> TrainingResult:
    """Train the model of ``config`` and return it with its history.

    Args:
        config: data, model and trainer settings.
        data: the images (default: loaded from ``config.data``).
        checkpoint: file written after every epoch (and read with ``resume``).
        resume: continue from ``checkpoint`` if it exists (its config must equal ``config``
            apart from ``train.epochs``).
        device: torch device (default: CUDA if available, else CPU).
        on_epoch: called with each epoch's history row (progress display).
    """
    keep_state_buffers()
    data = load_image_data(config.data) if data is None else data
    model = build_model(config, device=device)
    model.fit(data.part("train"))
    train_x = model.encode(data.part("train"))
    validation_x = model.encode(data.part("validation"))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=config.train.learning_rate)
    generator = torch.Generator().manual_seed(config.train.seed)
    history: list[dict[str, float]] = []
    best = (math.inf, -1, {k: v.clone() for k, v in model.state_dict().items()})
    start_epoch = 0
    path = None if checkpoint is None else Path(checkpoint)
    if resume and path is not None and path.exists():
        start_epoch, history, best = _resume(path, config, model, optimizer, generator)
    started = time.perf_counter()
    stopped = "completed"
    for epoch in range(start_epoch, config.train.epochs):
        epoch_start = time.perf_counter()
        rate = learning_rate(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = rate
        train_loss = _epoch(model, train_x, optimizer, generator, config, epoch, path)
        validation_loss = evaluate(
            model, validation_x, seed=config.train.seed + VALIDATION_SEED_OFFSET,
            batch_size=max(config.train.batch_size, 256),
        )  # fmt: skip
        row = {
            "epoch": float(epoch + 1),
            "train_loss": train_loss,
            "validation_loss": validation_loss,
            "learning_rate": rate,
            "seconds": time.perf_counter() - epoch_start,
        }
        history.append(row)
        if validation_loss < best[0]:
            best = (
                validation_loss,
                epoch + 1,
                {k: v.clone() for k, v in model.state_dict().items()},
            )
        if path is not None:
            _save(
                path, model, config, optimizer, epoch + 1, history, best, generator, complete=False
            )
        if on_epoch is not None:
            on_epoch(row)
        patience = config.train.patience
        if patience and epoch + 1 - best[1] >= patience:
            stopped = "early_stopping"
            break
    if path is not None:  # the last weights (to resume from) and the best ones (to use)
        _save(path, model, config, optimizer, len(history), history, best, generator, complete=True)
    model.load_state_dict(best[2])
    return TrainingResult(
        model=model,
        history=pd.DataFrame(
            history, columns=["epoch", "train_loss", "validation_loss", "learning_rate", "seconds"]
        ),
        best_epoch=best[1],
        stopped=stopped,
        checkpoint=path,
        seconds=time.perf_counter() - started,
    )


def _epoch(
    model: QuantumDiffusionModel,
    train_x: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    config: RunConfig,
    epoch: int,
    path: Path | None,
) -> float:
    order = torch.randperm(train_x.shape[0], generator=generator).to(train_x.device)
    total, count = 0.0, 0
    size = config.train.batch_size
    for step, start in enumerate(range(0, train_x.shape[0], size)):
        batch = train_x[order[start : start + size]]
        loss = model.loss(batch, generator)
        if not torch.isfinite(loss):
            kept = (
                f"; the last good checkpoint (epoch {epoch}) is kept at {path}"
                if path and epoch
                else ""
            )
            raise TrainingFailed(
                f"training loss became {float(loss.detach())} at epoch {epoch + 1}, step {step + 1}"
                f"{kept}; lower train.learning_rate or check the data"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * batch.shape[0]
        count += batch.shape[0]
    return total / count


def _save(
    path: Path,
    model: QuantumDiffusionModel,
    config: RunConfig,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    history: list[dict[str, float]],
    best: tuple,
    generator: torch.Generator | None,
    *,
    complete: bool,
) -> None:
    save_checkpoint(
        path,
        model=model,
        config=config,
        family=model.family,
        optimizer=optimizer,
        epoch=epoch,
        history=history,
        best_validation=float(best[0]),
        best_epoch=int(best[1]),
        best_state=best[2],
        generator=generator,
        complete=complete,
    )


def _resume(
    path: Path,
    config: RunConfig,
    model: QuantumDiffusionModel,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> tuple[int, list[dict[str, float]], tuple]:
    saved = load_checkpoint(path)
    mine, theirs = config.to_dict(), saved.config.to_dict()
    mine["train"].pop("epochs")
    theirs["train"].pop("epochs")
    if mine != theirs:
        raise ConfigError(f"{path}: checkpoint was trained with another config; cannot resume")
    if saved.epoch >= config.train.epochs:
        raise ConfigError(
            f"{path}: already trained for {saved.epoch} epochs; raise train.epochs to continue"
        )
    restore_model_state(model, saved, family=model.family, source=str(path), which="last")
    if saved.optimizer_state is None or saved.generator_state is None:
        raise ConfigError(f"{path}: checkpoint has no optimiser state to resume from")
    optimizer.load_state_dict(saved.optimizer_state)
    generator.set_state(saved.generator_state)
    best_state = {k: v.to(model.device) for k, v in saved.best_state.items()}
    return saved.epoch, list(saved.history), (saved.best_validation, saved.best_epoch, best_state)
