"""Transforms fitted on a training split and kept for decoding.

Both transforms are frozen: ``fit`` is a class method returning a fitted instance, and
``to_dict``/``from_dict`` round-trip them so a trained model can decode its samples later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qdm_qiskit.errors import ConfigError, DataError


def _as_matrix(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise DataError(f"{what} expects a non-empty (n_samples, n_features) array, got {x.shape}")
    if not np.isfinite(x).all():
        raise DataError(f"{what}: input contains NaN/inf")
    return x


@dataclass(frozen=True, eq=False)
class MinMaxScaler:
    """Per-feature affine map of the training range onto [0, 1].

    Values outside the training range map outside [0, 1]: that is how a held-out set should look,
    not something to clip away.

    Attributes:
        minimum: per-feature minimum seen in training.
        scale: per-feature (maximum - minimum), 1 where the feature was constant.
    """

    minimum: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, train: np.ndarray) -> MinMaxScaler:
        """Fit on training rows ``(n_samples, n_features)`` only."""
        x = _as_matrix(train, "MinMaxScaler.fit")
        lo, hi = x.min(axis=0), x.max(axis=0)
        return cls(lo, np.where(hi > lo, hi - lo, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map features to the unit range of the training data."""
        return (_as_matrix(x, "MinMaxScaler.transform") - self.minimum) / self.scale

    def inverse_transform(self, u: np.ndarray) -> np.ndarray:
        """Map scaled features back to physical units."""
        return np.asarray(u, dtype=np.float64) * self.scale + self.minimum

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready parameters."""
        return {"kind": "minmax", "minimum": self.minimum.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MinMaxScaler:
        """Rebuild from :meth:`to_dict` output."""
        _check_kind(data, "minmax")
        return cls(np.asarray(data["minimum"], float), np.asarray(data["scale"], float))


@dataclass(frozen=True, eq=False)
class PCALatent:
    """PCA to ``2**n_qubits`` components: compact latents for amplitude encoding.

    Fitted by SVD of the centred training matrix. Component signs are fixed (largest-magnitude
    loading positive) so that the same data always gives the same latents.

    Attributes:
        n_qubits: register size; the latent dimension is ``2**n_qubits``.
        mean: training mean, subtracted before projection.
        components: ``(2**n_qubits, n_features)`` orthonormal rows.
        explained_variance_ratio: share of the training variance per component.
    """

    n_qubits: int
    mean: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray

    @property
    def dim(self) -> int:
        """Latent dimension ``2**n_qubits``."""
        return 2**self.n_qubits

    @classmethod
    def fit(cls, train: np.ndarray, *, n_qubits: int) -> PCALatent:
        """Fit on training rows ``(n_samples, n_features)`` only.

        Raises:
            ConfigError: if ``2**n_qubits`` exceeds the rank the training data can give.
        """
        x = _as_matrix(train, "PCALatent.fit")
        if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 1:
            raise ConfigError(f"n_qubits must be a positive integer, got {n_qubits!r}")
        dim = 2**n_qubits
        if dim > min(x.shape):
            raise ConfigError(
                f"a latent of dimension 2**{n_qubits} = {dim} needs at least {dim} training "
                f"samples and features, got {x.shape}"
            )
        mean = x.mean(axis=0)
        _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
        components = vt[:dim]
        signs = np.sign(components[np.arange(dim), np.abs(components).argmax(axis=1)])
        variance = s**2
        ratio = variance[:dim] / variance.sum() if variance.sum() > 0 else np.zeros(dim)
        return cls(n_qubits, mean, components * signs[:, None], ratio)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Project rows onto the components: ``(n_samples, 2**n_qubits)``."""
        return (_as_matrix(x, "PCALatent.transform") - self.mean) @ self.components.T

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Decode latents back to feature space (the best rank-``2**n`` reconstruction)."""
        return np.asarray(z, dtype=np.float64) @ self.components + self.mean

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready parameters."""
        return {
            "kind": "pca",
            "n_qubits": self.n_qubits,
            "mean": self.mean.tolist(),
            "components": self.components.tolist(),
            "explained_variance_ratio": self.explained_variance_ratio.tolist(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PCALatent:
        """Rebuild from :meth:`to_dict` output."""
        _check_kind(data, "pca")
        return cls(
            int(data["n_qubits"]),
            np.asarray(data["mean"], float),
            np.asarray(data["components"], float),
            np.asarray(data["explained_variance_ratio"], float),
        )


def _check_kind(data: Mapping[str, Any], kind: str) -> None:
    if data.get("kind") != kind:
        raise ConfigError(f"expected a stored {kind!r} transform, got kind {data.get('kind')!r}")
