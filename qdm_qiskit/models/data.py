"""Training data of a run: jets -> normalised images -> split, as the config says.

Images are per-jet normalised (each sums to 1), so no statistic is shared across jets and
nothing leaks from the test split into training.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdm_qiskit.data import (
    GLUON,
    QUARK,
    DataSplits,
    JetDataset,
    jet_images,
    load_jets,
    load_sample,
    make_splits,
)
from qdm_qiskit.data.cache import JetCache, default_data_dir
from qdm_qiskit.errors import DataError
from qdm_qiskit.models.config import DataConfig

#: Fewest jets a run accepts: each split needs a few (stratified by class).
MIN_JETS = 10


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


def load_image_data(
    config: DataConfig,
    *,
    data_dir: str | Path | None = None,
    notice: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> JetImageData:
    """Load the configured jets, filter by label, cap the count, image them and split.

    Args:
        config: the data section of a run.
        data_dir: workspace folder of the generated-jet cache (default
            :func:`~qdm_qiskit.data.cache.default_data_dir`); ``source = "pythia"`` only.
        notice: told about every cache shard generated (minutes each).
        progress: called with the number of jets accepted while generating.
    """
    jets = _jets(config, data_dir, notice, progress)
    keep = np.arange(jets.n_jets)
    if config.label != "all":
        keep = keep[jets.y == (QUARK if config.label == "quark" else GLUON)]
    if config.max_jets:
        keep = keep[: config.max_jets]
    if keep.size < MIN_JETS:
        raise DataError(
            f"{config.source}: only {keep.size} jets selected; the train/validation/test split "
            f"needs at least {MIN_JETS}"
        )
    images = jet_images(jets.X[keep], npix=config.npix)
    labels = np.asarray(jets.y[keep])
    splits = make_splits(labels, seed=config.split_seed)
    return JetImageData(images, labels, splits, np.asarray(jets.X[keep]))


def _jets(
    config: DataConfig,
    data_dir: str | Path | None,
    notice: Callable[[str], None] | None,
    progress: Callable[[int], None] | None,
) -> JetDataset:
    if config.source == "sample":
        return load_sample()
    if config.source == "pythia":
        directory = Path(data_dir) if data_dir is not None else default_data_dir()
        return JetCache(directory / "jets").load(
            config.jets, seed=config.generator_seed, notice=notice, progress=progress
        )
    paths = source_paths(config.source)
    limit = config.max_jets if config.max_jets and config.label == "all" else None
    return load_jets(paths, limit=limit)


def source_paths(source: str) -> list[Path]:
    """The files of a ``data.source`` path or glob pattern (sorted); refuse a pattern with none."""
    if not glob.has_magic(source):
        return [Path(source)]
    paths = sorted(Path(p) for p in glob.glob(source))
    if not paths:
        raise DataError(f"{source}: no file matches this pattern")
    return paths
