"""Checkpoints: weights, optimiser state, config, seed, history and versions in one file.

Written atomically (a crash leaves the previous checkpoint intact) and read with
``torch.load(weights_only=True)``, so a checkpoint cannot execute code. A checkpoint that does
not belong to the model being loaded is refused with a message naming the difference.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from qdm_qiskit._io import atomic_write_bytes
from qdm_qiskit.errors import ConfigError, DataError
from qdm_qiskit.models.config import RunConfig, run_config_from_dict
from qdm_qiskit.provenance import package_versions

FORMAT = "qdm-qiskit checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Checkpoint:
    """The contents of a checkpoint file."""

    config: RunConfig
    family: str
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    epoch: int
    history: list[dict[str, float]]
    best_validation: float
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    generator_state: torch.Tensor | None
    versions: dict[str, str | None]
    complete: bool


def save_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    config: RunConfig,
    family: str,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    history: list[dict[str, float]],
    best_validation: float,
    best_epoch: int,
    best_state: dict[str, torch.Tensor],
    generator: torch.Generator | None,
    complete: bool,
) -> Path:
    """Write a checkpoint atomically.

    ``model_state`` is the model as it is now (the last epoch, to resume from); ``best_state`` the
    best-validation weights (what :func:`qdm_qiskit.models.pipeline.load_model` uses).
    """
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": family,
        "config": config.to_dict(),
        "seed": config.train.seed,
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer_state": None if optimizer is None else optimizer.state_dict(),
        "epoch": epoch,
        "history": history,
        "best_validation": best_validation,
        "best_epoch": best_epoch,
        "best_state": {k: v.detach().cpu() for k, v in best_state.items()},
        "generator_state": None if generator is None else generator.get_state(),
        "versions": package_versions(),
        "complete": complete,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and validate a checkpoint file (one-line :class:`DataError` if it is not one)."""
    path = Path(path)
    payload = read_payload(path, FORMAT, FORMAT_VERSION, kind="qdm-qiskit checkpoint")
    try:
        config = run_config_from_dict(payload["config"], context=f"{path} config")
        return Checkpoint(
            config=config,
            family=str(payload["family"]),
            model_state=dict(payload["model_state"]),
            optimizer_state=payload["optimizer_state"],
            epoch=int(payload["epoch"]),
            history=list(payload["history"]),
            best_validation=float(payload["best_validation"]),
            best_epoch=int(payload["best_epoch"]),
            best_state=dict(payload["best_state"]),
            generator_state=payload["generator_state"],
            versions=dict(payload["versions"]),
            complete=bool(payload["complete"]),
        )
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise DataError(f"{path}: damaged checkpoint ({exc})") from exc


def read_payload(path: Path, form: str, version: int, *, kind: str) -> dict[str, Any]:
    """The dict in a checkpoint file of format ``form``, or a one-line :class:`DataError`."""
    if not path.is_file():
        raise DataError(f"{path}: no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(
            f"{path}: not a readable qdm-qiskit checkpoint ({type(exc).__name__})"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != form:
        raise DataError(f"{path}: not a {kind}")
    if payload.get("format_version") != version:
        raise DataError(
            f"{path}: checkpoint format version {payload.get('format_version')} is not supported"
        )
    return payload


def restore_model_state(
    model: torch.nn.Module,
    checkpoint: Checkpoint,
    *,
    family: str,
    source: str,
    which: str = "best",
) -> None:
    """Load the ``best`` (validation) or ``last`` (to resume) weights, refusing another model's."""
    if checkpoint.family != family:
        raise ConfigError(f"{source}: checkpoint of a {checkpoint.family!r} model, not {family!r}")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    state = checkpoint.best_state if which == "best" else checkpoint.model_state
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        raise ConfigError(
            f"{source}: checkpoint parameters {found} do not fit this model {expected}"
        )
    model.load_state_dict(state)
