"""Distances between generated and real samples (numpy/scipy only).

Each function compares two samples and returns one number; :mod:`qdm_qiskit.results.evaluation`
adds the real-vs-real floor, the sample sizes and bootstrap uncertainties. Conventions follow the
HEP generative-model literature (JetNet: W1 of observables, FPD, KPD; a classifier two-sample
test) and the seed documents (SSIM of the seed notebook, the Wootters distance of the reservoir
talk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize
from scipy.ndimage import uniform_filter


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance between two 1-D empirical distributions.

    ``W1 = integral |F_a(x) - F_b(x)| dx`` over the merged support (equal to scipy's
    ``wasserstein_distance`` with unit weights).
    """
    a, b = _finite_1d(a), _finite_1d(b)
    points = np.sort(np.concatenate([a, b]))
    widths = np.diff(points)
    cdf_a = np.searchsorted(np.sort(a), points[:-1], side="right") / a.size
    cdf_b = np.searchsorted(np.sort(b), points[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two samples of feature vectors ``(N, d)``.

    ``|mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))`` (FID/FPD). The matrix square root is
    taken as ``(S_a^(1/2) S_b S_a^(1/2))^(1/2)``, which is symmetric and has the same trace, so
    the result is real and non-negative up to rounding.
    """
    a, b = _features(a), _features(b)
    mean = a.mean(axis=0) - b.mean(axis=0)
    cov_a, cov_b = _covariance(a), _covariance(b)
    root_a = _psd_sqrt(cov_a)
    cross = _psd_sqrt(root_a @ cov_b @ root_a)
    value = mean @ mean + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(cross)
    return float(max(value, 0.0))


def frechet_distance_extrapolated(
    a: np.ndarray,
    b: np.ndarray,
    *,
    seed: int = 0,
    points: int = 10,
    batches: int = 20,
    smallest: float = 0.4,
) -> float:
    """The Frechet distance extrapolated to infinite samples, as JetNet's FPD.

    The sample estimate is biased upwards by about ``c / N``. Following JetNet
    (Kansal et al., PRD 107 (2023) 076017, after Chong & Forsyth's FID-infinity), the distance is
    measured on ``batches`` random subsets of each of ``points`` batch sizes evenly spaced in
    ``1/N`` from ``smallest * N_max`` to ``N_max = min(len(a), len(b))``, and the straight line in
    ``1/N`` through their means is read at ``1/N = 0`` (clipped at 0). Subsets are drawn without
    replacement: JetNet draws with replacement from samples much larger than its batches, which
    at the sample sizes used here would extrapolate to the full samples' own biased distance.
    """
    a, b = _features(a), _features(b)
    largest = min(len(a), len(b))
    low = max(int(smallest * largest), 2)
    sizes = np.unique((1.0 / np.linspace(1.0 / low, 1.0 / largest, points)).astype(int))
    rng = np.random.default_rng(seed)

    def draw(x: np.ndarray, n: int) -> np.ndarray:
        return x[rng.permutation(len(x))[:n]]

    means = [np.mean([frechet_distance(draw(a, n), draw(b, n)) for _ in range(batches)])
             for n in sizes]  # fmt: skip
    if len(sizes) < 2:
        return float(means[0])
    _, intercept = np.polyfit(1.0 / sizes, means, 1)
    return float(max(intercept, 0.0))


def kernel_mmd(
    a: np.ndarray,
    b: np.ndarray,
    *,
    kernel: str = "polynomial",
    degree: int = 4,
    bandwidth: float | None = None,
) -> float:
    """Unbiased squared maximum mean discrepancy between samples ``(N, d)`` and ``(M, d)``.

    Args:
        a: the first sample.
        b: the second sample (the reference: it sets the default RBF bandwidth).
        kernel: ``polynomial``, ``k(x, y) = (x.y / d + 1)^degree`` (KPD, as in JetNet), or
            ``rbf``, ``k(x, y) = exp(-|x - y|^2 / (2 bandwidth^2))``.
        degree: polynomial degree.
        bandwidth: RBF length scale (default: the median pairwise distance in ``b``).

    The unbiased estimator can be slightly negative when the samples match.
    """
    a, b = _features(a), _features(b)
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError("kernel MMD needs at least two points per sample")
    if kernel == "polynomial":
        dim = a.shape[1]

        def gram(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return (x @ y.T / dim + 1.0) ** degree

    elif kernel == "rbf":
        scale = median_distance(b) if bandwidth is None else float(bandwidth)
        if not scale > 0:
            raise ValueError("the RBF bandwidth must be positive")

        def gram(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return np.exp(-_squared_distances(x, y) / (2.0 * scale**2))

    else:
        raise ValueError(f"kernel must be polynomial or rbf, got {kernel!r}")
    k_aa, k_bb, k_ab = gram(a, a), gram(b, b), gram(a, b)
    n, m = a.shape[0], b.shape[0]
    within_a = (k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())


def median_distance(x: np.ndarray) -> float:
    """Median Euclidean distance between distinct points (the RBF median heuristic)."""
    x = _features(x)
    distances = np.sqrt(_squared_distances(x, x)[np.triu_indices(x.shape[0], k=1)])
    return float(np.median(distances))


@dataclass(frozen=True, eq=False)
class QuadraticLogistic:
    """Logistic regression on standardised features and their squares, with an L2 penalty.

    Small and deterministic (L-BFGS from zero weights): the quark/gluon tagger of the
    evaluation.
    """

    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, *, penalty: float = 1e-2) -> QuadraticLogistic:
        """Fit to features ``(N, d)`` and boolean targets ``(N,)``."""
        x = _features(x)
        y = np.asarray(y, dtype=np.float64)
        mean, std = x.mean(axis=0), x.std(axis=0)
        model = cls(mean, np.where(std > 0, std, 1.0), np.zeros(2 * x.shape[1] + 1))
        design = model.design(x)

        def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = design @ w
            loss = np.logaddexp(0.0, z) - y * z
            grad = design.T @ (0.5 * (1.0 + np.tanh(0.5 * z)) - y) / len(y) + penalty * w
            return float(loss.mean() + 0.5 * penalty * w @ w), grad

        fitted = optimize.minimize(objective, model.weights, jac=True, method="L-BFGS-B").x
        return cls(model.mean, model.std, fitted)

    def design(self, x: np.ndarray) -> np.ndarray:
        """``[z, z^2 - 1, 1]`` with ``z`` the standardised features."""
        z = (np.asarray(x, dtype=np.float64) - self.mean) / self.std
        return np.concatenate([z, z**2 - 1.0, np.ones((len(z), 1))], axis=1)

    def score(self, x: np.ndarray) -> np.ndarray:
        """Log-odds of the positive class."""
        return self.design(x) @ self.weights


def ssim(a: np.ndarray, b: np.ndarray, *, win_size: int = 3, data_range: float = 1.0) -> float:
    """Structural similarity of two 2-D images, as ``skimage.metrics.structural_similarity``.

    Uniform ``win_size`` window with reflected borders, sample covariances, ``K1 = 0.01``,
    ``K2 = 0.03``, averaged over the pixels whose window lies inside the image (the seed
    notebook used ``win_size=3, data_range=1.0``).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"SSIM needs two 2-D images of one shape, got {a.shape} and {b.shape}")
    if win_size % 2 == 0 or win_size > min(a.shape):
        raise ValueError(f"win_size must be odd and at most {min(a.shape)}, got {win_size}")
    points = win_size**2
    norm = points / (points - 1.0)
    mean_a, mean_b = uniform_filter(a, win_size), uniform_filter(b, win_size)
    var_a = norm * (uniform_filter(a * a, win_size) - mean_a**2)
    var_b = norm * (uniform_filter(b * b, win_size) - mean_b**2)
    cov = norm * (uniform_filter(a * b, win_size) - mean_a * mean_b)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    index = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    pad = (win_size - 1) // 2
    return float(index[pad : a.shape[0] - pad, pad : a.shape[1] - pad].mean())


