"""The classifier two-sample test: can a classifier tell generated jets from real ones?

A gradient-boosted tree ensemble (scikit-learn's ``HistGradientBoostingClassifier``) is trained to
separate generated from real jets on every pixel plus the jet observables, cross-fitted: each jet
is scored by the model trained on the other fold, so every score is out of sample. The ROC AUC
of those scores is 0.5 when the two samples cannot be told apart and 1 when they always can.
Trees split on raw pixel values and need no scaling, find the one pixel that is never empty in a
generator's output, and separate a constant (mean-image) sample or noise perfectly, which a linear
or quadratic classifier on hundreds of pixels with a few hundred jets does not (it overfits and
sits near 0.95 for every set).
"""

from __future__ import annotations

import numpy as np

from qdm_qiskit.stats import roc_auc

#: Boosting settings: a few hundred shallow trees, deterministic for a seed.
BOOSTING = {"max_iter": 200, "learning_rate": 0.1, "max_leaf_nodes": 15, "min_samples_leaf": 10}


def classifier_scores(
    real: np.ndarray, generated: np.ndarray, *, seed: int = 0, folds: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-fitted scores of a classifier told to separate ``generated`` from ``real``.

    Args:
        real: real feature vectors ``(N, d)``.
        generated: generated feature vectors ``(M, d)``.
        seed: seed of the fold assignment and of the boosting.
        folds: cross-fitting folds.

    Returns:
        ``(scores, is_generated, fold)``; scores of different folds come from different fits:
        rank them within a fold only.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier  # imported when a test runs
    from threadpoolctl import threadpool_limits

    x = np.concatenate([np.asarray(real, np.float64), np.asarray(generated, np.float64)])
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError("classifier features must be finite vectors (N, d)")
    y = np.concatenate([np.zeros(len(real), dtype=bool), np.ones(len(generated), dtype=bool)])
    fold = np.random.default_rng(seed).permutation(len(x)) % folds
    scores = np.empty(len(x))
    # One OpenMP thread: these fits are small, and OpenMP's spinning threads slow them by 50x
    # on a machine whose cores are busy with anything else (the scores do not change).
    with threadpool_limits(1, user_api="openmp"):
        for k in range(folds):
            held_out = fold == k
            model = HistGradientBoostingClassifier(
                **BOOSTING, early_stopping=False, random_state=seed
            )
            model.fit(x[~held_out], y[~held_out])
            scores[held_out] = model.decision_function(x[held_out])
    return scores, y, fold


def folded_auc(scores: np.ndarray, positive: np.ndarray, fold: np.ndarray) -> float:
    """Mean over folds of the ROC AUC within each fold."""
    return float(np.mean([roc_auc(scores[fold == k], positive[fold == k])
                          for k in np.unique(fold)]))  # fmt: skip


def classifier_auc(real: np.ndarray, generated: np.ndarray, *, seed: int = 0) -> float:
    """Classifier two-sample test: held-out ROC AUC of generated vs real (0.5 is perfect)."""
    return folded_auc(*classifier_scores(real, generated, seed=seed))
