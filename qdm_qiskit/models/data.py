"""Training data of a run: jets -> normalised images -> split, as the config says.

Images are per-jet normalised (each sums to 1), so no statistic is shared across jets and
nothing leaks from the test split into training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdm_qiskit.data import (
    GLUON,
    QUARK,
    DataSplits,
    jet_images,
    load_jets,
    load_sample,
    make_splits,
)
from qdm_qiskit.errors import DataError
from qdm_qiskit.models.config import DataConfig


@dataclass(frozen=True, eq=False)
class JetImageData:
    """Jet images of one run and their split.

    Attributes:
        images: ``(N, npix, npix)``, each summing to 1.
        labels: ``(N,)`` quark = 1, gluon = 0.
        splits: train/validation/test indices into ``images``.
        particles: the selected jets' particle arrays ``(N, M, 4)`` the images were made from.
    """

    images: np.ndarray
    labels: np.ndarray
    splits: DataSplits
    particles: np.ndarray | None = None

    def part(self, name: str) -> np.ndarray:
        """Images of the ``train``, ``validation`` or ``test`` split."""
        return self.images[getattr(self.splits, name)]


def load_image_data(config: DataConfig) -> JetImageData:
    """Load the configured jets, filter by label, cap the count, image them and split."""
    jets = load_sample() if config.source == "sample" else load_jets(config.source)
    keep = np.arange(jets.n_jets)
    if config.label != "all":
        keep = keep[jets.y == (QUARK if config.label == "quark" else GLUON)]
    if config.max_jets:
        keep = keep[: config.max_jets]
    if keep.size < 10:
        raise DataError(f"{config.source}: only {keep.size} jets selected; need at least 10")
    images = jet_images(jets.X[keep], npix=config.npix)
    labels = np.asarray(jets.y[keep])
    splits = make_splits(labels, seed=config.split_seed)
    return JetImageData(images, labels, splits, np.asarray(jets.X[keep]))
