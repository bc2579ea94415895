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


def _as_matrix(x: np.ndarray, what: str, n_features: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise DataError(f"{what} expects a non-empty (n_samples, n_features) array, got {x.shape}")
    if n_features is not None and x.shape[1] != n_features:
        raise DataError(f"{what}: fitted on {n_features} features, got {x.shape[1]}")
    if not np.isfinite(x).all():
        raise DataError(f"{what}: input contains NaN/inf")
    return x


def _vector(values: object, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0 or not np.isfinite(array).all():
        raise ConfigError(f"{what} must be a non-empty finite vector, got shape {array.shape}")
    return array


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

    def __post_init__(self) -> None:
        minimum, scale = _vector(self.minimum, "minimum"), _vector(self.scale, "scale")
        if minimum.shape != scale.shape or (scale <= 0).any():
            raise ConfigError("minimum and scale must have one entry per feature, scale > 0")
        object.__setattr__(self, "minimum", minimum)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def fit(cls, train: np.ndarray) -> MinMaxScaler:
        """Fit on training rows ``(n_samples, n_features)`` only."""
        x = _as_matrix(train, "MinMaxScaler.fit")
        lo, hi = x.min(axis=0), x.max(axis=0)
        return cls(lo, np.where(hi > lo, hi - lo, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Map features to the unit range of the training data."""
        x = _as_matrix(x, "MinMaxScaler.transform", self.minimum.size)
        return (x - self.minimum) / self.scale

    def inverse_transform(self, u: np.ndarray) -> np.ndarray:
        """Map scaled features back to physical units."""
        return _as_matrix(u, "MinMaxScaler.inverse_transform", self.minimum.size) * self.scale + (
            self.minimum
        )

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready parameters."""
        return {"kind": "minmax", "minimum": self.minimum.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MinMaxScaler:
        """Rebuild from :meth:`to_dict` output."""
        _check_kind(data, "minmax", ("minimum", "scale"))
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

    def __post_init__(self) -> None:
        if isinstance(self.n_qubits, bool) or not isinstance(self.n_qubits, int):
            raise ConfigError(f"n_qubits must be an integer, got {self.n_qubits!r}")
        if self.n_qubits < 1:
            raise ConfigError(f"n_qubits must be positive, got {self.n_qubits}")
        mean = _vector(self.mean, "mean")
        components = np.asarray(self.components, dtype=np.float64)
        ratio = np.asarray(self.explained_variance_ratio, dtype=np.float64)
        if components.shape != (self.dim, mean.size) or ratio.shape != (self.dim,):
            raise ConfigError(
                f"a PCA latent for {self.n_qubits} qubits needs components of shape "
                f"({self.dim}, {mean.size}) and {self.dim} variance ratios, got "
                f"{components.shape} and {ratio.shape}"
            )
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "explained_variance_ratio", ratio)

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
        # Centring removes one rank: dim components need more than dim samples.
        if dim >= x.shape[0] or dim > x.shape[1]:
            raise ConfigError(
                f"a latent of dimension 2**{n_qubits} = {dim} needs more than {dim} training "
                f"samples and at least {dim} features, got {x.shape}"
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
        x = _as_matrix(x, "PCALatent.transform", self.mean.size)
        return (x - self.mean) @ self.components.T

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Decode latents back to feature space (the best rank-``2**n`` reconstruction)."""
        return _as_matrix(z, "PCALatent.inverse_transform", self.dim) @ self.components + self.mean

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
        _check_kind(data, "pca", ("n_qubits", "mean", "components", "explained_variance_ratio"))
        return cls(
            data["n_qubits"],
            np.asarray(data["mean"], float),
            np.asarray(data["components"], float),
            np.asarray(data["explained_variance_ratio"], float),
        )


def _check_kind(data: Mapping[str, Any], kind: str, keys: tuple[str, ...]) -> None:
    if data.get("kind") != kind:
        raise ConfigError(f"expected a stored {kind!r} transform, got kind {data.get('kind')!r}")
    missing = [key for key in keys if key not in data]
    if missing:
        raise ConfigError(f"stored {kind!r} transform lacks {', '.join(missing)}")
