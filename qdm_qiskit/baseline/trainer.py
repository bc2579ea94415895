"""Training (denoising MSE) and the project's own DDPM/DDIM sampling of the classical reference.

A network predicts one of three equivalent targets (Ho et al.; Salimans & Ho 2022): the noise
``eps``, the clean sample ``x0``, or the velocity ``v = sqrt(abar) eps - sqrt(1 - abar) x0``.
``v`` keeps the target of unit scale at every noise level, which is what makes few-step DDIM
sampling accurate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from qdm_qiskit.baseline.process import PREDICTIONS, GaussianDiffusion
from qdm_qiskit.errors import ConfigError


def train_ddpm(
    network: torch.nn.Module,
    diffusion: GaussianDiffusion,
    data: torch.Tensor,
    *,
    epochs: int | None = None,
    iterations: int | None = None,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
    prediction: str = "eps",
    labels: torch.Tensor | None = None,
    lr_schedule: str = "constant",
    ema: float = 0.0,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> pd.DataFrame:
    """Train ``network`` on ``data`` ``(N, ...)`` (vectors or images); one history row per epoch.

    The target is the noise (``prediction="eps"``, Ho et al.'s simplified loss), the clean
    sample (``"x0"``) or the velocity (``"v"``). The length is given in ``epochs`` (passes over
    the data) or ``iterations`` (optimiser steps; the last epoch may be partial). The network is
    called as ``network(x_t, t)``, or ``network(x_t, t, labels)`` when class ``labels`` ``(N,)``
    are given, with ``t`` in ``1..T``.

    Args:
        network: the denoiser, trained in place.
        diffusion: the forward process.
        data: training samples ``(N, ...)``.
        epochs: passes over ``data``.
        iterations: optimiser steps (instead of ``epochs``).
        batch_size: samples per optimiser step.
        learning_rate: Adam's (peak) step size.
        seed: seed of batch order, steps and noise.
        prediction: ``eps``, ``x0`` or ``v``.
        labels: class labels ``(N,)`` for a class-conditioned network, or ``None``.
        lr_schedule: ``constant``, or ``onecycle`` (5% warm-up, then cosine decay to zero: the
            usual recipe for a fixed, short budget).
        ema: decay of an exponential moving average of the weights (0: none). With ``ema`` the
            network ends with the averaged weights (what DDPMs sample with); the average warms
            up as ``min(ema, (1 + k) / (10 + k))`` at step ``k``, so short runs are not dominated
            by the initial weights.
        on_epoch: called with each history row.

    Deterministic for a seed: batch order, steps and noise come from one CPU generator.
    """
    if data.dim() < 2 or data.shape[0] == 0:
        raise ConfigError(
            f"training data must be a non-empty (N, ...) tensor, got {tuple(data.shape)}"
        )
    if not torch.isfinite(data).all():
        raise ConfigError("training data contain NaN or inf")
    if labels is not None and tuple(labels.shape) != (data.shape[0],):
        raise ConfigError(f"labels must have shape ({data.shape[0]},), got {tuple(labels.shape)}")
    _check_prediction(prediction)
    batches = math.ceil(data.shape[0] / batch_size)
    total_steps = _total_steps(epochs, iterations, batches)
    if lr_schedule not in ("constant", "onecycle"):
        raise ConfigError(f"lr_schedule must be constant or onecycle, got {lr_schedule!r}")
    if not 0.0 <= ema < 1.0:
        raise ConfigError(f"ema must lie in [0, 1), got {ema}")
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate)
    scheduler = _lr_scheduler(optimizer, lr_schedule, learning_rate, total_steps)
    average = _Average(network, ema)
    rows = []
    done = 0
    for epoch in range(math.ceil(total_steps / batches)):
        started = time.perf_counter()
        order = torch.randperm(data.shape[0], generator=generator)
        total, seen = 0.0, 0
        for start in range(0, data.shape[0], batch_size):
            if done == total_steps:
                break
            done += 1
            index = order[start : start + batch_size]
            batch = data[index]
            steps = torch.randint(1, diffusion.steps + 1, (batch.shape[0],), generator=generator)
            noise = torch.randn(batch.shape, generator=generator, dtype=batch.dtype)
            target = diffusion.target(prediction, batch, steps, noise)
            noised = diffusion.noised(batch, steps, noise)
            output = (
                network(noised, steps) if labels is None else network(noised, steps, labels[index])
            )
            loss = torch.mean((output - target) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            average.update(network)
            total += float(loss.detach()) * batch.shape[0]
            seen += batch.shape[0]
        row = {"epoch": float(epoch + 1), "train_loss": total / seen,
               "seconds": time.perf_counter() - started}  # fmt: skip
        rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
    average.copy_to(network)
    return pd.DataFrame(rows, columns=["epoch", "train_loss", "seconds"])


def _total_steps(epochs: int | None, iterations: int | None, batches: int) -> int:
    if (epochs is None) == (iterations is None):
        raise ConfigError("give the training length as epochs or as iterations (one of them)")
    value = epochs if epochs is not None else iterations
    name = "epochs" if epochs is not None else "iterations"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value * batches if epochs is not None else value


def _lr_scheduler(
    optimizer: torch.optim.Optimizer, kind: str, learning_rate: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    if kind == "constant" or total_steps < 3:  # too short for a warm-up and a decay
        return None
    warmup = min(max(0.05, 2.0 / total_steps), 0.5)  # at least two warm-up steps
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=learning_rate, total_steps=total_steps, pct_start=warmup
    )


class _Average:
    """Exponential moving average of a network's parameters (no-op for ``decay = 0``)."""

    def __init__(self, network: torch.nn.Module, decay: float) -> None:
        self.decay, self.updates = decay, 0
        self.shadow = [p.detach().clone() for p in network.parameters()] if decay else []

    @torch.no_grad()
    def update(self, network: torch.nn.Module) -> None:
        if not self.decay:
            return
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for shadow, parameter in zip(self.shadow, network.parameters(), strict=True):
            shadow.lerp_(parameter.detach(), 1.0 - decay)

    @torch.no_grad()
    def copy_to(self, network: torch.nn.Module) -> None:
        if not self.decay:
            return
        for shadow, parameter in zip(self.shadow, network.parameters(), strict=True):
            parameter.copy_(shadow)


@torch.no_grad()
def sample(
    network: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    diffusion: GaussianDiffusion,
    count: int,
    dim: int,
    *,
    seed: int,
    method: str = "ddpm",
    steps: int | None = None,
    eta: float = 0.0,
    clip: float | None = None,
    prediction: str = "eps",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``count`` samples ``(count, dim)`` from ``N(0, I)`` through the reverse process.

    Args:
        network: the noise predictor ``(x_t, t) -> eps``.
        diffusion: the forward process it was trained with.
        count: samples to draw.
        dim: dimension of a sample.
        seed: seed of the prior and of every noise draw.
        method: ``ddpm`` (all T ancestral steps) or ``ddim`` (``steps`` evenly spaced steps).
        steps: DDIM steps (default T).
        eta: DDIM stochasticity (0 deterministic).
        clip: clip the predicted ``x_0`` to ``[-clip, clip]`` at every step (data in a box).
        prediction: what the network predicts, ``eps``, ``x0`` or ``v`` (as it was trained).
        dtype: float dtype of the samples.
    """
    if method not in ("ddpm", "ddim"):
        raise ConfigError(f"method must be ddpm or ddim, got {method!r}")
    _check_prediction(prediction)

    def noise_of(x: torch.Tensor, t: int) -> torch.Tensor:
        output = network(x, torch.full((count,), t, dtype=torch.int64))
        return diffusion.eps_from_prediction(prediction, x, t, output)

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((count, dim), generator=generator, dtype=dtype)
    total = diffusion.steps
    if method == "ddpm":
        for t in range(total, 0, -1):
            eps = noise_of(x, t)
            x = diffusion.ddpm_step(x, t, eps, generator, clip=clip)
        return x
    count_steps = total if steps is None else steps
    if not 1 <= count_steps <= total:
        raise ConfigError(f"DDIM steps must lie in [1, {total}], got {count_steps}")
    grid = np.unique(np.round(np.linspace(0, total, count_steps + 1)).astype(int))
    for t, s in zip(grid[::-1][:-1], grid[::-1][1:], strict=True):
        eps = noise_of(x, int(t))
        x = diffusion.ddim_step(x, int(t), int(s), eps, generator, eta=eta, clip=clip)
    return x


def _check_prediction(prediction: str) -> None:
    if prediction not in PREDICTIONS:
        raise ConfigError(f"prediction must be eps, x0 or v, got {prediction!r}")
