"""Sample distances of :mod:`qdm_qiskit.results.metrics`, checked against independent computations.

References are scipy/qiskit functions, brute-force loops written here, or closed forms for
Gaussian samples; no expected value is copied from the code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from qiskit.quantum_info import (
    DensityMatrix,
    Statevector,
    random_density_matrix,
    random_statevector,
)
from qiskit.quantum_info import state_fidelity as qiskit_fidelity
from scipy import linalg, stats
from scipy.spatial.distance import cdist, pdist

from qdm_qiskit.data.images import radial_profile
from qdm_qiskit.errors import DataError
from qdm_qiskit.results.metrics import (
    QuadraticLogistic,
    binned_wootters,
    frechet_distance,
    frechet_distance_extrapolated,
    kernel_mmd,
    mean_squared_error,
    median_distance,
    ssim,
    state_fidelity,
    trace_distance,
    wasserstein_1d,
    wootters_distance,
)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- wasserstein_1d


@pytest.mark.parametrize(("n", "m", "seed"), [(1, 1, 0), (5, 9, 1), (200, 37, 2), (64, 1000, 3)])
def test_wasserstein_matches_scipy_continuous(n: int, m: int, seed: int) -> None:
    rng = _rng(seed)
    a, b = rng.normal(size=n), rng.standard_t(3, size=m) + 0.3
    assert wasserstein_1d(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_wasserstein_matches_scipy_with_ties(seed: int) -> None:
    rng = _rng(seed)
    a = rng.integers(0, 5, size=40).astype(float)
    b = rng.integers(1, 7, size=23).astype(float)
    expected = stats.wasserstein_distance(a, b)
    assert wasserstein_1d(a, b) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # Ties shared between the samples, and exact duplicates of one sample.
    assert wasserstein_1d(a, a) == 0.0
    assert wasserstein_1d(a, np.concatenate([a, a])) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("shift", [0.0, 0.25, 1.0, -3.5])
def test_wasserstein_of_a_shift_is_the_shift(shift: float) -> None:
    a = _rng(5).normal(size=300)
    assert wasserstein_1d(a, a + shift) == pytest.approx(abs(shift), abs=1e-12)
    assert wasserstein_1d(a + shift, a) == pytest.approx(abs(shift), abs=1e-12)


def test_wasserstein_is_symmetric_and_flattens() -> None:
    rng = _rng(6)
    a, b = rng.normal(size=(10, 3)), rng.exponential(size=(7, 2))
    expected = stats.wasserstein_distance(a.ravel(), b.ravel())
    assert wasserstein_1d(a, b) == pytest.approx(expected, rel=1e-12)
    assert wasserstein_1d(b, a) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([], [1.0, 2.0]),
        ([1.0, 2.0], []),
        ([1.0, np.nan], [1.0]),
        ([1.0], [np.inf, 2.0]),
    ],
)
def test_wasserstein_rejects_empty_or_non_finite(a: list, b: list) -> None:
    with pytest.raises(ValueError):
        wasserstein_1d(np.array(a), np.array(b))


# --------------------------------------------------------------------------- frechet_distance


def _frechet_brute(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float).reshape(len(a), -1), np.asarray(b, float).reshape(len(b), -1)
    s1 = np.atleast_2d(np.cov(a, rowvar=False, ddof=1))
    s2 = np.atleast_2d(np.cov(b, rowvar=False, ddof=1))
    diff = a.mean(axis=0) - b.mean(axis=0)
    cross = linalg.sqrtm(s1 @ s2).real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(cross))


@pytest.mark.parametrize(
    ("n", "m", "d", "seed"), [(50, 80, 2, 0), (200, 120, 4, 1), (30, 31, 6, 2)]
)
def test_frechet_matches_sqrtm_formula(n: int, m: int, d: int, seed: int) -> None:
    rng = _rng(seed)
    mix = rng.normal(size=(d, d))
    a = rng.normal(size=(n, d)) @ mix
    b = rng.normal(size=(m, d)) @ (mix + 0.3 * rng.normal(size=(d, d))) + rng.normal(size=d)
    assert frechet_distance(a, b) == pytest.approx(_frechet_brute(a, b), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_frechet_one_dimensional_closed_form(seed: int) -> None:
    rng = _rng(seed)
    a, b = rng.normal(1.0, 2.0, size=57), rng.normal(-0.5, 0.7, size=91)
    s1, s2 = np.sqrt(np.cov(a, ddof=1)), np.sqrt(np.cov(b, ddof=1))
    expected = (a.mean() - b.mean()) ** 2 + (s1 - s2) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(a[:, None], b[:, None]) == pytest.approx(expected, rel=1e-9)


def _with_diagonal_covariance(
    rng: np.random.Generator, n: int, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """A sample whose sample mean is ``mean`` and sample covariance exactly ``diag(std^2)``."""
    d = len(mean)
    raw = rng.normal(size=(n, d))
    raw -= raw.mean(axis=0)
    q, _ = np.linalg.qr(raw)  # orthonormal columns, each orthogonal to the ones vector
    return mean + q * std * np.sqrt(n - 1)


def test_frechet_diagonal_covariance_closed_form() -> None:
    rng = _rng(11)
    m1, m2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 1.0])
    s1, s2 = np.array([1.0, 2.0, 0.5]), np.array([3.0, 0.2, 0.5])
    a = _with_diagonal_covariance(rng, 40, m1, s1)
    b = _with_diagonal_covariance(rng, 65, m2, s2)
    np.testing.assert_allclose(np.cov(a, rowvar=False), np.diag(s1**2), atol=1e-12)
    expected = np.sum((m1 - m2) ** 2) + np.sum((s1 - s2) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_symmetric_non_negative_and_zero_on_identical() -> None:
    rng = _rng(12)
    for d in (1, 3, 8):
        a, b = rng.normal(size=(40, d)), rng.normal(0.1, 1.2, size=(55, d))
        assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)
        assert frechet_distance(a, b) >= 0.0
        assert abs(frechet_distance(a, a)) < 1e-10
    # Rank-deficient covariance (more dimensions than points) still gives a non-negative value.
    a = rng.normal(size=(5, 10))
    assert frechet_distance(a, a) < 1e-10
    assert frechet_distance(a, rng.normal(size=(6, 10))) >= 0.0


def test_frechet_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        frechet_distance(np.array([[1.0, 2.0]]), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        frechet_distance(np.array([[1.0], [np.nan]]), np.zeros((3, 1)))


# --------------------------------------------------------------------------- extrapolated FPD


def test_extrapolated_frechet_is_less_biased_than_plain_for_one_distribution() -> None:
    # Two samples of one 4-d Gaussian: the population distance is 0 and the plain estimate is
    # biased up by ~c/N; extrapolating to infinite N must remove most of that bias.
    plain, extrapolated = [], []
    for seed in range(8):
        rng = _rng(200 + seed)
        a, b = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
        plain.append(frechet_distance(a, b))
        extrapolated.append(frechet_distance_extrapolated(a, b, seed=seed))
    assert np.mean(plain) > 0.05  # the bias to remove is there
    assert np.mean(extrapolated) < 0.5 * np.mean(plain)


@pytest.mark.parametrize("shift", [[2.0, 0.0], [1.5, -1.0, 0.5]])
def test_extrapolated_frechet_of_shifted_gaussians_is_the_squared_shift(shift: list) -> None:
    # N(0, I) against N(shift, I): the population Frechet distance is |shift|^2 (equal
    # covariances). Per seed the estimate scatters by ~2 |shift| sqrt(2 / N) (~3% here); the
    # mean of four seeds lies within 6% (3.5 standard errors).
    delta = np.array(shift)
    values = []
    for seed in range(4):
        rng = _rng(300 + seed)
        a = rng.normal(size=(2000, len(delta)))
        b = rng.normal(size=(2000, len(delta))) + delta
        values.append(frechet_distance_extrapolated(a, b, seed=seed))
    exact = float(delta @ delta)
    assert np.mean(values) == pytest.approx(exact, rel=0.06)
    np.testing.assert_allclose(values, exact, rtol=0.15)


def test_extrapolated_frechet_is_deterministic_for_a_seed_and_non_negative() -> None:
    rng = _rng(310)
    a, b = rng.normal(size=(150, 3)), rng.normal(0.2, 1.1, size=(170, 3))
    first = frechet_distance_extrapolated(a, b, seed=7)
    assert first == frechet_distance_extrapolated(a, b, seed=7)
    assert first != frechet_distance_extrapolated(a, b, seed=8)
    assert first >= 0.0
    # the same sample on both sides: clipped at zero, never negative
    for seed in range(3):
        assert 0.0 <= frechet_distance_extrapolated(a, a, seed=seed) < 0.1
    with pytest.raises(ValueError):
        frechet_distance_extrapolated(a, np.full((10, 3), np.nan))


# --------------------------------------------------------------------------- kernel_mmd


def _mmd_brute(a: np.ndarray, b: np.ndarray, kernel) -> float:
    n, m = len(a), len(b)
    within_a = sum(kernel(a[i], a[j]) for i in range(n) for j in range(n) if i != j)
    within_b = sum(kernel(b[i], b[j]) for i in range(m) for j in range(m) if i != j)
    cross = sum(kernel(a[i], b[j]) for i in range(n) for j in range(m))
    return within_a / (n * (n - 1)) + within_b / (m * (m - 1)) - 2.0 * cross / (n * m)


@pytest.mark.parametrize(("n", "m", "d", "h"), [(7, 11, 1, 0.8), (12, 9, 3, 1.7), (5, 5, 4, 0.3)])
def test_rbf_mmd_matches_double_loop(n: int, m: int, d: int, h: float) -> None:
    rng = _rng(n + m + d)
    a, b = rng.normal(size=(n, d)), rng.normal(0.4, 1.3, size=(m, d))

    def rbf(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.exp(-np.sum((x - y) ** 2) / (2 * h * h)))

    assert kernel_mmd(a, b, kernel="rbf", bandwidth=h) == pytest.approx(
        _mmd_brute(a, b, rbf), rel=1e-10, abs=1e-13
    )


def test_rbf_mmd_default_bandwidth_is_median_distance_of_second_sample() -> None:
    rng = _rng(21)
    a, b = rng.normal(size=(9, 2)), rng.normal(1.0, 2.0, size=(13, 2))
    h = float(np.median(pdist(b)))
    assert median_distance(b) == pytest.approx(h, rel=1e-12)

    def rbf(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.exp(-np.sum((x - y) ** 2) / (2 * h * h)))

    assert kernel_mmd(a, b, kernel="rbf") == pytest.approx(_mmd_brute(a, b, rbf), rel=1e-10)


@pytest.mark.parametrize(("degree", "d"), [(1, 1), (1, 3), (2, 2), (4, 3)])
def test_polynomial_mmd_matches_double_loop(degree: int, d: int) -> None:
    rng = _rng(30 + degree + d)
    a, b = rng.normal(size=(8, d)), rng.normal(0.5, 0.8, size=(10, d))

    def poly(x: np.ndarray, y: np.ndarray) -> float:
        return float((np.dot(x, y) / d + 1.0) ** degree)

    assert kernel_mmd(a, b, kernel="polynomial", degree=degree) == pytest.approx(
        _mmd_brute(a, b, poly), rel=1e-9, abs=1e-12
    )


def test_linear_kernel_mmd_is_squared_mean_difference_minus_variance_terms() -> None:
    # Degree 1: k(x, y) = x.y/d + 1, so the unbiased MMD^2 equals
    # (|sum a|^2 - sum |a_i|^2)/(n(n-1)) + (same for b) - 2 mean(a).mean(b), all over d.
    rng = _rng(33)
    a, b = rng.normal(size=(20, 3)), rng.normal(1.0, 1.0, size=(15, 3))
    n, m, d = len(a), len(b), 3

    def within(x: np.ndarray, k: int) -> float:
        s = x.sum(axis=0)
        return (s @ s - np.sum(x * x)) / (k * (k - 1))

    expected = (within(a, n) + within(b, m) - 2.0 * a.mean(axis=0) @ b.mean(axis=0)) / d
    assert kernel_mmd(a, b, kernel="polynomial", degree=1) == pytest.approx(expected, rel=1e-10)


def _gauss_kernel_mean(m1: float, s1: float, m2: float, s2: float, h: float) -> float:
    """E exp(-(x - y)^2 / (2 h^2)) for independent x ~ N(m1, s1^2), y ~ N(m2, s2^2)."""
    v = h * h + s1 * s1 + s2 * s2
    return h / np.sqrt(v) * np.exp(-((m1 - m2) ** 2) / (2 * v))


@pytest.mark.parametrize(
    ("m1", "s1", "m2", "s2", "h", "tol"),
    [
        (0.0, 1.0, 0.5, 1.5, 1.0, 0.025),  # estimator sd ~ 0.005 at n = 3000
        (0.3, 0.5, -0.2, 0.5, 0.7, 0.04),  # sd ~ 0.01
        (0.0, 1.0, 2.0, 1.0, 1.0, 0.06),
        (0.0, 1.0, 0.0, 1.0, 1.0, 0.002),  # sd ~ 3e-4
    ],
)
def test_rbf_mmd_matches_gaussian_closed_form(
    m1: float, s1: float, m2: float, s2: float, h: float, tol: float
) -> None:
    rng = _rng(40)
    a, b = rng.normal(m1, s1, size=3000), rng.normal(m2, s2, size=3000)
    exact = (
        _gauss_kernel_mean(m1, s1, m1, s1, h)
        + _gauss_kernel_mean(m2, s2, m2, s2, h)
        - 2.0 * _gauss_kernel_mean(m1, s1, m2, s2, h)
    )
    assert kernel_mmd(a, b, kernel="rbf", bandwidth=h) == pytest.approx(exact, abs=tol)


@pytest.mark.parametrize("kernel", ["rbf", "polynomial"])
def test_mmd_near_zero_for_identical_distributions(kernel: str) -> None:
    rng = _rng(41)
    a, b = rng.normal(size=(800, 2)), rng.normal(size=(800, 2))
    shifted = rng.normal(1.0, 1.0, size=(800, 2))
    same, different = kernel_mmd(a, b, kernel=kernel), kernel_mmd(a, shifted, kernel=kernel)
    assert abs(same) < 0.02 * different
    # With b = a the estimator is 2 (mean off-diagonal k - mean diagonal k) / n, which is <= 0
    # for a positive definite kernel (k(x, y) <= (k(x, x) + k(y, y)) / 2).
    assert kernel_mmd(a, a, kernel=kernel) <= 1e-12


def test_mmd_rejects_bad_arguments() -> None:
    a = _rng(42).normal(size=(5, 2))
    with pytest.raises(ValueError):
        kernel_mmd(a, a, kernel="laplace")
    with pytest.raises(ValueError):
        kernel_mmd(a, a, kernel="rbf", bandwidth=0.0)
    with pytest.raises(ValueError):
        kernel_mmd(a[:1], a)
    with pytest.raises(ValueError):
        kernel_mmd(a, np.full((3, 2), np.nan))


# --------------------------------------------------------------------------- quark/gluon tagger


def test_quadratic_logistic_design_and_recovery() -> None:
    rng = _rng(80)
    x = rng.normal(2.0, 3.0, size=(4000, 2))
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    logit = 1.5 * z[:, 0] - 1.0 * (z[:, 1] ** 2 - 1.0) + 0.2
    y = rng.random(4000) < 1.0 / (1.0 + np.exp(-logit))
    model = QuadraticLogistic.fit(x, y, penalty=1e-6)
    design = model.design(x)
    np.testing.assert_allclose(design[:, :2], z, atol=1e-12)
    np.testing.assert_allclose(design[:, 2:4], z**2 - 1.0, atol=1e-12)
    np.testing.assert_array_equal(design[:, 4], 1.0)
    np.testing.assert_allclose(model.weights, [1.5, 0.0, 0.0, -1.0, 0.2], atol=0.2)


# --------------------------------------------------------------------------- ssim


def _ssim_brute(a: np.ndarray, b: np.ndarray, win: int, data_range: float) -> float:
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    pad = (win - 1) // 2
    values = []
    for i in range(pad, a.shape[0] - pad):
        for j in range(pad, a.shape[1] - pad):
            x = a[i - pad : i + pad + 1, j - pad : j + pad + 1].ravel()
            y = b[i - pad : i + pad + 1, j - pad : j + pad + 1].ravel()
            mx, my = x.mean(), y.mean()
            vx, vy = x.var(ddof=1), y.var(ddof=1)
            cxy = np.sum((x - mx) * (y - my)) / (x.size - 1)
            values.append(
                (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
            )
    return float(np.mean(values))


@pytest.mark.parametrize(
    ("shape", "win", "data_range"),
    [((8, 8), 3, 1.0), ((8, 8), 5, 1.0), ((6, 9), 3, 1.0), ((6, 9), 5, 2.0), ((4, 4), 3, 0.5)],
)
def test_ssim_matches_per_window_loop(shape: tuple[int, int], win: int, data_range: float) -> None:
    rng = _rng(shape[0] * 10 + win)
    a = rng.random(shape)
    b = np.clip(a + 0.2 * rng.normal(size=shape), 0.0, 1.0)
    expected = _ssim_brute(a, b, win, data_range)
    got = ssim(a, b, win_size=win, data_range=data_range)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ssim(b, a, win_size=win, data_range=data_range) == pytest.approx(got, rel=1e-12)
    unrelated = rng.random(shape)
    assert ssim(a, unrelated, win_size=win, data_range=data_range) == pytest.approx(
        _ssim_brute(a, unrelated, win, data_range), rel=1e-9, abs=1e-12
    )


@pytest.mark.parametrize("shape", [(8, 8), (6, 9), (3, 3)])
def test_ssim_of_an_image_with_itself_is_one(shape: tuple[int, int]) -> None:
    a = _rng(90).random(shape)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(np.zeros(shape), np.zeros(shape)) == pytest.approx(1.0, abs=1e-12)


def test_ssim_rejects_bad_input() -> None:
    a = np.zeros((8, 8))
    with pytest.raises(ValueError):
        ssim(a, np.zeros((8, 7)))
    with pytest.raises(ValueError):
        ssim(a, a, win_size=4)
    with pytest.raises(ValueError):
        ssim(a, a, win_size=9)
    with pytest.raises(ValueError):
        ssim(np.zeros(8), np.zeros(8))


# --------------------------------------------------------------------------- mean_squared_error


def test_mean_squared_error_direct() -> None:
    rng = _rng(95)
    a, b = rng.random((3, 4, 4)), rng.random((3, 4, 4))
    expected = sum((x - y) ** 2 for x, y in zip(a.ravel(), b.ravel(), strict=True)) / a.size
    assert mean_squared_error(a, b) == pytest.approx(expected, rel=1e-12)
    assert mean_squared_error(a, a) == 0.0
    with pytest.raises(ValueError):
        mean_squared_error(a, b[:2])


# --------------------------------------------------------------------------- Wootters


def _wootters_reference(p: np.ndarray, q: np.ndarray) -> float:
    """Angle between the unit vectors sqrt(p)/|sqrt(p)| and sqrt(q)/|sqrt(q)|."""
    u, v = np.sqrt(np.asarray(p, float)), np.sqrt(np.asarray(q, float))
    cos = u @ v / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.arccos(min(cos, 1.0)))


@pytest.mark.parametrize("seed", range(4))
def test_wootters_is_arccos_of_bhattacharyya(seed: int) -> None:
    rng = _rng(seed)
    p, q = rng.random(16), rng.random(16)
    p[rng.integers(16)] = 0.0
    expected = _wootters_reference(p, q)
    assert wootters_distance(p, q) == pytest.approx(expected, rel=1e-10)
    # Normalises its inputs: scaled weights give the same distance.
    assert wootters_distance(7.0 * p, 0.01 * q) == pytest.approx(expected, rel=1e-10)
    assert wootters_distance(p.reshape(4, 4), q.reshape(4, 4)) == pytest.approx(expected, rel=1e-10)
    assert 0.0 <= expected <= np.pi / 2


def test_wootters_limits() -> None:
    p = np.array([0.2, 0.3, 0.5, 0.0])
    assert wootters_distance(p, p) == pytest.approx(0.0, abs=1e-7)
    assert wootters_distance(p, 3 * p) == pytest.approx(0.0, abs=1e-7)
    assert wootters_distance([1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 5.0]) == pytest.approx(np.pi / 2)


@pytest.mark.parametrize(
    ("p", "q"),
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4]),
        ([0.0, 0.0], [0.5, 0.5]),
        ([np.nan, 1.0], [0.5, 0.5]),
        ([0.5, 0.5], [0.2, 0.3, 0.5]),
    ],
)
def test_wootters_rejects_bad_weights(p: list, q: list) -> None:
    with pytest.raises(ValueError):
        wootters_distance(np.array(p), np.array(q))


def test_binned_wootters_small_for_same_larger_for_shifted() -> None:
    rng = _rng(97)
    a, b = rng.normal(size=4000), rng.normal(size=4000)
    shifted = rng.normal(1.0, 1.0, size=4000)
    same, moved = binned_wootters(a, b), binned_wootters(a, shifted)
    # Independent value for the shifted pair, on the same shared bins.
    edges = np.histogram_bin_edges(np.concatenate([a, shifted]), bins=20)
    hp, hq = np.histogram(a, edges)[0], np.histogram(shifted, edges)[0]
    assert moved == pytest.approx(_wootters_reference(hp, hq), rel=1e-10)
    # Population: arccos(exp(-delta^2/8)) ~ 0.35 for a unit shift.
    assert moved == pytest.approx(np.arccos(np.exp(-1 / 8)), abs=0.05)
    assert same < 0.1 < moved
    assert binned_wootters(a, a) == pytest.approx(0.0, abs=1e-7)


# --------------------------------------------------------------------------- quantum states


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(m)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.conj().T


def _fidelity_direct(rho: np.ndarray, sigma: np.ndarray) -> float:
    root = _sqrtm_psd(rho)
    return float(np.real(np.trace(_sqrtm_psd(root @ sigma @ root))) ** 2)


def _trace_distance_direct(rho: np.ndarray, sigma: np.ndarray) -> float:
    return float(0.5 * np.linalg.norm(rho - sigma, ord="nuc"))


@pytest.mark.parametrize("dim", [2, 4, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_fidelity_pure_pure(dim: int, seed: int) -> None:
    psi = random_statevector(dim, seed=seed)
    phi = random_statevector(dim, seed=seed + 100)
    expected = qiskit_fidelity(psi, phi)
    assert expected == pytest.approx(abs(np.vdot(psi.data, phi.data)) ** 2, rel=1e-10)
    assert state_fidelity(psi.data, phi.data) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert state_fidelity(3.0 * psi.data, phi.data) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    rho, sigma = DensityMatrix(psi).data, DensityMatrix(phi).data
    assert state_fidelity(rho, sigma) == pytest.approx(expected, rel=1e-7, abs=1e-9)
    # Pure states: trace distance = sqrt(1 - F).
    assert trace_distance(psi.data, phi.data) == pytest.approx(np.sqrt(1 - expected), rel=1e-9)
    assert trace_distance(psi.data, phi.data) == pytest.approx(
        _trace_distance_direct(rho, sigma), rel=1e-9
    )


@pytest.mark.parametrize("dim", [2, 4, 8])
@pytest.mark.parametrize("seed", [0, 1])
def test_fidelity_and_trace_distance_pure_mixed(dim: int, seed: int) -> None:
    psi = random_statevector(dim, seed=seed + 10)
    rho = random_density_matrix(dim, seed=seed + 20)
    expected = qiskit_fidelity(psi, rho)
    direct = float(np.real(np.vdot(psi.data, rho.data @ psi.data)))
    assert expected == pytest.approx(direct, rel=1e-9)
    # rel 1e-6: see test_fidelity_of_rank_deficient_states_is_accurate for the tight check.
    assert state_fidelity(psi.data, rho.data) == pytest.approx(expected, rel=1e-6)
    assert state_fidelity(rho.data, psi.data) == pytest.approx(expected, rel=1e-6)
    pure = np.outer(psi.data, psi.data.conj())
    assert trace_distance(psi.data, rho.data) == pytest.approx(
        _trace_distance_direct(pure, rho.data), rel=1e-9
    )


@pytest.mark.parametrize(("dim", "rank"), [(2, None), (4, None), (8, None), (4, 2), (8, 3)])
def test_fidelity_and_trace_distance_mixed_mixed(dim: int, rank: int | None) -> None:
    rho = random_density_matrix(dim, rank=rank, seed=dim + 1)
    sigma = random_density_matrix(dim, seed=dim + 2)
    expected = qiskit_fidelity(rho, sigma)
    assert expected == pytest.approx(_fidelity_direct(rho.data, sigma.data), rel=1e-6)
    assert state_fidelity(rho.data, sigma.data) == pytest.approx(expected, rel=1e-6)
    assert state_fidelity(sigma.data, rho.data) == pytest.approx(expected, rel=1e-6)
    td = trace_distance(rho.data, sigma.data)
    assert td == pytest.approx(_trace_distance_direct(rho.data, sigma.data), rel=1e-10)
    # Fuchs-van de Graaf inequalities.
    assert 1 - np.sqrt(expected) - 1e-9 <= td <= np.sqrt(1 - expected) + 1e-9
    # Unnormalised density matrices are normalised by their trace.
    assert state_fidelity(2.0 * rho.data, sigma.data) == pytest.approx(expected, rel=1e-6)
    assert trace_distance(rho.data, rho.data) == pytest.approx(0.0, abs=1e-12)
    assert state_fidelity(rho.data, rho.data) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_fidelity_of_rank_deficient_states_is_accurate(seed: int) -> None:
    # A pure state against its own density matrix, and a rank-2 state against itself: the
    # fidelity is exactly 1 (qiskit gets it to ~1e-16). It must never exceed 1, or quantities
    # such as arccos(sqrt(F)) or sqrt(1 - F) turn into NaN.
    psi = random_statevector(8, seed=seed)
    pure = DensityMatrix(psi).data
    rho = random_density_matrix(8, rank=2, seed=seed).data
    assert qiskit_fidelity(psi, DensityMatrix(psi)) == pytest.approx(1.0, abs=1e-12)
    for a, b in [(psi.data, pure), (pure, pure), (rho, rho)]:
        fidelity = state_fidelity(a, b)
        assert fidelity <= 1.0 + 1e-12
        assert fidelity == pytest.approx(1.0, abs=1e-10)
    sigma = random_density_matrix(8, seed=seed + 50)
    assert state_fidelity(psi.data, sigma.data) == pytest.approx(
        qiskit_fidelity(psi, sigma), rel=1e-10
    )


def test_orthogonal_pure_states() -> None:
    for dim in (2, 4):
        for i, j in itertools.combinations(range(dim), 2):
            a, b = np.eye(dim)[i], np.eye(dim)[j]
            assert trace_distance(a, b) == pytest.approx(1.0, abs=1e-12)
            assert state_fidelity(a, b) == pytest.approx(0.0, abs=1e-12)
    plus = Statevector.from_label("+").data
    minus = Statevector.from_label("-").data
    assert trace_distance(plus, minus) == pytest.approx(1.0, abs=1e-12)
    assert state_fidelity(plus, minus) == pytest.approx(0.0, abs=1e-12)


def test_state_shape_errors() -> None:
    with pytest.raises(ValueError):
        trace_distance(np.ones((2, 3)), np.eye(2))
    with pytest.raises(ValueError):
        state_fidelity(np.ones((2, 2, 2)), np.eye(2))


# --------------------------------------------------------------------------- radial_profile


@pytest.mark.parametrize(("npix", "annuli"), [(4, 4), (8, 4), (5, 3), (16, 6), (8, 2)])
def test_radial_profile_rows_sum_to_image_totals(npix: int, annuli: int) -> None:
    images = _rng(npix).random((7, npix, npix)) * 3.0
    profile = radial_profile(images, annuli=annuli)
    assert profile.shape == (7, annuli)
    np.testing.assert_allclose(profile.sum(axis=1), images.sum(axis=(1, 2)), rtol=1e-12)


def _expected_ring(distance: float, radius: float, annuli: int) -> int:
    width = radius / (annuli - 1)
    for k in range(annuli - 1):
        if k * width <= distance < (k + 1) * width:
            return k
    return annuli - 1


@pytest.mark.parametrize(("npix", "radius", "annuli"), [(4, 0.4, 4), (8, 0.4, 4), (6, 1.0, 5)])
def test_radial_profile_single_pixel_lands_in_its_ring(
    npix: int, radius: float, annuli: int
) -> None:
    width = radius / (annuli - 1)
    pixel = 2 * radius / npix
    for i, j in itertools.product(range(npix), range(npix)):
        # Pixel centres by explicit geometry: left edge -radius plus half a pixel.
        distance = np.hypot(-radius + (i + 0.5) * pixel, -radius + (j + 0.5) * pixel)
        assert np.min(np.abs(distance / width - np.arange(annuli))) > 1e-6  # no boundary case
        image = np.zeros((1, npix, npix))
        image[0, i, j] = 0.7
        expected = np.zeros(annuli)
        expected[_expected_ring(distance, radius, annuli)] = 0.7
        np.testing.assert_allclose(
            radial_profile(image, radius=radius, annuli=annuli)[0], expected, atol=1e-15
        )


def test_radial_profile_4x4_by_hand() -> None:
    # Pixel centres at +-0.1, +-0.3: distances 0.141 (4 centre pixels), 0.316 (8 edge pixels),
    # 0.424 (4 corners) against ring width 0.4/3 = 0.133: rings 1, 2 and 3; ring 0 is empty.
    profile = radial_profile(np.ones((1, 4, 4)), radius=0.4, annuli=4)
    np.testing.assert_array_equal(profile[0], [0.0, 4.0, 8.0, 4.0])


def test_radial_profile_rejects_bad_input() -> None:
    with pytest.raises(DataError):
        radial_profile(np.ones((2, 4, 5)))
    with pytest.raises(DataError):
        radial_profile(np.ones((2, 4, 4)), annuli=1)


def test_median_distance_matches_cdist() -> None:
    x = _rng(99).normal(size=(17, 3))
    full = cdist(x, x)
    assert median_distance(x) == pytest.approx(np.median(full[np.triu_indices(17, 1)]), rel=1e-12)
