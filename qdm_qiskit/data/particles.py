"""Particle masses by PDG id and four-momenta from ``(pt, y, phi, pid)`` rows.

The jet format stores rapidity, not pseudorapidity, so a four-momentum needs each particle's
mass: ``E = mT cosh y``, ``pz = mT sinh y`` with ``mT = sqrt(pt^2 + m^2)``. The table covers the
particles a hadron-level generator leaves stable (with Pythia's default decays: photons, leptons,
charged pions and kaons, K_L, nucleons) plus the long-lived strange particles some generators keep.
"""

from __future__ import annotations

import numpy as np

from qdm_qiskit.errors import DataError

#: Masses in GeV keyed by absolute PDG id, as in Pythia 8.3's particle data (rounded PDG values),
#: so four-vectors rebuilt from stored rows reproduce the generator's jets.
PDG_MASSES_GEV: dict[int, float] = {
    11: 0.000511,  # e
    12: 0.0,  # nu_e
    13: 0.10566,  # mu
    14: 0.0,  # nu_mu
    16: 0.0,  # nu_tau
    22: 0.0,  # photon
    111: 0.13498,  # pi0 (if left undecayed)
    130: 0.49761,  # K_L
    211: 0.13957,  # pi+-
    310: 0.49761,  # K_S
    321: 0.49368,  # K+-
    2112: 0.93957,  # n
    2212: 0.93827,  # p
    3112: 1.19745,  # Sigma-
    3122: 1.11568,  # Lambda
    3222: 1.18937,  # Sigma+
    3312: 1.32171,  # Xi-
    3322: 1.31486,  # Xi0
    3334: 1.67245,  # Omega-
}


def masses_from_pids(pids: np.ndarray) -> np.ndarray:
    """Map an array of PDG ids (0 = padding) to masses in GeV.

    Raises:
        DataError: if an id is not in :data:`PDG_MASSES_GEV`.
    """
    abs_ids = np.abs(np.rint(pids)).astype(np.int64)
    known = np.array(sorted(PDG_MASSES_GEV), dtype=np.int64)
    table = np.array([PDG_MASSES_GEV[k] for k in known])
    pos = np.searchsorted(known, abs_ids)
    pos_clipped = np.clip(pos, 0, len(known) - 1)
    found = (known[pos_clipped] == abs_ids) | (abs_ids == 0)
    if not found.all():
        unknown = sorted({int(v) for v in abs_ids[~found]})[:10]
        raise DataError(f"no mass known for PDG id(s) {unknown}; use masses='massless'")
    return np.where(abs_ids == 0, 0.0, table[pos_clipped])


def four_momenta(X: np.ndarray, *, masses: str = "pid") -> np.ndarray:
    """Return ``(E, px, py, pz)`` per particle, shape ``X.shape[:-1] + (4,)``; padding gives 0.

    Args:
        X: particles ``(..., 4)`` with columns ``(pt, y, phi, pid)``.
        masses: ``"pid"`` to take masses from the PDG id, ``"massless"`` to set them to zero.
    """
    if masses not in ("pid", "massless"):
        raise DataError(f"masses must be 'pid' or 'massless', got {masses!r}")
    pt, rap, phi = X[..., 0], X[..., 1], X[..., 2]
    m = masses_from_pids(X[..., 3]) if masses == "pid" else np.zeros_like(pt)
    mt = np.where(pt > 0, np.sqrt(pt**2 + m**2), 0.0)
    return np.stack([mt * np.cosh(rap), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(rap)], -1)


def rapidity(energy: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """Rapidity ``y = 1/2 ln((E + pz) / (E - pz))``, the coordinate jets are clustered in."""
    return 0.5 * np.log((energy + pz) / (energy - pz))
