"""Seeded train/validation/test splits, stratified by label.

Every fitted transform (scalers, PCA latents) must be fitted on ``splits.train`` only; the seed
notebook's min-max over the whole array leaks test statistics into training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qdm_qiskit.errors import ConfigError


@dataclass(frozen=True, eq=False)
class DataSplits:
    """Disjoint, sorted index arrays into a dataset.

    Attributes:
        train: indices of the training split.
        validation: indices of the validation split.
        test: indices of the test split.
        seed: the seed that drew the split.
        fractions: the requested (train, validation, test) fractions.
    """

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    seed: int
    fractions: tuple[float, float, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the split as JSON-ready lists (stored beside trained models)."""
        return {
            "seed": self.seed,
            "fractions": list(self.fractions),
            "train": self.train.tolist(),
            "validation": self.validation.tolist(),
            "test": self.test.tolist(),
        }


def make_splits(
    labels: np.ndarray,
    *,
    seed: int,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> DataSplits:
    """Split indices ``0..len(labels)-1`` per class, so each split keeps the class balance.

    Args:
        labels: class label per item (e.g. ``dataset.y``).
        seed: seed of the permutation; equal seeds give equal splits.
        fractions: train, validation and test fractions, non-negative and summing to 1.

    Returns:
        The split. Within each class, counts are rounded so the three parts add up exactly.
    """
    fracs = tuple(float(f) for f in fractions)
    if len(fracs) != 3 or min(fracs) < 0 or not np.isclose(sum(fracs), 1.0):
        raise ConfigError(
            f"split fractions must be 3 non-negative numbers summing to 1: {fractions}"
        )
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ConfigError(f"labels must be a non-empty 1-D array, got shape {labels.shape}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        n_train = round(fracs[0] * members.size)
        n_val = round(fracs[1] * members.size)
        for part, chunk in zip(parts, np.split(members, [n_train, n_train + n_val]), strict=True):
            part.append(chunk)
    train, validation, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    return DataSplits(train, validation, test, seed, (fracs[0], fracs[1], fracs[2]))
