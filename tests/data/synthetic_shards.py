"""Synthetic jet-cache shards: the shipped sample's jets dressed with a shard's generator record.

Generating a real shard takes minutes, so the fast cache tests write files that look exactly like
what ``generate_jets(SHARD_JETS, seed=shard_seed(S, k))`` would produce (same metadata layout,
default settings, installed versions) but hold jets of the shipped sample. :class:`FakeGenerator`
stands in for :func:`~qdm_qiskit.data.generate.generate_jets` in ``qdm_qiskit.data.cache``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qdm_qiskit.data import cache
from qdm_qiskit.data.format import JetDataset, save_jets
from qdm_qiskit.data.generate import GeneratorSettings, _metadata

#: Event counts recorded in a synthetic shard's metadata (any plausible numbers do).
EVENTS = {"quark": 2500, "gluon": 2600}


def shard_indices(generator_seed: int, n_jets: int, total: int) -> np.ndarray:
    """Which sample jets the synthetic shard of ``generator_seed`` holds (differs per seed)."""
    return (np.arange(n_jets) + 7 * generator_seed) % total


def make_shard(
    sample: JetDataset,
    generator_seed: int,
    *,
    settings: GeneratorSettings | None = None,
    n_jets: int | None = None,
    indices: np.ndarray | None = None,
    **record: Any,
) -> JetDataset:
    """A dataset as ``generate_jets(n_jets, seed=generator_seed)`` would record it.

    ``n_jets`` defaults to the cache's current ``SHARD_JETS``; ``record`` overrides metadata keys
    (``versions`` is merged into the recorded versions).
    """
    n_jets = cache.SHARD_JETS if n_jets is None else n_jets
    if indices is None:
        indices = shard_indices(generator_seed, n_jets, sample.n_jets)
    metadata = _metadata(n_jets, generator_seed, settings or GeneratorSettings(), dict(EVENTS))
    versions = record.pop("versions", None)
    if versions is not None:
        metadata["versions"] = {**metadata["versions"], **versions}
    metadata.update(record)
    jets = sample.subset(indices)
    return JetDataset(jets.X, jets.y, metadata)


def write_shard(store: cache.JetCache, sample: JetDataset, seed: int, index: int) -> Path:
    """Write a valid synthetic shard ``index`` of dataset seed ``seed``; return its path."""
    return save_jets(
        store.shard_path(seed, index), make_shard(sample, cache.shard_seed(seed, index))
    )


def expected_jets(sample: JetDataset, seed: int, n_jets: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of the first ``n_jets`` jets of a cache of valid synthetic shards of ``seed``.

    ``X`` is padded to the sample's width; compare with ``assert_same_jets``.
    """
    shards = -(-n_jets // cache.SHARD_JETS)
    indices = np.concatenate(
        [
            shard_indices(cache.shard_seed(seed, k), cache.SHARD_JETS, sample.n_jets)
            for k in range(shards)
        ]
    )[:n_jets]
    return sample.X[indices], sample.y[indices]


def assert_same_jets(jets: JetDataset, X: np.ndarray, y: np.ndarray) -> None:
    """``jets`` holds exactly ``(X, y)``, up to trailing zero padding."""
    width = jets.X.shape[1]
    assert width <= X.shape[1]
    np.testing.assert_array_equal(jets.X, X[:, :width])
    assert not X[:, width:].any()
    np.testing.assert_array_equal(jets.y, y)


class FakeGenerator:
    """Stands in for ``generate_jets`` in the cache: returns the synthetic shard of a seed."""

    def __init__(self, sample: JetDataset) -> None:
        self.sample = sample
        self.calls: list[int] = []

    def __call__(
        self,
        n_jets: int,
        *,
        seed: int,
        settings: GeneratorSettings | None = None,
        batch_size: int = 100,
        progress: Callable[[int], None] | None = None,
    ) -> JetDataset:
        assert n_jets == cache.SHARD_JETS
        assert settings is None  # the cache always generates with the default recipe
        self.calls.append(seed)
        if progress is not None:
            progress(n_jets)
        return make_shard(self.sample, seed, n_jets=n_jets)


def refuse_generation(*args: Any, **kwargs: Any) -> JetDataset:
    """A ``generate_jets`` replacement for tests where nothing may be generated."""
    raise AssertionError(f"generate_jets called with {args}, {kwargs}")
