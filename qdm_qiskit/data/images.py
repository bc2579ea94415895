"""pT-weighted jet images for small quantum registers.

Each jet becomes an ``npix x npix`` image in (delta y, delta phi) over ``[-R, R]^2``, centred on
the jet's pT centroid, with pixel values the summed particle pT, divided by the image total so
that every image sums to one (per-jet normalisation: no statistic is shared across jets, so
nothing leaks between splits). Row index follows delta y, column index delta phi, both
increasing.
"""

from __future__ import annotations

import numpy as np

from qdm_qiskit.errors import DataError


def jet_images(X: np.ndarray, *, npix: int = 8, radius: float = 0.4) -> np.ndarray:
    """Pixelise jets into normalised pT images.

    Args:
        X: particles ``(n_jets, max_particles, 4)`` as ``(pt, y, phi, pid)``, zero-padded.
        npix: pixels per side; 4, 8 and 16 fit registers of 4, 6 and 8 qubits.
        radius: half-width of the image in y and phi (the jet radius).

    Returns:
        Images of shape ``(n_jets, npix, npix)``, float64, each summing to 1.

    Example:
        >>> import numpy as np
        >>> X = np.array([[[100.0, 0.1, 1.0, 22], [300.0, 0.1, 1.0, 211]]])
        >>> img = jet_images(X, npix=4)
        >>> img.shape, float(img.sum())
        ((1, 4, 4), 1.0)
    """
    if isinstance(npix, bool) or not isinstance(npix, (int, np.integer)) or npix < 1:
        raise DataError(f"npix must be a positive integer, got {npix!r}")
    if not radius > 0:
        raise DataError(f"radius must be positive, got {radius!r}")
    X = np.asarray(X, dtype=np.float64)
    pt, rap, phi = X[..., 0], X[..., 1], X[..., 2]
    total = pt.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise DataError("every jet needs at least one particle with positive pt")
    dy = rap - (pt * rap).sum(axis=1, keepdims=True) / total
    # Azimuth relative to the hardest particle, wrapped, so files whose phi is not already
    # continuous around the jet (phi near 0 and 2 pi) are binned correctly too.
    hardest = np.take_along_axis(phi, pt.argmax(axis=1)[:, None], axis=1)
    rel_phi = np.mod(phi - hardest + np.pi, 2 * np.pi) - np.pi
    dphi = rel_phi - (pt * rel_phi).sum(axis=1, keepdims=True) / total
    # Bins of width 2R/npix; the upper edge R belongs to the last bin, as in numpy.histogram2d.
    iy = _bin_index(dy, npix, radius)
    iphi = _bin_index(dphi, npix, radius)
    inside = (pt > 0) & (iy >= 0) & (iphi >= 0)
    jet = np.broadcast_to(np.arange(X.shape[0])[:, None], pt.shape)
    flat = (jet * npix + iy) * npix + iphi
    images = np.bincount(flat[inside], weights=pt[inside], minlength=X.shape[0] * npix * npix)
    images = images.reshape(X.shape[0], npix, npix)
    captured = images.sum(axis=(1, 2), keepdims=True)
    if (captured <= 0).any():
        raise DataError("a jet has no particle inside the image window; increase radius")
    return images / captured


def _bin_index(delta: np.ndarray, npix: int, radius: float) -> np.ndarray:
    """Pixel index of each offset, -1 outside ``[-radius, radius]`` (both edges included)."""
    index = np.floor((delta + radius) / (2 * radius) * npix).astype(np.int64)
    # Rounding can push values at (or a hair below) +radius to index npix: they belong to the
    # last pixel, as in numpy.histogram2d.
    index = np.clip(index, 0, npix - 1)
    return np.where(np.abs(delta) <= radius, index, -1)


#: Columns of :func:`image_observables`.
IMAGE_OBSERVABLES: tuple[str, ...] = (
    "ptd",
    "girth",
    "width",
    "mass_over_pt",
    "peak",
    "active_pixels",
)


def image_observables(
    images: np.ndarray, *, radius: float = 0.4, threshold: float = 0.01
) -> dict[str, np.ndarray]:
    """Jet observables computed from normalised images (what a generated image can be judged by).

    Pixel ``j`` carries the pT fraction ``z_j`` at the offset ``(dy_j, dphi_j)`` of its centre:

    - ``ptd``: ``sqrt(sum z_j^2)``, pT dispersion (large for quark-like, few-prong jets);
    - ``girth``: ``sum z_j r_j`` with ``r_j`` the distance of the pixel from the image centre;
    - ``width``: ``sqrt(sum z_j r_j^2)``;
    - ``mass_over_pt``: small-angle massless proxy ``sqrt(sum_{j<k} z_j z_k dR_jk^2)``;
    - ``peak``: the brightest pixel's fraction;
    - ``active_pixels``: pixels above ``threshold`` (a constituent-count proxy).
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(f"images must have shape (N, npix, npix), got {images.shape}")
    npix = images.shape[1]
    centres = (np.arange(npix) + 0.5) / npix * 2 * radius - radius
    dy, dphi = np.meshgrid(centres, centres, indexing="ij")
    z = images.reshape(len(images), -1)
    points = np.stack([dy.ravel(), dphi.ravel()], axis=1)
    r2 = (points**2).sum(axis=1)
    pair = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
    mass2 = 0.5 * np.einsum("nj,jk,nk->n", z, pair, z)
    return {
        "ptd": np.sqrt((z**2).sum(axis=1)),
        "girth": z @ np.sqrt(r2),
        "width": np.sqrt(z @ r2),
        "mass_over_pt": np.sqrt(np.clip(mass2, 0.0, None)),
        "peak": z.max(axis=1),
        "active_pixels": (z > threshold).sum(axis=1).astype(np.float64),
    }


def radial_profile(images: np.ndarray, *, radius: float = 0.4, annuli: int = 4) -> np.ndarray:
    """PT fraction of each image in ``annuli`` rings around the image centre, ``(N, annuli)``.

    Rings of width ``radius / (annuli - 1)`` by pixel-centre distance; the last ring also holds
    the corners beyond ``radius``. For normalised images each row sums to the image total.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(f"images must have shape (N, npix, npix), got {images.shape}")
    if isinstance(annuli, bool) or not isinstance(annuli, int) or annuli < 2:
        raise DataError(f"annuli must be an integer >= 2, got {annuli!r}")
    npix = images.shape[1]
    centres = (np.arange(npix) + 0.5) / npix * 2 * radius - radius
    dy, dphi = np.meshgrid(centres, centres, indexing="ij")
    distance = np.sqrt(dy**2 + dphi**2).ravel()
    ring = np.minimum((distance / (radius / (annuli - 1))).astype(np.int64), annuli - 1)
    membership = np.eye(annuli)[ring]  # (pixels, annuli)
    return images.reshape(len(images), -1) @ membership
