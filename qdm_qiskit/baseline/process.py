"""The Gaussian forward process and the DDPM / DDIM reverse updates (Ho et al.; Song et al.)."""

from __future__ import annotations

import torch

from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError

#: What a denoising network may predict: the noise, the clean sample, or the velocity.
PREDICTIONS: tuple[str, ...] = ("eps", "x0", "v")


class GaussianDiffusion:
    """``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` for ``t = 0..T``, with its reversals.

    Args:
        schedule: ``beta_1 .. beta_T`` (``NoiseSchedule.betas``); ``abar_0 = 1``.
        dtype: float dtype of the buffers (float64 keeps the closed forms exact in tests).
    """

    def __init__(self, schedule: NoiseSchedule, *, dtype: torch.dtype = torch.float32) -> None:
        self.schedule = schedule
        self.steps = schedule.steps
        self.betas = torch.cat([torch.zeros(1), torch.as_tensor(schedule.betas)]).to(dtype)
        self.alpha_bars = torch.as_tensor(schedule.alpha_bars).to(dtype)
        if float(self.alpha_bars[-1]) <= 0.0:
            raise ConfigError("the schedule destroys the signal completely (abar_T = 0)")

    def _abar(self, t: torch.Tensor | int, like: torch.Tensor) -> torch.Tensor:
        value = self.alpha_bars.to(like.device, like.dtype)[torch.as_tensor(t)]
        return value.reshape(-1, *([1] * (like.dim() - 1))) if value.dim() else value

    def noised(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x_t`` for per-row steps ``t`` (``(B,)`` integers in ``1..T``)."""
        abar = self._abar(t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def predicted_x0(self, x_t: torch.Tensor, t: int, eps: torch.Tensor) -> torch.Tensor:
        """``x_0`` implied by a noise prediction."""
        abar = self._abar(t, x_t)
        return (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()

    def eps_from_x0(
        self, x_t: torch.Tensor, t: torch.Tensor | int, x0: torch.Tensor
    ) -> torch.Tensor:
        """The noise implied by an ``x_0`` prediction (for networks that predict ``x_0``)."""
        abar = self._abar(t, x_t)
        return (x_t - abar.sqrt() * x0) / (1 - abar).sqrt()

    def target(
        self, prediction: str, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor
    ) -> torch.Tensor:
        """The training target of a network that predicts ``prediction`` (eps, x0 or v)."""
        if prediction == "eps":
            return noise
        if prediction == "x0":
            return x0
        abar = self._abar(t, x0)
        return abar.sqrt() * noise - (1 - abar).sqrt() * x0

    def eps_from_prediction(
        self, prediction: str, x_t: torch.Tensor, t: torch.Tensor | int, output: torch.Tensor
    ) -> torch.Tensor:
        """The noise implied by a network's ``eps``, ``x0`` or ``v`` output."""
        if prediction == "eps":
            return output
        if prediction == "x0":
            return self.eps_from_x0(x_t, t, output)
        abar = self._abar(t, x_t)
        return abar.sqrt() * output + (1 - abar).sqrt() * x_t

    def clipped_x0(
        self, x_t: torch.Tensor, t: int, eps: torch.Tensor, clip: float | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x0, eps)`` implied by a noise prediction, ``x0`` clipped to ``[-clip, clip]``.

        With ``clip`` given, ``eps`` is made consistent with the clipped ``x0``, as DDPM samplers
        do for data known to lie in a box.
        """
        x0 = self.predicted_x0(x_t, t, eps)
        if clip is None:
            return x0, eps
        x0 = x0.clamp(-clip, clip)
        return x0, self.eps_from_x0(x_t, t, x0)

    def ddpm_step(
        self,
        x_t: torch.Tensor,
        t: int,
        eps: torch.Tensor,
        generator: torch.Generator,
        *,
        clip: float | None = None,
    ) -> torch.Tensor:
        """Ancestral step ``x_t -> x_{t-1}``.

        Draws from the posterior ``q(x_{t-1} | x_t, x0_hat)``: its mean plus ``beta~_t`` noise.
        """
        beta = float(self.betas[t])
        abar, abar_prev = float(self.alpha_bars[t]), float(self.alpha_bars[t - 1])
        x0, _ = self.clipped_x0(x_t, t, eps, clip)
        mean = (abar_prev**0.5 * beta / (1 - abar)) * x0 + (
            (1 - beta) ** 0.5 * (1 - abar_prev) / (1 - abar)
        ) * x_t
        if t == 1:
            return mean
        variance = beta * (1 - abar_prev) / (1 - abar)
        noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
        return mean + variance**0.5 * noise

    def ddim_step(
        self,
        x_t: torch.Tensor,
        t: int,
        s: int,
        eps: torch.Tensor,
        generator: torch.Generator,
        *,
        eta: float = 0.0,
        clip: float | None = None,
    ) -> torch.Tensor:
        """Step ``x_t -> x_s`` (``s < t``); ``eta = 0`` is deterministic, 1 is DDPM-like."""
        abar, abar_s = float(self.alpha_bars[t]), float(self.alpha_bars[s])
        x0, eps = self.clipped_x0(x_t, t, eps, clip)
        sigma = eta * ((1 - abar_s) / (1 - abar) * (1 - abar / abar_s)) ** 0.5
        direction = max(1 - abar_s - sigma**2, 0.0) ** 0.5 * eps
        out = abar_s**0.5 * x0 + direction
        if sigma > 0 and s > 0:
            noise = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
            out = out + sigma * noise
        return out
