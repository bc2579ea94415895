"""Training (epsilon-prediction MSE) and sampling (DDPM, DDIM) of the classical reference."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch

from qdm_qiskit.baseline.process import GaussianDiffusion
from qdm_qiskit.errors import ConfigError


def train_ddpm(
    network: torch.nn.Module,
    diffusion: GaussianDiffusion,
    data: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
    prediction: str = "eps",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> pd.DataFrame:
    """Train ``network``; one history row per epoch.

    The target is the noise (``prediction="eps"``, Ho et al.'s simplified loss) or the clean
    sample (``"x0"``).

    Deterministic for a seed: batch order, steps and noise come from one CPU generator.
    """
    if data.dim() != 2 or data.shape[0] == 0:
        raise ConfigError(
            f"training data must be a non-empty (N, D) tensor, got {tuple(data.shape)}"
        )
    if not torch.isfinite(data).all():
        raise ConfigError("training data contain NaN or inf")
    _check_prediction(prediction)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate)
    rows = []
    for epoch in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(data.shape[0], generator=generator)
        total = 0.0
        for start in range(0, data.shape[0], batch_size):
            batch = data[order[start : start + batch_size]]
            steps = torch.randint(1, diffusion.steps + 1, (batch.shape[0],), generator=generator)
            noise = torch.randn(batch.shape, generator=generator, dtype=batch.dtype)
            target = noise if prediction == "eps" else batch
            output = network(diffusion.noised(batch, steps, noise), steps)
            loss = torch.mean((output - target) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * batch.shape[0]
        row = {"epoch": float(epoch + 1), "train_loss": total / data.shape[0],
               "seconds": time.perf_counter() - started}  # fmt: skip
        rows.append(row)
        if on_epoch is not None:
            on_epoch(row)
    return pd.DataFrame(rows, columns=["epoch", "train_loss", "seconds"])


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
        prediction: what the network predicts, ``eps`` or ``x0`` (as it was trained).
        dtype: float dtype of the samples.
    """
    if method not in ("ddpm", "ddim"):
        raise ConfigError(f"method must be ddpm or ddim, got {method!r}")
    _check_prediction(prediction)

    def noise_of(x: torch.Tensor, t: int) -> torch.Tensor:
        output = network(x, torch.full((count,), t, dtype=torch.int64))
        return output if prediction == "eps" else diffusion.eps_from_x0(x, t, output)

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
    if prediction not in ("eps", "x0"):
        raise ConfigError(f"prediction must be eps or x0, got {prediction!r}")
