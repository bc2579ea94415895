"""Small statistics shared across rooms (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the boolean class ``positive``.

    Computed as the Mann-Whitney U statistic with mid-ranks for ties, which equals the
    probability that a random positive scores above a random negative (ties count one half).

    Example:
        >>> roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True]))
        0.75
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both classes present")
    ranks = rankdata(scores)
    u = ranks[positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def mean_sd(values: object, form: str = ".3g") -> str:
    """``"mean +- sd"`` of per-seed values (sample sd; 0 for one value), as tables report them."""
    array = np.asarray(values, dtype=float)
    spread = array.std(ddof=1) if array.size > 1 else 0.0
    return f"{array.mean():{form}} +- {spread:{form}}"
