"""Growth-rate fits: ``y ~ a b^n`` (exponential) or ``y ~ a n^k`` (power law).

Least squares on the logarithm, with the fit's R^2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from qdm_qiskit.errors import ConfigError

Model = Literal["exponential", "power"]


@dataclass(frozen=True)
class Growth:
    """A fitted growth law.

    Attributes:
        model: ``exponential`` (``y = a b^n``; ``rate`` is ``b``) or ``power`` (``y = a n^k``;
            ``rate`` is ``k``).
        rate: the base ``b`` or the exponent ``k``.
        prefactor: ``a``.
        r2: coefficient of determination of the log-space fit.
        points: number of points fitted.
    """

    model: Model
    rate: float
    prefactor: float
    r2: float
    points: int

    def law(self, variable: str = "n") -> str:
        """The law as text, e.g. ``2.00^n`` or ``n^1.02``."""
        if self.model == "exponential":
            return f"{self.rate:.3g}^{variable}"
        return f"{variable}^{self.rate:.3g}"


def fit_growth(n: np.ndarray, y: np.ndarray, model: Model) -> Growth:
    """Fit ``y(n)`` over the points with finite, positive ``y``.

    Raises:
        ConfigError: fewer than two usable points, or an unknown model.
    """
    n = np.asarray(n, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(y) & (y > 0) & (n > 0)
    if keep.sum() < 2 or np.unique(n[keep]).size < 2:
        raise ConfigError(f"a growth fit needs two or more distinct n with positive values, got "
                          f"{int(keep.sum())}")  # fmt: skip
    if model == "exponential":
        x = n[keep]
    elif model == "power":
        x = np.log(n[keep])
    else:
        raise ConfigError(f"growth model must be exponential or power, got {model!r}")
    log_y = np.log(y[keep])
    slope, intercept = np.polyfit(x, log_y, 1)
    residual = log_y - (slope * x + intercept)
    total = np.sum((log_y - log_y.mean()) ** 2)
    r2 = 1.0 - float(np.sum(residual**2) / total) if total > 0 else 1.0
    rate = float(np.exp(slope)) if model == "exponential" else float(slope)
    return Growth(model, rate, float(np.exp(intercept)), r2, int(keep.sum()))
