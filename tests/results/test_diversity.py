"""Diversity and memorisation measures of :mod:`qdm_qiskit.results.diversity`.

References are brute-force loops over pairs written here, scipy's ``cdist``, or samples whose
answer is known by construction (copies, a constant, fresh draws of one distribution).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from qdm_qiskit.results.diversity import (
    distinct_fraction,
    memorised_fraction,
    nearest_distances,
    variance_ratio,
)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _images(n: int, seed: int, npix: int = 4) -> np.ndarray:
    images = _rng(seed).random((n, npix, npix))
    return images / images.sum(axis=(1, 2), keepdims=True)


# --------------------------------------------------------------------------- variance_ratio


def test_variance_ratio_is_one_for_the_same_sample_and_zero_for_a_constant() -> None:
    real = _images(200, seed=1)
    assert variance_ratio(real, real) == pytest.approx(1.0, rel=1e-12)
    assert variance_ratio(real[::-1].copy(), real) == pytest.approx(1.0, rel=1e-12)
    mean = np.repeat(real.mean(axis=0, keepdims=True), 50, axis=0)
    assert variance_ratio(mean, real) == pytest.approx(0.0, abs=1e-12)
    # an independent sample of the same distribution: near 1 (not exactly)
    assert variance_ratio(_images(2000, seed=2), real) == pytest.approx(1.0, abs=0.2)


def test_variance_ratio_matches_per_pixel_sums_and_scales_quadratically() -> None:
    real, generated = _images(80, seed=3), _images(60, seed=4) ** 2
    expected = sum(np.var(generated[:, i, j]) for i in range(4) for j in range(4)) / sum(
        np.var(real[:, i, j]) for i in range(4) for j in range(4)
    )
    assert variance_ratio(generated, real) == pytest.approx(expected, rel=1e-10)
    # fluctuations twice as large about the same mean: four times the variance
    stretched = real.mean(axis=0) + 2.0 * (real - real.mean(axis=0))
    assert variance_ratio(stretched, real) == pytest.approx(4.0, rel=1e-10)
    # flat vectors work like images
    assert variance_ratio(generated.reshape(60, -1), real.reshape(80, -1)) == pytest.approx(
        expected, rel=1e-10
    )


def test_variance_ratio_against_a_constant_reference_is_nan() -> None:
    constant = np.ones((10, 4, 4)) / 16
    assert np.isnan(variance_ratio(_images(10, seed=5), constant))


# --------------------------------------------------------------------------- distinct_fraction


def _distinct_brute(images: np.ndarray, tolerance: float) -> float:
    x = images.reshape(len(images), -1)
    distinct = 0
    for i in range(len(x)):
        if not any(np.linalg.norm(x[i] - x[j]) < tolerance for j in range(i)):
            distinct += 1
    return distinct / len(x)


def test_distinct_fraction_of_distinct_images_is_one() -> None:
    assert distinct_fraction(_images(300, seed=6)) == 1.0


@pytest.mark.parametrize("copies", [1, 2, 7, 600])
def test_distinct_fraction_of_n_copies_is_one_over_n(copies: int) -> None:
    # 600 copies spans two blocks of 512 rows: duplicates across blocks count too.
    images = np.repeat(_images(1, seed=7), copies, axis=0)
    assert distinct_fraction(images) == pytest.approx(1.0 / copies, rel=1e-12)


def test_distinct_fraction_counts_repeats_across_blocks() -> None:
    # 500 distinct images, then copies of the first 100 (rows 500..599, the second block).
    base = _images(500, seed=8)
    images = np.concatenate([base, base[:100]])
    assert distinct_fraction(images) == pytest.approx(500 / 600, rel=1e-12)
    # order does not matter: the first occurrence is the distinct one
    shuffled = images[_rng(9).permutation(600)]
    assert distinct_fraction(shuffled) == pytest.approx(500 / 600, rel=1e-12)


def test_distinct_fraction_respects_the_tolerance() -> None:
    base = _images(40, seed=10)
    direction = _rng(11).normal(size=base.shape)
    direction /= np.linalg.norm(direction.reshape(40, -1), axis=1)[:, None, None]
    near = base + 0.5e-3 * direction  # each 5e-4 from its original
    far = base + 2e-3 * direction  # each 2e-3 from its original
    assert distinct_fraction(np.concatenate([base, near])) == pytest.approx(0.5)
    assert distinct_fraction(np.concatenate([base, far])) == 1.0
    assert distinct_fraction(np.concatenate([base, far]), tolerance=3e-3) == pytest.approx(0.5)
    assert distinct_fraction(np.concatenate([base, near]), tolerance=1e-4) == 1.0


def test_distinct_fraction_matches_a_pairwise_loop() -> None:
    rng = _rng(12)
    base = _images(30, seed=13)
    picks = rng.integers(30, size=70)
    images = base[picks] + 1e-3 * rng.random((70, 4, 4)) * (rng.random((70, 1, 1)) < 0.5)
    for tolerance in (1e-4, 1e-3, 3e-3, 0.05):
        expected = _distinct_brute(images, tolerance)
        assert distinct_fraction(images, tolerance=tolerance) == pytest.approx(expected), tolerance


# --------------------------------------------------------------------------- nearest_distances


@pytest.mark.parametrize(("n_query", "n_ref"), [(1, 1), (7, 30), (1100, 40)])
def test_nearest_distances_match_a_brute_force_loop(n_query: int, n_ref: int) -> None:
    # 1100 queries span two blocks of 1024.
    queries, references = _images(n_query, seed=14), _images(n_ref, seed=15)
    got = nearest_distances(queries, references)
    assert got.shape == (n_query,)
    q, r = queries.reshape(n_query, -1), references.reshape(n_ref, -1)
    for i in range(0, n_query, max(1, n_query // 50)):  # a loop over every pair of a sample
        expected = min(np.sqrt(np.sum((q[i] - r[j]) ** 2)) for j in range(n_ref))
        assert got[i] == pytest.approx(expected, rel=1e-6, abs=1e-12)
    np.testing.assert_allclose(got, cdist(q, r).min(axis=1), rtol=1e-6, atol=1e-9)


def test_nearest_distance_of_a_member_is_zero() -> None:
    references = _images(50, seed=16)
    got = nearest_distances(references[[3, 17, 3]], references)
    np.testing.assert_allclose(got, 0.0, atol=1e-7)  # sqrt of a rounding error, never NaN
    assert np.isfinite(got).all()


# --------------------------------------------------------------------------- memorised_fraction


def test_memorised_fraction_of_copies_is_one() -> None:
    rng = _rng(17)
    train, held_out = rng.normal(size=(300, 6)), rng.normal(size=(300, 6))
    assert memorised_fraction(train[:120], train, held_out) == 1.0
    # half copies, half fresh draws: about half (the fresh ones are memorised ~1% of the time)
    mixed = np.concatenate([train[:100], rng.normal(size=(100, 6))])
    assert memorised_fraction(mixed, train, held_out) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("quantile", [0.01, 0.1, 0.3])
def test_memorised_fraction_of_fresh_draws_is_about_the_quantile(quantile: float) -> None:
    # Fresh draws of the training distribution lie as near the training set as held-out draws:
    # a fraction ~quantile of them falls below the held-out quantile. Scatter: binomial from
    # the 2000 draws plus the threshold's own (from 1000 held-out draws), ~0.012 at 0.1.
    rng = _rng(18)
    train = rng.normal(size=(400, 5))
    held_out, fresh = rng.normal(size=(1000, 5)), rng.normal(size=(2000, 5))
    got = memorised_fraction(fresh, train, held_out, quantile=quantile)
    sigma = np.sqrt(quantile * (1 - quantile) * (1 / 2000 + 1 / 1000))
    assert abs(got - quantile) < 4 * sigma + 1e-3
    # the held-out set itself sits at the quantile by construction
    assert memorised_fraction(held_out, train, held_out, quantile=quantile) == pytest.approx(
        quantile, abs=2e-3
    )


def test_memorised_fraction_works_on_images() -> None:
    train, held_out = _images(200, seed=19), _images(200, seed=20)
    assert memorised_fraction(train[:50], train, held_out) == 1.0
    assert memorised_fraction(_images(400, seed=21), train, held_out) < 0.05
