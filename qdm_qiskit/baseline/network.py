"""The epsilon-prediction network: an MLP with a sinusoidal time embedding."""

from __future__ import annotations

import math

import torch

from qdm_qiskit.errors import ConfigError


class MLPDenoiser(torch.nn.Module):
    """``eps_hat(x_t, t)``: ``depth`` hidden layers of ``hidden`` units, SiLU activations.

    The step enters as a ``time_features``-dimensional sinusoidal embedding of ``t / T``
    concatenated to the input (as in the DDPM reference implementations).
    """

    def __init__(self, dim: int, *, hidden: int = 128, depth: int = 3, time_features: int = 16,
                 steps: int = 100) -> None:  # fmt: skip
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden), ("depth", depth), ("steps", steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if time_features < 2 or time_features % 2:
            raise ConfigError(f"time_features must be an even integer >= 2, got {time_features}")
        self.dim, self.steps, self.time_features = dim, steps, time_features
        layers: list[torch.nn.Module] = []
        width = dim + time_features
        for _ in range(depth):
            layers += [torch.nn.Linear(width, hidden), torch.nn.SiLU()]
            width = hidden
        layers.append(torch.nn.Linear(width, dim))
        self.body = torch.nn.Sequential(*layers)
        frequencies = torch.exp(-math.log(1000.0) * torch.arange(time_features // 2)
                                / (time_features // 2))  # fmt: skip
        self.register_buffer("frequencies", frequencies, persistent=False)

    frequencies: torch.Tensor

    def parameter_count(self) -> int:
        """Trainable parameters (all classical)."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Noise prediction ``(B, dim)`` for states ``x_t`` at steps ``t`` ``(B,)``."""
        phase = (t.to(x_t.dtype)[:, None] / self.steps) * 1000.0 * self.frequencies.to(x_t.dtype)
        embedding = torch.cat([torch.sin(phase), torch.cos(phase)], dim=1)
        return self.body(torch.cat([x_t, embedding], dim=1))


def mlp_for_budget(
    dim: int, budget: int, *, depth: int = 2, time_features: int = 16, steps: int = 100
) -> MLPDenoiser:
    """The MLP of ``depth`` hidden layers whose parameter count is closest to ``budget``.

    Used for the "same budget" comparison with a quantum model of ``budget`` parameters.
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(f"budget must be a positive integer, got {budget!r}")
    shape = {"depth": depth, "time_features": time_features, "steps": steps}
    best = MLPDenoiser(dim, hidden=1, **shape)
    for hidden in range(2, 4097):
        candidate = MLPDenoiser(dim, hidden=hidden, **shape)
        if abs(candidate.parameter_count() - budget) < abs(best.parameter_count() - budget):
            best = candidate
        if candidate.parameter_count() > budget:
            break
    return best
