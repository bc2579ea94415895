"""Does a generator make varied jets of its own, or a constant, or copies of its training set?

- :func:`variance_ratio`: the summed per-pixel variance of the generated images over that of the
  real ones (1 for a generator as varied as the data, 0 for the mean image repeated);
- :func:`distinct_fraction`: the fraction of generated images with no earlier duplicate
  (Euclidean distance below ``tolerance`` between images summing to 1);
- :func:`memorised_fraction`: the fraction of generated images closer to their nearest training
  image than ``quantile`` of held-out real jets are (about ``quantile`` for a generator that does
  not copy; 1 for one that returns training jets).

Distances are Euclidean on pixels, computed by matrix products in blocks.
"""

from __future__ import annotations

import numpy as np


def variance_ratio(generated: np.ndarray, real: np.ndarray) -> float:
    """Summed per-pixel variance of ``generated`` over that of ``real`` (images or vectors)."""
    g, r = _flat(generated), _flat(real)
    total = float(r.var(axis=0).sum())
    return float(g.var(axis=0).sum()) / total if total > 0 else float("nan")


def distinct_fraction(images: np.ndarray, *, tolerance: float = 1e-3) -> float:
    """Fraction of images with no earlier image within Euclidean distance ``tolerance``."""
    x = _flat(images)
    squared = (x**2).sum(axis=1)
    duplicate = np.zeros(len(x), dtype=bool)
    for start in range(0, len(x), 512):
        block = x[start : start + 512]
        distance2 = squared[start : start + len(block), None] + squared[None, :] - 2.0 * block @ x.T
        earlier = np.arange(len(x))[None, :] < np.arange(start, start + len(block))[:, None]
        duplicate[start : start + len(block)] = ((distance2 < tolerance**2) & earlier).any(axis=1)
    return float(1.0 - duplicate.mean())


def nearest_distances(queries: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distance from each query to its nearest reference, ``(len(queries),)``."""
    q, r = _flat(queries), _flat(references)
    squared_r = (r**2).sum(axis=1)
    out = np.empty(len(q))
    for start in range(0, len(q), 1024):
        block = q[start : start + 1024]
        squared = (block**2).sum(axis=1)[:, None] + squared_r[None, :] - 2.0 * block @ r.T
        out[start : start + len(block)] = np.sqrt(np.clip(squared.min(axis=1), 0.0, None))
    return out


def memorised_fraction(
    generated: np.ndarray, train: np.ndarray, held_out: np.ndarray, *, quantile: float = 0.01
) -> float:
    """Fraction of ``generated`` nearer the training set than ``quantile`` of ``held_out`` is."""
    threshold = float(np.quantile(nearest_distances(held_out, train), quantile))
    return float(np.mean(nearest_distances(generated, train) < threshold))


def _flat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)
