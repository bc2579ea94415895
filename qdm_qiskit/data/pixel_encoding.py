"""Jet images <-> vectors in ``[-1, 1]`` for a Gaussian diffusion, and back.

A normalised jet image has a few bright core pixels and many exactly empty ones (90% at 16x16).
A DDPM's output is continuous, so two choices decide whether decoded samples look like jets:

- the **compression** of the dynamic range: ``sqrt``, ``x = 2 sqrt(p) - 1`` (what the angle
  family diffuses), or ``log``, ``x`` linear in ``log10(p + floor)`` (``floor = 1e-5`` maps
  ``p = 0`` to ``-1`` and ``p = 1`` to about ``+1``), which spreads the soft pixels over the
  range instead of crowding them near ``-1``;
- **zero suppression** at decoding: pixel fractions below ``zero_below`` become exactly 0. Fitted
  on the training split as a low quantile (1%) of its non-empty pixels, it removes the faint haze
  a denoiser leaves in empty pixels without touching what real jets hold. Without it a
  classifier tells generated jets from real ones by that haze alone.

Decoded images are renormalised to sum to 1; one with no pixel left is returned empty (the
evaluation counts it as invalid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from qdm_qiskit.errors import ConfigError

Compression = Literal["sqrt", "log"]


@dataclass(frozen=True)
class PixelEncoding:
    """A fitted image encoding (see the module docstring).

    Attributes:
        kind: ``sqrt`` or ``log``.
        log_floor: the ``floor`` of the ``log`` kind.
        zero_below: decoded pixel fractions below this become 0 (0 disables).
    """

    kind: Compression = "sqrt"
    log_floor: float = 1e-5
    zero_below: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("sqrt", "log"):
            raise ConfigError(f"the pixel encoding must be sqrt or log, got {self.kind!r}")
        for name, value, high in (("log_floor", self.log_floor, 0.1),
                                  ("zero_below", self.zero_below, 1.0)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name} must be a number, got {value!r}")
            if not (math.isfinite(value) and 0 <= value < high):
                raise ConfigError(f"{name} must lie in [0, {high}), got {value!r}")
        if self.kind == "log" and self.log_floor <= 0:
            raise ConfigError("the log encoding needs a positive log_floor")

    @classmethod
    def fit(
        cls, train: np.ndarray, *, kind: Compression = "sqrt", zero_quantile: float = 0.01
    ) -> PixelEncoding:
        """The encoding whose ``zero_below`` is ``zero_quantile`` of the non-empty train pixels."""
        if (
            isinstance(zero_quantile, bool)
            or not isinstance(zero_quantile, (int, float))
            or not 0.0 <= zero_quantile < 0.5
        ):
            raise ConfigError(f"zero_quantile must lie in [0, 0.5), got {zero_quantile!r}")
        pixels = np.asarray(train, dtype=np.float64).ravel()
        lit = pixels[pixels > 0]
        if lit.size == 0:
            raise ConfigError("the training images are all empty")
        zero_below = float(np.quantile(lit, zero_quantile)) if zero_quantile > 0 else 0.0
        # A training set of one-pixel jets would put the threshold at 1: suppress nothing then.
        return cls(kind=kind, zero_below=zero_below if zero_below < 0.5 else 0.0)

    @property
    def _decades(self) -> float:
        return -math.log10(self.log_floor)

    @property
    def _span(self) -> float:
        """``log10(p + floor)`` runs over ``[-decades, log10(1 + floor)]`` for ``p`` in [0, 1]."""
        return math.log10(1.0 + self.log_floor) + self._decades

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Values in ``[-1, 1]`` of images whose pixels are fractions in ``[0, 1]``."""
        p = np.clip(np.asarray(images, dtype=np.float64), 0.0, 1.0)
        if self.kind == "sqrt":
            return 2.0 * np.sqrt(p) - 1.0
        return 2.0 * (np.log10(p + self.log_floor) + self._decades) / self._span - 1.0

    def decode(self, values: np.ndarray) -> np.ndarray:
        """Images ``(N, npix, npix)`` summing to 1 (or empty) from diffused values."""
        x = np.clip(np.asarray(values, dtype=np.float64), -1.0, 1.0)
        if self.kind == "sqrt":
            p = ((x + 1.0) / 2.0) ** 2
        else:
            p = np.clip(10.0 ** ((x + 1.0) / 2.0 * self._span - self._decades)
                        - self.log_floor, 0.0, None)  # fmt: skip
        p = np.where(p < self.zero_below, 0.0, p)
        totals = p.sum(axis=tuple(range(1, p.ndim)), keepdims=True)
        return np.divide(p, totals, out=np.zeros_like(p), where=totals > 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (stored with every reference)."""
        return {"kind": self.kind, "log_floor": self.log_floor, "zero_below": self.zero_below}
