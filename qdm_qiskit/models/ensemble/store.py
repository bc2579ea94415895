"""Checkpoints of ensemble models: per-step weights, config, seed, history and versions.

Written atomically after every trained step and read with ``torch.load(weights_only=True)``;
a checkpoint of another model or config is refused with a one-line message.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from qdm_qiskit._io import atomic_write_bytes
from qdm_qiskit.errors import ConfigError, DataError
from qdm_qiskit.models.ensemble.config import EnsembleRunConfig
from qdm_qiskit.provenance import package_versions

FORMAT = "qdm-qiskit ensemble checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class EnsembleCheckpoint:
    """The contents of an ensemble checkpoint."""

    config: EnsembleRunConfig
    model_state: dict[str, torch.Tensor]
    history: list[dict[str, float]]
    losses: np.ndarray
    versions: dict[str, str | None]

    @property
    def complete(self) -> bool:
        """Whether every reverse step is trained."""
        return len(self.history) == self.config.model.steps


def save_ensemble_checkpoint(
    path: str | Path,
    *,
    model: torch.nn.Module,
    config: EnsembleRunConfig,
    history: list[dict[str, float]],
    losses: np.ndarray,
) -> Path:
    """Write a checkpoint atomically (a crash leaves the previous one intact)."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": "ensemble",
        "config": config.to_dict(),
        "seed": config.train.seed,
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": history,
        "losses": torch.as_tensor(np.asarray(losses, dtype=np.float64)),
        "versions": package_versions(),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def is_ensemble_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` holds an ensemble checkpoint (False for anything unreadable)."""
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unreadable file is simply "not one"
        return False
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def load_ensemble_checkpoint(
    path: str | Path, *, expect: EnsembleRunConfig | None = None
) -> EnsembleCheckpoint:
    """Read and validate a checkpoint; with ``expect``, refuse one trained with another config."""
    from qdm_qiskit.models.checkpoint import read_payload
    from qdm_qiskit.models.config import config_from_dict

    path = Path(path)
    payload = read_payload(path, FORMAT, FORMAT_VERSION, kind="qdm-qiskit ensemble checkpoint")
    try:
        config = config_from_dict(payload["config"], context=f"{path} config")
        if not isinstance(config, EnsembleRunConfig):
            raise ConfigError("config is not an ensemble config")
        saved = EnsembleCheckpoint(
            config=config,
            model_state=dict(payload["model_state"]),
            history=list(payload["history"]),
            losses=np.asarray(payload["losses"], dtype=np.float64),
            versions=dict(payload["versions"]),
        )
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise DataError(f"{path}: damaged checkpoint ({exc})") from exc
    if expect is not None:
        mine, theirs = expect.to_dict(), config.to_dict()
        if mine != theirs:
            raise ConfigError(f"{path}: checkpoint was trained with another config; cannot resume")
    return saved
