"""Jet images: normalisation, centring, and agreement with an independent histogram."""

from __future__ import annotations

import numpy as np
import pytest

from qdm_qiskit.data import jet_images
from qdm_qiskit.errors import DataError


@pytest.mark.parametrize("npix", [4, 8, 16])
def test_images_sum_to_one_and_match_histogram2d(sample, npix):
    X = sample.X[:200]
    images = jet_images(X, npix=npix)
    assert images.shape == (200, npix, npix)
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, atol=1e-12)
    edges = np.linspace(-0.4, 0.4, npix + 1)
    for jet in X[:20]:
        real = jet[jet[:, 0] > 0]
        pt, y, phi = real[:, 0], real[:, 1], real[:, 2]
        dy = y - np.average(y, weights=pt)
        dphi = phi - np.average(phi, weights=pt)
        hist, _, _ = np.histogram2d(dy, dphi, bins=[edges, edges], weights=pt)
        expected = hist / hist.sum()
        index = next(i for i, j in enumerate(X) if j is jet or np.array_equal(j, jet))
        np.testing.assert_allclose(images[index], expected, atol=1e-12)


def test_image_window_holds_nearly_all_pt(sample):
    """The data fit the window: [-R, R] around the pT centroid holds > 99.9% of the pT."""
    X = sample.X
    pt = X[:, :, 0]
    total = pt.sum(axis=1, keepdims=True)
    dy = X[:, :, 1] - (pt * X[:, :, 1]).sum(axis=1, keepdims=True) / total
    dphi = X[:, :, 2] - (pt * X[:, :, 2]).sum(axis=1, keepdims=True) / total
    inside = (np.abs(dy) <= 0.4) & (np.abs(dphi) <= 0.4)
    assert ((pt * inside).sum() / pt.sum()) > 0.999


def test_single_particle_lands_in_a_central_pixel():
    X = np.array([[[250.0, 0.3, 2.0, 211.0], [0, 0, 0, 0]]])
    image = jet_images(X, npix=4)[0]
    assert image.sum() == 1.0
    assert image[2, 2] == 1.0  # offset 0 is the lower edge of the upper-middle pixel


def test_centroid_of_images_is_near_the_centre(sample):
    npix = 16
    images = jet_images(sample.X[:500], npix=npix)
    centres = np.linspace(-0.4, 0.4, npix + 1)[:-1] + 0.4 / npix
    mean_dy = (images.sum(axis=2) * centres).sum(axis=1)
    mean_dphi = (images.sum(axis=1) * centres).sum(axis=1)
    # Binning shifts the centroid by at most half a pixel.
    assert np.abs(mean_dy).max() <= 0.4 / npix + 1e-9
    assert np.abs(mean_dphi).max() <= 0.4 / npix + 1e-9


@pytest.mark.parametrize("npix", [0, -2, 2.5, True])
def test_invalid_npix(npix):
    with pytest.raises(DataError):
        jet_images(np.ones((1, 1, 4)), npix=npix)


def test_offsets_on_the_window_edge_are_kept():
    """Values at +-R (even one ulp below R after rounding) land in the edge pixels."""
    r = 0.4
    for offset in (r, np.nextafter(r, 0.0), -r):
        # Two equal-pt particles at +-offset: centroid 0, offsets exactly +-offset.
        X = np.array([[[10.0, offset, 0.0, 22], [10.0, -offset, 0.0, 22]]])
        image = jet_images(X, npix=4, radius=r)[0]
        assert image.sum() == pytest.approx(1.0)
        assert image[0].sum() == pytest.approx(0.5) and image[-1].sum() == pytest.approx(0.5)


def test_phi_across_zero_is_binned_like_continuous_phi():
    """A file with phi in [0, 2 pi) (not wrapped around the jet) gives the same image."""
    continuous = np.array(
        [[[100.0, 0.0, -0.05, 211], [60.0, 0.1, 0.1, 22], [30.0, -0.1, -0.2, 22]]]
    )
    wrapped = continuous.copy()
    wrapped[..., 2] = np.mod(wrapped[..., 2], 2 * np.pi)
    np.testing.assert_allclose(jet_images(wrapped, npix=8), jet_images(continuous, npix=8),
                               atol=1e-12)  # fmt: skip
