"""Jet substructure computed from images: energy-flow polynomials and N-subjettiness.

A generated jet exists only as an image, so every physics observable used to judge it is
computed from pixels: pixel ``j`` is a massless "particle" carrying the pT fraction ``z_j`` at the
centre ``(dy_j, dphi_j)`` of its cell. Real jets go through the same pixelisation, so real and
generated sets are compared like for like.

- :func:`image_efps`: the eight energy-flow polynomials (Komiske, Metodiev, Thaler, JHEP 04
  (2018) 013) of the connected multigraphs with at most three edges, ``beta = 1``,
  ``theta_ij = dR_ij``. JetNet's FPD/KPD use the 36 EFPs of degree <= 4 from the ``energyflow``
  package, which does not install beside this stack; these are the degree <= 3 prime ones,
  computed exactly with matrix products (the triangle on each jet's 96 brightest pixels).
- :func:`image_nsubjettiness`: ``tau_N = sum_j z_j min_k dR(j, a_k) / R`` (``beta = 1``) with
  the axes ``a_k`` chosen among the jet's brightest pixels to minimise ``tau_N`` (an exclusive
  search over ``candidates`` pixels instead of exclusive-kT axes), and the ratios ``tau21``,
  ``tau32``.
"""

from __future__ import annotations

import itertools

import numpy as np

from qdm_qiskit.errors import DataError

#: Names of :func:`image_efps`' columns: edges, then the graph.
EFP_NAMES: tuple[str, ...] = (
    "efp_d1_dumbbell",
    "efp_d2_double",
    "efp_d2_path",
    "efp_d3_triple",
    "efp_d3_double_single",
    "efp_d3_triangle",
    "efp_d3_path",
    "efp_d3_star",
)
#: Pixels kept per jet for the triangle EFP (the rest carry a negligible cubic weight).
TRIANGLE_PIXELS = 96


def pixel_geometry(npix: int, radius: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre offsets ``(P, 2)`` and the pairwise distances ``dR`` ``(P, P)``."""
    centres = (np.arange(npix) + 0.5) / npix * 2 * radius - radius
    dy, dphi = np.meshgrid(centres, centres, indexing="ij")
    points = np.stack([dy.ravel(), dphi.ravel()], axis=1)
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
    return points, distances


def image_efps(images: np.ndarray, *, radius: float = 0.4) -> np.ndarray:
    """The EFPs of :data:`EFP_NAMES` for normalised images ``(N, npix, npix)``, shape ``(N, 8)``."""
    z = _flat(images)
    _, theta = pixel_geometry(images.shape[1], radius)
    theta2, theta3 = theta**2, theta**3
    tz = z @ theta  # (N, P): sum_k theta_jk z_k
    t2z = z @ theta2
    weighted = z * tz  # z_j (theta z)_j
    columns = [
        np.einsum("nj,nj->n", z, tz),  # sum z_i z_j theta_ij
        np.einsum("nj,nj->n", z, t2z),  # doubled edge
        np.einsum("nj,nj->n", z, tz**2),  # path i - j - k
        np.einsum("nj,nj->n", z, z @ theta3),  # tripled edge
        np.einsum("nj,nj->n", z * t2z, tz),  # double edge i = j, then j - k
        _triangles(z, theta),
        np.einsum("nj,nj->n", weighted @ theta, weighted),  # path i - j - k - l
        np.einsum("nj,nj->n", z, tz**3),  # star with centre j
    ]
    return np.stack(columns, axis=1)


def _triangles(z: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``sum_ijk z_i z_j z_k theta_ij theta_jk theta_ki`` = ``trace((diag(z) theta)^3)``."""
    return np.concatenate([_triangles_chunk(part, theta) for part in _chunks(z)])


def _triangles_chunk(z: np.ndarray, theta: np.ndarray) -> np.ndarray:
    keep = min(TRIANGLE_PIXELS, z.shape[1])
    top = np.argsort(-z, axis=1)[:, :keep]
    zt = np.take_along_axis(z, top, axis=1)
    sub = theta[top[:, :, None], top[:, None, :]]  # (N, K, K)
    m = zt[:, :, None] * sub
    return np.einsum("nij,nji->n", m @ m, m)


def image_nsubjettiness(
    images: np.ndarray, *, radius: float = 0.4, candidates: int = 6
) -> dict[str, np.ndarray]:
    """``tau1``, ``tau2``, ``tau3``, ``tau21`` and ``tau32`` of normalised images (see module).

    Ratios are 0 where the denominator is 0 (a jet in one pixel has no second prong).
    """
    z = _flat(images)
    points, _ = pixel_geometry(images.shape[1], radius)
    parts = [_taus(part, points, radius, candidates) for part in _chunks(z)]
    taus = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    taus["tau21"] = _ratio(taus["tau2"], taus["tau1"])
    taus["tau32"] = _ratio(taus["tau3"], taus["tau2"])
    return taus


def _taus(
    z: np.ndarray, points: np.ndarray, radius: float, candidates: int
) -> dict[str, np.ndarray]:
    count = min(candidates, z.shape[1])
    top = np.argsort(-z, axis=1)[:, :count]  # (N, K) candidate axes
    axes = points[top]  # (N, K, 2)
    distance = np.sqrt(((points[None, :, None, :] - axes[:, None, :, :]) ** 2).sum(-1)) / radius
    taus = {}
    for n in (1, 2, 3):
        best = np.full(len(z), np.inf)
        for combo in itertools.combinations(range(count), min(n, count)):
            nearest = distance[:, :, list(combo)].min(axis=2)  # (N, P)
            best = np.minimum(best, np.einsum("nj,nj->n", z, nearest))
        taus[f"tau{n}"] = best
    return taus


def _chunks(z: np.ndarray, size: int = 512) -> list[np.ndarray]:
    """Row blocks that bound the memory of the per-jet intermediate arrays."""
    return [z[start : start + size] for start in range(0, max(len(z), 1), size)]


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _flat(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2] or len(images) == 0:
        raise DataError(f"images must have shape (N, npix, npix) with N > 0, got {images.shape}")
    return images.reshape(len(images), -1)
