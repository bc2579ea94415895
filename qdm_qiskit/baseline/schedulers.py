"""DDPM and DDIM sampling through diffusers' schedulers, on the project's noise schedule.

The U-Net reference samples with ``DDPMScheduler`` (ancestral, ``beta~_t`` variance, Ho et al.)
and ``DDIMScheduler`` (deterministic for ``eta = 0``, Song et al.), built from the same
:class:`~qdm_qiskit.diffusion.NoiseSchedule` betas the project's own
:class:`~qdm_qiskit.baseline.GaussianDiffusion` uses, so the two implementations can be checked
against each other step by step (tests).

Step conventions: diffusers counts timesteps ``0..T-1``, this project ``1..T`` (``abar_0 = 1``
is the clean data). A scheduler timestep ``s`` is the project's step ``s + 1``; networks are
always called with the project's step. DDIM uses diffusers' ``trailing`` spacing, which for ``T``
divisible by the number of steps visits exactly the project's grid ``T, T - T/k, ..., 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError

Network = Callable[..., torch.Tensor]


def diffusers_scheduler(
    schedule: NoiseSchedule, method: str, *, clip: float | None = None, prediction: str = "eps"
) -> Any:
    """A diffusers ``DDPMScheduler`` or ``DDIMScheduler`` (``method``) with ``schedule``'s betas.

    Args:
        schedule: the forward process's betas.
        method: ``ddpm`` or ``ddim``.
        clip: clip the predicted ``x_0`` to ``[-clip, clip]`` at every step (data in a box).
        prediction: what the network predicts, ``eps``, ``x0`` or ``v``.
    """
    from diffusers import DDIMScheduler, DDPMScheduler  # seconds to import: only when sampling

    if method not in ("ddpm", "ddim"):
        raise ConfigError(f"method must be ddpm or ddim, got {method!r}")
    kinds = {"eps": "epsilon", "x0": "sample", "v": "v_prediction"}
    if prediction not in kinds:
        raise ConfigError(f"prediction must be eps, x0 or v, got {prediction!r}")
    common: dict[str, Any] = {
        "num_train_timesteps": schedule.steps,
        "trained_betas": schedule.betas.tolist(),
        "clip_sample": clip is not None,
        "clip_sample_range": 1.0 if clip is None else float(clip),
        "prediction_type": kinds[prediction],
    }
    if method == "ddpm":
        return DDPMScheduler(**common, variance_type="fixed_small")
    return DDIMScheduler(**common, set_alpha_to_one=True, timestep_spacing="trailing")


@torch.no_grad()
def sample_with_scheduler(
    network: Network,
    scheduler: Any,
    shape: tuple[int, ...],
    *,
    seed: int,
    steps: int | None = None,
    labels: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    batch_size: int = 1000,
) -> torch.Tensor:
    """Samples of ``shape`` (``(count, ...)``) from ``N(0, I)`` through ``scheduler``.

    Args:
        network: ``network(x_t, t[, labels])`` with ``t`` the project's step ``1..T``.
        scheduler: from :func:`diffusers_scheduler`.
        shape: ``(count, ...)``.
        seed: seed of the prior and of every noise draw.
        steps: inference steps (default: all ``T``); DDIM visits ``steps`` evenly spaced ones.
        labels: class labels ``(count,)`` for a class-conditioned network.
        dtype: float dtype of the samples.
        batch_size: samples per network call (memory); the result does not depend on it.
    """
    total = scheduler.config.num_train_timesteps
    count_steps = total if steps is None else steps
    if isinstance(count_steps, bool) or not isinstance(count_steps, int):
        raise ConfigError(f"sampling steps must be an integer, got {count_steps!r}")
    if not 1 <= count_steps <= total:
        raise ConfigError(f"sampling steps must lie in [1, {total}], got {count_steps}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator, dtype=dtype)
    scheduler.set_timesteps(count_steps)
    for timestep in scheduler.timesteps:
        step = torch.full((shape[0],), int(timestep) + 1, dtype=torch.int64)
        output = _batched(network, x, step, labels, batch_size)
        x = scheduler.step(output, timestep, x, generator=generator).prev_sample
    return x


def _batched(
    network: Network,
    x: torch.Tensor,
    step: torch.Tensor,
    labels: torch.Tensor | None,
    batch_size: int,
) -> torch.Tensor:
    parts = []
    for start in range(0, x.shape[0], batch_size):
        part = slice(start, start + batch_size)
        args = (x[part], step[part]) if labels is None else (x[part], step[part], labels[part])
        parts.append(network(*args))
    return torch.cat(parts)