def mean_squared_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two arrays of one shape."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    return float(np.mean((a - b) ** 2))


def wootters_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Statistical (Wootters) distance ``arccos sum_i sqrt(p_i q_i)`` of two distributions.

    Inputs are non-negative weights, normalised here; the distance lies in ``[0, pi/2]``.
    """
    p, q = _distribution(p), _distribution(q)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {p.shape} and {q.shape}")
    return float(wootters_rows(p[None], q[None])[0])


def wootters_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise Wootters distances of ``(K, d)`` non-negative weights (each row normalised).

    Computed as ``2 arcsin(||sqrt p - sqrt q|| / 2)``, equal to ``arccos sum sqrt(p q)`` but
    without its cancellation near zero: ``arccos`` of a coefficient rounded to ``1 - 1e-16``
    would report ``1.4e-8`` for identical distributions.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    roots = np.sqrt(p / p.sum(axis=-1, keepdims=True)) - np.sqrt(q / q.sum(axis=-1, keepdims=True))
    return 2.0 * np.arcsin(np.clip(np.linalg.norm(roots, axis=-1) / 2.0, 0.0, 1.0))


def binned_wootters(a: np.ndarray, b: np.ndarray, *, bins: int = 20) -> float:
    """Wootters distance between histograms of two 1-D samples on shared bins."""
    a, b = _finite_1d(a), _finite_1d(b)
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
    return wootters_distance(np.histogram(a, edges)[0], np.histogram(b, edges)[0])


def state_fidelity(a: np.ndarray, b: np.ndarray) -> float:
    """Uhlmann fidelity ``(Tr sqrt(sqrt(rho) sigma sqrt(rho)))^2`` of two states.

    Each state is a state vector ``(d,)`` or a density matrix ``(d, d)``; for two pure states
    this is ``|<a|b>|^2``.
    """
    a, b = np.asarray(a, dtype=np.complex128), np.asarray(b, dtype=np.complex128)
    if a.ndim == 1 and b.ndim == 1:
        return float(abs(np.vdot(a, b)) ** 2 / (np.vdot(a, a).real * np.vdot(b, b).real))
    if a.ndim == 1 or b.ndim == 1:  # <psi| sigma |psi>, exact for a pure state
        vector, matrix = (a, _density(b)) if a.ndim == 1 else (b, _density(a))
        vector = vector / np.linalg.norm(vector)
        return float(min(max(np.vdot(vector, matrix @ vector).real, 0.0), 1.0))
    # F = ||sqrt(rho) sqrt(sigma)||_1^2: singular values stay accurate for low-rank states
    singular = np.linalg.svd(_psd_sqrt(_density(a)) @ _psd_sqrt(_density(b)), compute_uv=False)
    return float(min(np.sum(singular) ** 2, 1.0))


def trace_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``(1/2) || rho - sigma ||_1`` of two states (vectors or density matrices)."""
    difference = _density(np.asarray(a, dtype=np.complex128)) - _density(
        np.asarray(b, dtype=np.complex128)
    )
    return float(0.5 * np.abs(np.linalg.eigvalsh(difference)).sum())


def _density(state: np.ndarray) -> np.ndarray:
    if state.ndim == 1:
        state = state / np.linalg.norm(state)
        return np.outer(state, state.conj())
    if state.ndim != 2 or state.shape[0] != state.shape[1]:
        raise ValueError(f"a state must be a vector or a square matrix, got {state.shape}")
    return state / np.trace(state).real


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a Hermitian positive semi-definite matrix (negative rounding clipped)."""
    matrix = 0.5 * (matrix + matrix.conj().T)
    values, vectors = linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.conj().T


def _covariance(x: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.cov(x, rowvar=False))


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    squared = (x**2).sum(axis=1)[:, None] + (y**2).sum(axis=1)[None, :] - 2.0 * x @ y.T
    return np.clip(squared, 0.0, None)


def _features(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"expected at least two feature vectors (N, d), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or inf")
    return x


def _finite_1d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError("a 1-D sample must be non-empty and finite")
    return x


def _distribution(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64).ravel()
    if (p < 0).any() or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError("a distribution needs finite, non-negative weights with a positive sum")
    return p / p.sum()
