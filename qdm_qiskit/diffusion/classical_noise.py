"""Gaussian forward noise on amplitude vectors, before they are encoded into a circuit.

The direct state-denoiser model (Cacioppo et al., arXiv 2311.15444) noises the classical amplitude
vector and then encodes it: ``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps``, followed by
L2 normalisation so that ``x_t`` is a valid state. With ``complex_noise=True``, ``eps`` is complex
Gaussian ``(a + i b)/sqrt(2)`` with unit total variance (Cacioppo et al. report that complex noise
trains better, because the PQC makes amplitudes complex anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdm_qiskit.errors import ConfigError


@dataclass(frozen=True, eq=False)
class NoisedAmplitudes:
    """Result of :func:`gaussian_noised_amplitudes`.

    Attributes:
        states: the L2-normalised noisy vectors ``x_t / |x_t|``, shape ``(..., d)``.
        noise: the drawn ``eps`` (for noise-prediction losses), same shape.
        norms: ``|x_t|`` before normalisation, shape ``(...)``.
    """

    states: np.ndarray
    noise: np.ndarray
    norms: np.ndarray


def gaussian_noised_amplitudes(
    x0: np.ndarray,
    *,
    alpha_bar: float | np.ndarray,
    seed: int | np.random.Generator,
    complex_noise: bool = False,
) -> NoisedAmplitudes:
    """Noise amplitude vectors in closed form and renormalise them.

    Args:
        x0: clean amplitude vectors, shape ``(..., d)`` (real or complex).
        alpha_bar: cumulative signal fraction, a scalar or one per vector (shape ``(...)``).
        seed: seed or generator of the noise.
        complex_noise: draw complex Gaussian noise of unit total variance.
    """
    x0 = np.asarray(x0)
    alpha = np.asarray(alpha_bar, dtype=np.float64)
    if not np.all(np.isfinite(alpha)) or np.any((alpha < 0) | (alpha > 1)):
        raise ConfigError("alpha_bar must lie in [0, 1]")
    rng = np.random.default_rng(seed)
    if complex_noise:
        noise = (rng.standard_normal(x0.shape) + 1j * rng.standard_normal(x0.shape)) / np.sqrt(2)
    else:
        noise = rng.standard_normal(x0.shape)
    alpha = alpha[..., None] if alpha.ndim else alpha
    noisy = np.sqrt(alpha) * x0 + np.sqrt(1.0 - alpha) * noise
    norms = np.linalg.norm(noisy, axis=-1)
    if np.any(norms == 0):
        raise ConfigError("a noised vector has zero norm and cannot be encoded as a state")
    return NoisedAmplitudes(noisy / norms[..., None], noise, norms)
