"""Noise schedules shared by the quantum and the classical diffusion processes (numpy only).

A schedule gives the per-step noise probability ``p_t`` (``beta_t`` of a DDPM) for ``t = 1..T``
and the cumulative signal fraction ``alpha_bar_t = prod_{s <= t} (1 - p_s)``. The same object
drives the depolarizing channel (``rho_t = alpha_bar_t rho_0 + (1 - alpha_bar_t) I/d``),
amplitude damping, scrambling strengths and Gaussian noise on amplitudes, and the classical DDPM
baseline, so that quantum and classical models are compared under one schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from qdm_qiskit.errors import ConfigError

ScheduleKind = Literal["linear", "cosine", "custom"]


@dataclass(frozen=True)
class NoiseSchedule:
    """Per-step noise probabilities ``p_1..p_T`` and their cumulative ``alpha_bar``.

    Attributes:
        kind: ``"linear"`` (``p_t`` from ``start`` to ``end``), ``"cosine"`` (Nichol & Dhariwal
            2021: ``alpha_bar(t) = cos^2(((t/T + s)/(1 + s)) pi/2) / alpha_bar(0)``, with ``p_t``
            clipped to ``max_probability``) or ``"custom"`` (``probabilities`` as given).
            Default ``"linear"``.
        steps: number of diffusion steps T. Default 10.
        start: ``p_1`` of the linear schedule. Default 1e-4.
        end: ``p_T`` of the linear schedule. Default 0.02.
        cosine_offset: the offset ``s`` of the cosine schedule. Default 0.008.
        max_probability: upper clip of ``p_t`` for the cosine schedule. Default 0.999.
        probabilities: ``p_1..p_T`` of a custom schedule. Default none.
    """

    kind: ScheduleKind = "linear"
    steps: int = 10
    start: float = 1e-4
    end: float = 0.02
    cosine_offset: float = 0.008
    max_probability: float = 0.999
    probabilities: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "cosine", "custom"):
            raise ConfigError(f"schedule kind must be linear, cosine or custom, got {self.kind!r}")
        if self.kind == "custom":
            object.__setattr__(self, "steps", len(self.probabilities))
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"schedule steps must be a positive integer, got {self.steps!r}")
        for name in ("start", "end", "max_probability"):
            _check_probability(name, getattr(self, name))
        for value in self.probabilities:
            _check_probability("probabilities", value)
        offset = self.cosine_offset
        if not (isinstance(offset, (int, float)) and math.isfinite(offset) and offset > 0):
            raise ConfigError(f"cosine_offset must be positive, got {self.cosine_offset!r}")
        if self.kind != "custom" and self.probabilities:
            raise ConfigError("probabilities are only used by a custom schedule")

    @property
    def betas(self) -> np.ndarray:
        """Per-step probabilities ``p_t`` for ``t = 1..T``, shape ``(T,)``."""
        if self.kind == "custom":
            return np.asarray(self.probabilities, dtype=np.float64)
        if self.kind == "linear":
            return np.linspace(self.start, self.end, self.steps)
        t = np.arange(self.steps + 1) / self.steps
        s = self.cosine_offset
        f = np.cos((t + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bar = f / f[0]
        return np.clip(1 - alpha_bar[1:] / alpha_bar[:-1], 0.0, self.max_probability)

    @property
    def alpha_bars(self) -> np.ndarray:
        """Cumulative ``alpha_bar_t = prod_{s <= t} (1 - p_s)`` for ``t = 0..T``, shape ``(T+1,)``.

        ``alpha_bars[0] == 1``: step 0 is the clean data.
        """
        return np.concatenate([[1.0], np.cumprod(1.0 - self.betas)])

    def alpha_bar(self, step: int) -> float:
        """``alpha_bar_t`` of one step ``0 <= t <= T``."""
        self.check_step(step)
        return float(self.alpha_bars[step])

    def check_step(self, step: int) -> None:
        """Raise :class:`ConfigError` unless ``0 <= step <= T``."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise ConfigError(f"diffusion step must be an integer, got {step!r}")
        if not 0 <= step <= self.steps:
            raise ConfigError(f"diffusion step must lie in [0, {self.steps}], got {step}")


def _check_probability(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ConfigError(f"schedule {name} must lie in [0, 1], got {value!r}")
