"""Jet substructure observables computed from constituents.

The quantities that separate quark from gluon jets and that generative models of jets are
judged on: mass, constituent multiplicity, pT dispersion pT^D, girth (the pT-weighted mean
distance to the axis) and the generalised angularities ``lambda_beta = sum_i z_i (dR_i / R)^beta``
(Larkoski, Thaler, Waalewijn, JHEP 11 (2014) 129) for beta = 1/2 (Les Houches angularity),
1 (width) and 2 (thrust-like). The jet axis is the four-momentum sum of the constituents, so the
distances use rapidity, as anti-kT clustering does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qdm_qiskit.data.particles import four_momenta, rapidity

#: Columns returned by :func:`jet_observables`, in order.
OBSERVABLES: tuple[str, ...] = (
    "pt",
    "rapidity",
    "phi",
    "mass",
    "multiplicity",
    "ptd",
    "girth",
    "lambda_half",
    "lambda_1",
    "lambda_2",
)


def jet_observables(X: np.ndarray, *, radius: float = 0.4, masses: str = "pid") -> pd.DataFrame:
    """Compute per-jet observables.

    Args:
        X: particles ``(n_jets, max_particles, 4)`` as ``(pt, y, phi, pid)``, zero-padded.
        radius: jet radius R used to normalise the angularities.
        masses: ``"pid"`` (particle masses from the PDG id) or ``"massless"``.

    Returns:
        One row per jet with the columns :data:`OBSERVABLES`: jet ``pt`` [GeV], ``rapidity``,
        ``phi``, ``mass`` [GeV], ``multiplicity``, ``ptd``, ``girth`` (sum z_i dR_i) and
        ``lambda_half``, ``lambda_1``, ``lambda_2``.
    """
    X = np.asarray(X, dtype=np.float64)
    axes = _jet_axes(X, masses=masses)
    dr = np.nan_to_num(_distances(X, axes), nan=0.0)
    pt = X[..., 0]
    z = pt / pt.sum(axis=1, keepdims=True)
    return pd.DataFrame(
        {
            "pt": axes.pt,
            "rapidity": axes.rapidity,
            "phi": axes.phi,
            "mass": axes.mass,
            "multiplicity": (pt > 0).sum(axis=1),
            "ptd": np.sqrt((pt**2).sum(axis=1)) / pt.sum(axis=1),
            "girth": (z * dr).sum(axis=1),
            "lambda_half": (z * np.sqrt(dr / radius)).sum(axis=1),
            "lambda_1": (z * dr / radius).sum(axis=1),
            "lambda_2": (z * (dr / radius) ** 2).sum(axis=1),
        },
        columns=list(OBSERVABLES),
    )


def constituent_distances(X: np.ndarray, *, masses: str = "pid") -> np.ndarray:
    """Distance in (y, phi) of every constituent to its jet axis; padding rows give NaN."""
    X = np.asarray(X, dtype=np.float64)
    return _distances(X, _jet_axes(X, masses=masses))


@dataclass(frozen=True)
class _JetAxes:
    pt: np.ndarray
    rapidity: np.ndarray
    phi: np.ndarray
    mass: np.ndarray


def _jet_axes(X: np.ndarray, *, masses: str) -> _JetAxes:
    """Jet kinematics from the four-momentum sum of the constituents (the E-scheme axis)."""
    energy, px, py, pz = np.moveaxis(four_momenta(X, masses=masses).sum(axis=1), -1, 0)
    return _JetAxes(
        pt=np.hypot(px, py),
        rapidity=rapidity(energy, pz),
        phi=np.arctan2(py, px),
        mass=np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0.0)),
    )


def _distances(X: np.ndarray, axes: _JetAxes) -> np.ndarray:
    dphi = np.mod(X[..., 2] - axes.phi[:, None] + np.pi, 2 * np.pi) - np.pi
    dr = np.hypot(X[..., 1] - axes.rapidity[:, None], dphi)
    return np.where(X[..., 0] > 0, dr, np.nan)
