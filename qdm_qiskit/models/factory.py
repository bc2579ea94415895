"""Build the model a config names."""

from __future__ import annotations

from collections.abc import Callable

import torch

from qdm_qiskit.models.angle import AngleDenoiser
from qdm_qiskit.models.base import QuantumDiffusionModel
from qdm_qiskit.models.config import RunConfig
from qdm_qiskit.models.state import StateDenoiser

#: Model class of each family; each is called as ``cls(config, device=...)``.
MODEL_CLASSES: dict[str, Callable[..., QuantumDiffusionModel]] = {
    "state": StateDenoiser,
    "angle": AngleDenoiser,
}


def build_model(
    config: RunConfig, *, device: torch.device | str | None = None
) -> QuantumDiffusionModel:
    """The untrained model of ``config`` with weights drawn from ``config.train.seed``."""
    model = MODEL_CLASSES[config.model.family](config, device=device)
    model.reset_parameters(torch.Generator().manual_seed(config.train.seed))
    return model
