"""Growth-rate fits of :mod:`qdm_qiskit.scaling.fit`, on synthetic data with known laws."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.scaling import Growth, fit_growth


@pytest.mark.parametrize(
    ("a", "b", "n"),
    [
        (1.0, 2.0, [4, 6, 8]),
        (0.7, 1.9, [3, 5, 8, 11]),
        (3e-6, 2.0, [2, 4, 8, 16, 32, 64]),
        (250.0, 0.5, [1, 2, 3, 7]),
        (5.0, 1.0, [2, 9]),
    ],
)
def test_exponential_recovers_base_and_prefactor(a: float, b: float, n: list[int]) -> None:
    n_arr = np.array(n)
    growth = fit_growth(n_arr, a * b**n_arr, "exponential")
    assert growth.model == "exponential"
    assert growth.rate == pytest.approx(b, rel=1e-9)
    assert growth.prefactor == pytest.approx(a, rel=1e-9)
    assert growth.r2 == pytest.approx(1.0, abs=1e-12)
    assert growth.points == len(n)


@pytest.mark.parametrize(
    ("a", "k", "n"),
    [
        (1.0, 1.0, [2, 4, 8, 16]),
        (3.2, 1.7, [3, 5, 8, 11]),
        (12.0, 0.5, [1, 10, 100]),
        (0.01, 3.0, [10, 16, 32, 64]),
        (7.0, -1.0, [2, 3]),
    ],
)
def test_power_recovers_exponent_and_prefactor(a: float, k: float, n: list[int]) -> None:
    n_arr = np.array(n, dtype=float)
    growth = fit_growth(n_arr, a * n_arr**k, "power")
    assert growth.model == "power"
    assert growth.rate == pytest.approx(k, rel=1e-9, abs=1e-12)
    assert growth.prefactor == pytest.approx(a, rel=1e-9)
    assert growth.r2 == pytest.approx(1.0, abs=1e-12)
    assert growth.points == len(n)


def test_accepts_lists_and_integer_arrays() -> None:
    growth = fit_growth([4, 6, 8], [16, 64, 256], "exponential")
    assert growth.rate == pytest.approx(2.0)
    assert growth.prefactor == pytest.approx(1.0)


def test_constant_series_has_unit_r2_and_zero_growth() -> None:
    exponential = fit_growth([2, 3, 5], [7.0, 7.0, 7.0], "exponential")
    power = fit_growth([2, 3, 5], [7.0, 7.0, 7.0], "power")
    assert exponential.rate == pytest.approx(1.0)
    assert power.rate == pytest.approx(0.0, abs=1e-12)
    assert exponential.prefactor == pytest.approx(7.0)
    assert exponential.r2 == power.r2 == 1.0


def test_r2_matches_an_independent_log_space_computation() -> None:
    rng = np.random.default_rng(3)
    n = np.arange(2, 12)
    y = 0.3 * 2.0**n * np.exp(rng.normal(0.0, 0.2, n.size))
    growth = fit_growth(n, y, "exponential")
    # Least squares in log space, written out by hand.
    log_y = np.log(y)
    x_mean, y_mean = n.mean(), log_y.mean()
    slope = np.sum((n - x_mean) * (log_y - y_mean)) / np.sum((n - x_mean) ** 2)
    intercept = y_mean - slope * x_mean
    residual = log_y - (slope * n + intercept)
    r2 = 1.0 - np.sum(residual**2) / np.sum((log_y - y_mean) ** 2)
    assert growth.rate == pytest.approx(np.exp(slope), rel=1e-9)
    assert growth.prefactor == pytest.approx(np.exp(intercept), rel=1e-9)
    assert growth.r2 == pytest.approx(r2, rel=1e-9)
    assert 0.0 < growth.r2 < 1.0


def test_noisy_power_law_is_close_with_lower_r2() -> None:
    rng = np.random.default_rng(0)
    n = np.array([4, 8, 16, 32, 64, 128], dtype=float)
    y = 5.0 * n * np.exp(rng.normal(0.0, 0.05, n.size))
    growth = fit_growth(n, y, "power")
    assert growth.rate == pytest.approx(1.0, abs=0.05)
    assert 0.99 < growth.r2 < 1.0


def test_ignores_non_positive_non_finite_values_and_non_positive_n() -> None:
    n = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, -2])
    y = 2.0**n
    y[1], y[3], y[5], y[7] = 0.0, -8.0, np.nan, np.inf
    growth = fit_growth(n, y, "exponential")
    # Kept: n = 2, 4, 6, 8 (n = 0 and n = -2 have positive y but n <= 0).
    assert growth.points == 4
    assert growth.rate == pytest.approx(2.0, rel=1e-9)
    assert growth.prefactor == pytest.approx(1.0, rel=1e-9)
    assert growth.r2 == pytest.approx(1.0)


def test_power_ignores_bad_points_too() -> None:
    n = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    y = 3.0 * n**2
    y[0] = np.nan
    y[2] = -1.0
    growth = fit_growth(n, y, "power")
    assert growth.points == 3
    assert growth.rate == pytest.approx(2.0, rel=1e-9)
    assert growth.prefactor == pytest.approx(3.0, rel=1e-9)


@pytest.mark.parametrize(
    ("n", "y"),
    [
        ([], []),
        ([4], [16.0]),
        ([4, 4, 4], [16.0, 17.0, 15.0]),  # two or more points but one distinct n
        ([2, 3, 4], [0.0, -1.0, np.nan]),
        ([2, 3, 4], [4.0, 0.0, np.inf]),  # one usable point
        ([0, -1, 5], [1.0, 2.0, 3.0]),  # n <= 0 is unusable
    ],
)
@pytest.mark.parametrize("model", ["exponential", "power"])
def test_fewer_than_two_distinct_n_raise(n: list[float], y: list[float], model: str) -> None:
    with pytest.raises(ConfigError, match="two or more distinct n"):
        fit_growth(np.array(n, dtype=float), np.array(y, dtype=float), model)  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ["linear", "Exponential", "", "polynomial"])
def test_unknown_model_raises(model: str) -> None:
    with pytest.raises(ConfigError, match="exponential or power"):
        fit_growth([2, 4, 8], [1.0, 2.0, 4.0], model)  # type: ignore[arg-type]


def test_law_text() -> None:
    assert Growth("exponential", 2.0, 1.0, 1.0, 3).law() == "2^n"
    assert Growth("exponential", 1.8374, 1.0, 1.0, 3).law() == "1.84^n"
    assert Growth("power", 1.02, 1.0, 1.0, 3).law() == "n^1.02"
    assert Growth("power", 1.0, 1.0, 1.0, 3).law() == "n^1"
    assert Growth("power", 0.5, 1.0, 1.0, 3).law("q") == "q^0.5"
    assert Growth("exponential", 2.0, 1.0, 1.0, 3).law("q") == "2^q"


def test_law_of_fitted_growth() -> None:
    assert fit_growth([4, 6, 8], [16, 64, 256], "exponential").law() == "2^n"
    assert fit_growth([2, 4, 8], [2.0, 4.0, 8.0], "power").law() == "n^1"


def test_growth_is_frozen() -> None:
    growth = Growth("power", 1.0, 1.0, 1.0, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        growth.rate = 2.0  # type: ignore[misc]
