"""Tests of NoiseSchedule against independently written formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdm_qiskit.diffusion.schedules import NoiseSchedule
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.options import options_from_dict, options_to_dict


def nichol_dhariwal_betas(steps: int, s: float, max_probability: float) -> np.ndarray:
    """Cosine schedule written step by step from the paper's definition."""

    def f(t: int) -> float:
        return math.cos(((t / steps + s) / (1 + s)) * math.pi / 2) ** 2

    alpha_bar = [f(t) / f(0) for t in range(steps + 1)]
    betas = [1 - alpha_bar[t] / alpha_bar[t - 1] for t in range(1, steps + 1)]
    return np.array([min(max(b, 0.0), max_probability) for b in betas])


@pytest.mark.parametrize(
    ("start", "end", "steps"), [(1e-4, 0.02, 10), (0.05, 0.5, 6), (0.3, 0.3, 1)]
)
def test_linear_betas_are_linspace(start: float, end: float, steps: int) -> None:
    schedule = NoiseSchedule(kind="linear", steps=steps, start=start, end=end)
    expected = np.array([start + (end - start) * i / max(steps - 1, 1) for i in range(steps)])
    assert schedule.betas.shape == (steps,)
    np.testing.assert_allclose(schedule.betas, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(schedule.betas, np.linspace(start, end, steps), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("steps", "s", "clip"), [(6, 0.008, 0.999), (50, 0.008, 0.999), (10, 0.1, 0.5)]
)
def test_cosine_matches_nichol_dhariwal(steps: int, s: float, clip: float) -> None:
    schedule = NoiseSchedule(kind="cosine", steps=steps, cosine_offset=s, max_probability=clip)
    expected = nichol_dhariwal_betas(steps, s, clip)
    np.testing.assert_allclose(schedule.betas, expected, rtol=1e-12, atol=1e-14)
    assert np.all(schedule.betas <= clip)
    # the last cosine step drives alpha_bar to ~0, so it is clipped
    assert schedule.betas[-1] == pytest.approx(clip)


def test_cosine_alpha_bar_matches_f_ratio_before_clipping() -> None:
    steps, s = 20, 0.008
    schedule = NoiseSchedule(kind="cosine", steps=steps, cosine_offset=s)
    f = [math.cos(((t / steps + s) / (1 + s)) * math.pi / 2) ** 2 for t in range(steps + 1)]
    # no clipping happens before the last step, so the product telescopes to f(t)/f(0)
    for t in range(steps):
        assert schedule.alpha_bars[t] == pytest.approx(f[t] / f[0], rel=1e-10, abs=1e-14)


def test_custom_schedule_uses_given_probabilities() -> None:
    probabilities = (0.1, 0.0, 0.25, 1.0)
    schedule = NoiseSchedule(kind="custom", probabilities=probabilities, steps=99)
    assert schedule.steps == 4
    np.testing.assert_array_equal(schedule.betas, np.array(probabilities))
    np.testing.assert_allclose(schedule.alpha_bars, [1.0, 0.9, 0.9, 0.675, 0.0], atol=1e-15)


@pytest.mark.parametrize(
    "schedule",
    [
        NoiseSchedule(),
        NoiseSchedule(kind="linear", steps=7, start=0.01, end=0.9),
        NoiseSchedule(kind="cosine", steps=12),
        NoiseSchedule(kind="custom", probabilities=(0.5, 0.2, 0.7)),
    ],
    ids=["default", "linear", "cosine", "custom"],
)
def test_alpha_bars_are_cumulative_products(schedule: NoiseSchedule) -> None:
    alpha_bars = schedule.alpha_bars
    betas = list(schedule.betas)
    assert alpha_bars.shape == (schedule.steps + 1,)
    assert alpha_bars[0] == 1.0
    for t in range(schedule.steps + 1):
        product = 1.0
        for beta in betas[:t]:
            product *= 1.0 - beta
        assert alpha_bars[t] == pytest.approx(product, rel=1e-12, abs=1e-15)
        assert schedule.alpha_bar(t) == pytest.approx(product, rel=1e-12, abs=1e-15)
        assert isinstance(schedule.alpha_bar(t), float)
    assert np.all(np.diff(alpha_bars) <= 0)
    assert np.all((alpha_bars >= 0) & (alpha_bars <= 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": -0.1},
        {"end": 1.5},
        {"max_probability": 1.01},
        {"start": math.nan},
        {"end": math.inf},
        {"start": "0.1"},
        {"start": True},
        {"kind": "custom", "probabilities": (0.1, 2.0)},
        {"kind": "custom", "probabilities": (0.1, math.nan)},
        {"kind": "custom", "probabilities": (-0.5,)},
        {"kind": "custom", "probabilities": ()},
        {"steps": 0},
        {"steps": -1},
        {"steps": True},
        {"steps": 2.0},
        {"kind": "exponential"},
        {"kind": "linear", "probabilities": (0.1, 0.2)},
        {"kind": "cosine", "probabilities": (0.1,)},
        {"kind": "cosine", "cosine_offset": 0.0},
        {"kind": "cosine", "cosine_offset": -0.01},
        {"kind": "cosine", "cosine_offset": math.nan},
    ],
)
def test_invalid_schedules_raise_config_error(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        NoiseSchedule(**kwargs)


@pytest.mark.parametrize("step", [-1, 6, 100, True, 1.0, "2", None])
def test_check_step_outside_range_raises(step: object) -> None:
    schedule = NoiseSchedule(kind="linear", steps=5)
    with pytest.raises(ConfigError):
        schedule.check_step(step)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        schedule.alpha_bar(step)  # type: ignore[arg-type]


@pytest.mark.parametrize("step", [0, 3, 5, np.int64(5)])
def test_check_step_accepts_valid_steps(step: int) -> None:
    schedule = NoiseSchedule(kind="linear", steps=5)
    assert schedule.check_step(step) is None


@pytest.mark.parametrize(
    "schedule",
    [
        NoiseSchedule(),
        NoiseSchedule(kind="cosine", steps=30, cosine_offset=0.02, max_probability=0.9),
        NoiseSchedule(kind="custom", probabilities=(0.1, 0.3)),
    ],
    ids=["linear", "cosine", "custom"],
)
def test_options_round_trip(schedule: NoiseSchedule) -> None:
    data = options_to_dict(schedule)
    assert isinstance(data["probabilities"], list)
    assert data["kind"] == schedule.kind
    rebuilt = options_from_dict(NoiseSchedule, data)
    assert rebuilt == schedule
    np.testing.assert_array_equal(rebuilt.betas, schedule.betas)


def test_options_from_plain_dict() -> None:
    schedule = options_from_dict(NoiseSchedule, {"kind": "custom", "probabilities": [0.2, 0.4]})
    assert schedule.probabilities == (0.2, 0.4)
    assert schedule.steps == 2
    np.testing.assert_allclose(schedule.alpha_bars, [1.0, 0.8, 0.48])


def test_options_unknown_field_rejected() -> None:
    with pytest.raises(ConfigError, match="stpes"):
        options_from_dict(NoiseSchedule, {"kind": "linear", "stpes": 5})


def test_options_invalid_value_rejected() -> None:
    with pytest.raises(ConfigError):
        options_from_dict(NoiseSchedule, {"kind": "linear", "end": 1.5})


def test_infinite_cosine_offset_is_refused() -> None:
    with pytest.raises(ConfigError, match="cosine_offset"):
        NoiseSchedule(kind="cosine", cosine_offset=float("inf"), steps=3)
