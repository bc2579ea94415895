"""Gaussian data ``x_0 ~ N(MEAN, STD^2)``: the exact denoisers and losses the baseline tests use.

With ``a = sqrt(abar_t)``, ``b = sqrt(1 - abar_t)`` and ``D = abar s^2 + 1 - abar`` (the variance
of ``x_t``), the posterior means given ``x_t`` are

    E[eps | x_t] = b (x_t - a m) / D
    E[x_0 | x_t] = m + s^2 a (x_t - a m) / D
    E[v   | x_t] = a E[eps | x_t] - b E[x_0 | x_t]      (v = a eps - b x_0)

and the posterior variances, the smallest mean squared errors a network can reach at step t, are

    eps: abar s^2 / D        x_0: s^2 (1 - abar) / D        v: s^2 / D.
"""

from __future__ import annotations

import torch

from qdm_qiskit.baseline import GaussianDiffusion
from qdm_qiskit.diffusion import NoiseSchedule

MEAN, STD = 0.3, 0.2
KINDS = ("eps", "x0", "v")


def gaussian_diffusion(steps: int = 200) -> GaussianDiffusion:
    """A cosine schedule (``abar_T`` ~ 1e-7, so ``x_T`` really is ``N(0, 1)``) in float64."""
    return GaussianDiffusion(NoiseSchedule(kind="cosine", steps=steps), dtype=torch.float64)


class Oracle(torch.nn.Module):
    """The exact posterior mean of ``eps``, ``x_0`` or ``v`` given ``x_t``, for any shape.

    Called as ``oracle(x_t, t)`` with the project's steps ``t`` ``(B,)`` in ``1..T``; ``mean``
    may be a tensor ``(B,)`` of per-row means (a class-conditional Gaussian).
    """

    def __init__(self, alpha_bars: torch.Tensor, prediction: str, mean: float = MEAN) -> None:
        super().__init__()
        self.alpha_bars = torch.as_tensor(alpha_bars, dtype=torch.float64)
        self.prediction = prediction
        self.mean = mean

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.predict(x_t, t, self.mean)

    def predict(
        self, x_t: torch.Tensor, t: torch.Tensor, mean: float | torch.Tensor
    ) -> torch.Tensor:
        rows = (-1, *([1] * (x_t.dim() - 1)))
        abar = self.alpha_bars.to(x_t.dtype)[t].reshape(rows)
        mean = torch.as_tensor(mean, dtype=x_t.dtype)
        mean = mean.reshape(rows) if mean.dim() else mean
        a, b = abar.sqrt(), (1 - abar).sqrt()
        centred = (x_t - a * mean) / (abar * STD**2 + 1 - abar)
        eps = b * centred
        x0 = mean + STD**2 * a * centred
        return {"eps": eps, "x0": x0, "v": a * eps - b * x0}[self.prediction]


def minimum_loss(alpha_bars: torch.Tensor, prediction: str) -> torch.Tensor:
    """The posterior variance ``Var[target | x_t]`` per step, for ``abar`` values given."""
    abar = torch.as_tensor(alpha_bars, dtype=torch.float64)
    spread = abar * STD**2 + 1 - abar
    numerator = {"eps": abar * STD**2, "x0": STD**2 * (1 - abar), "v": STD**2 + 0 * abar}
    return numerator[prediction] / spread
