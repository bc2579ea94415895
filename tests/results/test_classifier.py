"""The classifier two-sample test of :mod:`qdm_qiskit.results.classifier`.

The AUC is checked against a pairwise count written here, the cross-fitting by refitting
scikit-learn's gradient-boosted trees on the other fold, and the test's power and size by samples
whose population AUC is known.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from qdm_qiskit.results.classifier import (
    BOOSTING,
    classifier_auc,
    classifier_scores,
    folded_auc,
)
from qdm_qiskit.stats import roc_auc


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _auc_brute(scores: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = scores[positive], scores[~positive]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


# --------------------------------------------------------------------------- folded AUC


@pytest.mark.parametrize("seed", range(4))
def test_roc_auc_per_fold_matches_pairwise_count(seed: int) -> None:
    rng = _rng(seed)
    scores = np.round(rng.normal(size=60), 1)  # many ties
    positive = rng.random(60) < 0.4
    fold = rng.permutation(60) % 3
    per_fold = []
    for k in range(3):
        sel = fold == k
        expected = _auc_brute(scores[sel], positive[sel])
        assert roc_auc(scores[sel], positive[sel]) == pytest.approx(expected, abs=1e-12)
        per_fold.append(expected)
    assert folded_auc(scores, positive, fold) == pytest.approx(np.mean(per_fold), abs=1e-12)


def test_folded_auc_ranks_within_folds_only() -> None:
    # Fold 1 scores are shifted far up: pooled ranking would mix folds, per-fold ranking not.
    scores = np.array([0.1, 0.9, 0.2, 0.8, 10.1, 10.9, 10.2, 10.8])
    positive = np.array([False, True, False, True, False, True, False, True])
    fold = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert folded_auc(scores, positive, fold) == 1.0
    assert _auc_brute(scores, positive) < 1.0


# --------------------------------------------------------------------------- cross-fitting


@pytest.mark.parametrize("folds", [2, 3])
def test_scores_are_out_of_sample_and_labelled(folds: int) -> None:
    rng = _rng(50)
    real = rng.normal(size=(80, 3))
    gen = rng.normal(size=(60, 3)) + np.array([0.7, 0.0, 0.0])
    scores, positive, fold = classifier_scores(real, gen, seed=3, folds=folds)
    assert scores.shape == positive.shape == fold.shape == (140,)
    assert not positive[:80].any() and positive[80:].all()
    assert set(np.unique(fold)) == set(range(folds))
    # Each point is scored by a model fitted on the other folds only: refit it here.
    x = np.concatenate([real, gen])
    for k in range(folds):
        out = fold == k
        model = HistGradientBoostingClassifier(**BOOSTING, early_stopping=False, random_state=3)
        model.fit(x[~out], positive[~out])
        np.testing.assert_allclose(scores[out], model.decision_function(x[out]), rtol=1e-10)
        # ...and not by a model that saw it: the in-sample fit scores its own points better.
        seen = HistGradientBoostingClassifier(**BOOSTING, early_stopping=False, random_state=3)
        seen.fit(x, positive)
        in_sample = seen.decision_function(x[out])
        assert not np.allclose(scores[out], in_sample)
        assert roc_auc(in_sample, positive[out]) > roc_auc(scores[out], positive[out])


def test_scores_are_deterministic_for_a_seed() -> None:
    rng = _rng(51)
    real, gen = rng.normal(size=(60, 2)), rng.normal(0.3, 1.0, size=(60, 2))
    first = classifier_scores(real, gen, seed=4)
    second = classifier_scores(real, gen, seed=4)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    other = classifier_scores(real, gen, seed=5)
    assert not np.array_equal(first[2], other[2])  # another fold assignment
    assert classifier_auc(real, gen, seed=4) == folded_auc(*first)


@pytest.mark.parametrize(
    ("real", "gen"),
    [
        (np.zeros((10, 2)), np.array([[0.0, np.nan]] * 10)),
        (np.zeros((10, 2)), np.array([[np.inf, 0.0]] * 10)),
        (np.zeros(10), np.zeros(10)),
    ],
)
def test_scores_reject_non_finite_or_non_vector_input(real: np.ndarray, gen: np.ndarray) -> None:
    with pytest.raises(ValueError):
        classifier_scores(real, gen)


# --------------------------------------------------------------------------- size and power


def test_auc_is_half_on_average_for_one_distribution() -> None:
    values = []
    for seed in range(16):
        rng = _rng(100 + seed)
        values.append(
            classifier_auc(rng.normal(size=(120, 3)), rng.normal(size=(120, 3)), seed=seed)
        )
    values = np.array(values)
    error = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean() - 0.5) < 4 * error
    assert error < 0.025
    # one run is no lucky draw either: a held-out AUC far from 0.5 for one distribution would
    # mean the scores leak the labels
    assert np.all(np.abs(values - 0.5) < 0.2)


def test_auc_near_one_for_separated_samples() -> None:
    rng = _rng(60)
    real, gen = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + np.array([5.0, 0.0])
    assert classifier_auc(real, gen) > 0.98


def test_auc_one_for_a_constant_and_for_a_single_never_empty_feature() -> None:
    # What trees find and a linear model on many features misses: a sample repeating one
    # point, and a sample whose one feature is never zero where the real one mostly is.
    rng = _rng(61)
    real = rng.exponential(size=(200, 20)) * (rng.random((200, 20)) < 0.5)
    real[:, 7] *= rng.random(200) < 0.2  # feature 7: zero in ~90% of the real points
    constant = np.repeat(real.mean(axis=0, keepdims=True), 200, axis=0)
    assert classifier_auc(real, constant) > 0.99
    lit = real[rng.permutation(200)].copy()
    lit[:, 7] = rng.exponential(size=200) + 0.05
    # population AUC of the indicator "feature 7 > 0": 0.9 + 0.1 / 2 = 0.95
    assert classifier_auc(real, lit) > 0.85


@pytest.mark.parametrize("seed", range(2))
def test_auc_detects_variance_only_difference(seed: int) -> None:
    rng = _rng(70 + seed)
    real, gen = rng.normal(0.0, 1.0, size=(300, 1)), rng.normal(0.0, 3.0, size=(300, 1))
    auc = classifier_auc(real, gen, seed=seed)
    # Population AUC of the optimal score |x| for N(0,1) vs N(0,9) is P(|3z'| > |z|) ~ 0.795.
    z = _rng(seed).normal(size=(2, 200_000))
    optimal = np.mean(np.abs(3 * z[0]) > np.abs(z[1]))
    assert auc > 0.7
    assert auc == pytest.approx(optimal, abs=0.08)
