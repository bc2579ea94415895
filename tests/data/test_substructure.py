"""Image substructure: energy-flow polynomials against brute force, N-subjettiness, shapes."""

from __future__ import annotations

import numpy as np
import pytest

from qdm_qiskit.data import jet_images
from qdm_qiskit.data.substructure import (
    EFP_NAMES,
    TRIANGLE_PIXELS,
    image_efps,
    image_nsubjettiness,
    pixel_geometry,
)
from qdm_qiskit.errors import DataError
from tests.conftest import rng

#: Each EFP as a sum over all pixel tuples (indices: one per vertex; one theta factor per
#: edge), evaluated without einsum's contraction-order optimisation, i.e. by brute force.
BRUTE_FORCE = {
    "efp_d1_dumbbell": "i,j,ij->",
    "efp_d2_double": "i,j,ij,ij->",
    "efp_d2_path": "i,j,k,ij,jk->",
    "efp_d3_triple": "i,j,ij,ij,ij->",
    "efp_d3_double_single": "i,j,k,ij,ij,jk->",
    "efp_d3_triangle": "i,j,k,ij,jk,ki->",
    "efp_d3_path": "i,j,k,l,ij,jk,kl->",
    "efp_d3_star": "i,j,k,l,ij,ik,il->",
}
#: Vertices of each graph: the EFP of ``c z`` is ``c**vertices`` times that of ``z``.
VERTICES = {
    name: len({index for operand in spec.split("->")[0].split(",") for index in operand})
    for name, spec in BRUTE_FORCE.items()
}
TAU_NAMES = ("tau1", "tau2", "tau3", "tau21", "tau32")


def brute_force_efp(name: str, image: np.ndarray, radius: float = 0.4) -> float:
    _, theta = pixel_geometry(image.shape[0], radius)
    z = image.ravel()
    operands = BRUTE_FORCE[name].split("->")[0].split(",")
    arrays = [z if len(operand) == 1 else theta for operand in operands]
    return float(np.einsum(BRUTE_FORCE[name], *arrays, optimize=False))


def random_images(n: int, npix: int, *, seed: int = 0, lit: int | None = None) -> np.ndarray:
    """Normalised random images; ``lit`` random pixels non-zero (all by default)."""
    generator = rng(seed)
    images = generator.exponential(size=(n, npix * npix)) ** 3
    if lit is not None:
        for row in images:
            row[generator.permutation(npix * npix)[lit:]] = 0.0
    images /= images.sum(axis=1, keepdims=True)
    return images.reshape(n, npix, npix)


@pytest.fixture(scope="module")
def sample_images(sample) -> np.ndarray:
    return jet_images(sample.X, npix=8)


# --- energy-flow polynomials ------------------------------------------------------------------


def test_eight_named_columns():
    assert len(EFP_NAMES) == len(set(EFP_NAMES)) == 8
    assert set(EFP_NAMES) == set(BRUTE_FORCE)
    assert image_efps(random_images(3, 4)).shape == (3, 8)


@pytest.mark.parametrize(("npix", "count"), [(4, 5), (8, 2)])
def test_efps_equal_brute_force_sums_over_pixel_tuples(npix, count):
    images = random_images(count, npix, seed=npix)
    efps = image_efps(images)
    for n, image in enumerate(images):
        expected = [brute_force_efp(name, image) for name in EFP_NAMES]
        np.testing.assert_allclose(efps[n], expected, rtol=1e-10, atol=0)


def test_efps_of_a_real_jet_equal_brute_force(sample_images):
    image = sample_images[0]
    expected = [brute_force_efp(name, image) for name in EFP_NAMES]
    np.testing.assert_allclose(image_efps(image[None])[0], expected, rtol=1e-10, atol=0)


def test_efps_with_another_radius_equal_brute_force():
    images = random_images(2, 4, seed=3)
    efps = image_efps(images, radius=1.0)
    for n, image in enumerate(images):
        expected = [brute_force_efp(name, image, radius=1.0) for name in EFP_NAMES]
        np.testing.assert_allclose(efps[n], expected, rtol=1e-10)
    # Every edge carries one factor of theta, which is proportional to the radius.
    edges = [1, 2, 2, 3, 3, 3, 3, 3]
    np.testing.assert_allclose(
        efps, image_efps(images, radius=0.4) * (1.0 / 0.4) ** np.array(edges), rtol=1e-10
    )


def test_triangle_is_exact_when_at_most_96_pixels_are_lit():
    images = random_images(2, 16, seed=1, lit=TRIANGLE_PIXELS)
    assert ((images > 0).sum(axis=(1, 2)) == TRIANGLE_PIXELS).all()
    column = EFP_NAMES.index("efp_d3_triangle")
    triangles = image_efps(images)[:, column]
    for n, image in enumerate(images):
        assert triangles[n] == pytest.approx(brute_force_efp("efp_d3_triangle", image), rel=1e-10)


def test_triangle_uses_the_96_brightest_pixels_when_more_are_lit():
    images = random_images(2, 16, seed=2)  # all 256 pixels lit, distinct values
    column = EFP_NAMES.index("efp_d3_triangle")
    triangles = image_efps(images)[:, column]
    for n, image in enumerate(images):
        brightest = image.copy().ravel()
        brightest[np.argsort(-brightest)[TRIANGLE_PIXELS:]] = 0.0
        top = brute_force_efp("efp_d3_triangle", brightest.reshape(image.shape))
        exact = brute_force_efp("efp_d3_triangle", image)
        assert triangles[n] == pytest.approx(top, rel=1e-10)
        assert 0 < triangles[n] < exact  # the dropped terms are all positive
    # The other columns stay exact (the two-vertex ones checked here; four vertices at 16x16
    # would take minutes by brute force).
    for name in ("efp_d1_dumbbell", "efp_d2_double", "efp_d3_triple"):
        expected = brute_force_efp(name, images[0])
        assert image_efps(images[:1])[0, EFP_NAMES.index(name)] == pytest.approx(expected)


def test_real_jets_at_16x16_keep_the_triangle_exact(sample):
    images = jet_images(sample.X[:200], npix=16)
    assert (images > 0).sum(axis=(1, 2)).max() <= TRIANGLE_PIXELS


def test_efps_scale_as_the_power_of_the_vertex_count():
    images = random_images(3, 4, seed=4)
    powers = np.array([VERTICES[name] for name in EFP_NAMES])
    assert powers.tolist() == [2, 2, 3, 2, 3, 3, 4, 4]
    np.testing.assert_allclose(image_efps(2.5 * images), image_efps(images) * 2.5**powers)


@pytest.mark.parametrize(
    "transform",
    [
        lambda im: im[:, :, ::-1],  # flip left-right
        lambda im: im[:, ::-1, :],  # flip up-down
        lambda im: np.transpose(im, (0, 2, 1)),
        lambda im: np.rot90(im, axes=(1, 2)),
    ],
    ids=["flip-lr", "flip-ud", "transpose", "rotate"],
)
def test_efps_and_taus_are_invariant_under_symmetries_of_the_grid(transform, sample_images):
    images = sample_images[:50]
    moved = np.ascontiguousarray(transform(images))
    np.testing.assert_allclose(image_efps(moved), image_efps(images), rtol=1e-10, atol=1e-15)
    before, after = image_nsubjettiness(images), image_nsubjettiness(moved)
    for name in TAU_NAMES:
        np.testing.assert_allclose(after[name], before[name], rtol=1e-10, atol=1e-15)


def test_efps_of_one_and_two_pixel_jets():
    one = np.zeros((1, 4, 4))
    one[0, 1, 2] = 1.0
    np.testing.assert_array_equal(image_efps(one), np.zeros((1, 8)))
    two = np.zeros((1, 4, 4))
    two[0, 0, 0] = two[0, 0, 3] = 0.5
    distance = 3 * 0.2  # three pixel widths of 2 R / npix = 0.2
    efps = dict(zip(EFP_NAMES, image_efps(two)[0], strict=True))
    assert efps["efp_d1_dumbbell"] == pytest.approx(2 * 0.25 * distance)
    assert efps["efp_d2_double"] == pytest.approx(2 * 0.25 * distance**2)
    assert efps["efp_d3_triple"] == pytest.approx(2 * 0.25 * distance**3)
    assert efps["efp_d3_triangle"] == pytest.approx(0.0, abs=1e-15)  # needs three pixels


def test_pixel_geometry():
    points, distances = pixel_geometry(4)
    assert points.shape == (16, 2) and distances.shape == (16, 16)
    np.testing.assert_allclose(np.unique(points[:, 0]), [-0.3, -0.1, 0.1, 0.3])
    np.testing.assert_allclose(points[1], [-0.3, -0.1])  # row index is dy, column index dphi
    np.testing.assert_allclose(distances, distances.T)
    np.testing.assert_array_equal(np.diag(distances), 0.0)
    assert distances[0, 15] == pytest.approx(np.hypot(0.6, 0.6))


# --- N-subjettiness ------------------------------------------------------------------------------


def test_one_pixel_jet_has_no_prongs():
    images = np.zeros((2, 8, 8))
    images[0, 3, 4] = 1.0
    images[1, 0, 7] = 1.0
    taus = image_nsubjettiness(images)
    assert set(taus) == set(TAU_NAMES)
    for name in TAU_NAMES:
        np.testing.assert_array_equal(taus[name], [0.0, 0.0])


def test_two_pixel_jet_has_two_prongs():
    image = np.zeros((1, 8, 8))
    image[0, 1, 1] = 0.7
    image[0, 5, 1] = 0.3
    taus = image_nsubjettiness(image)
    distance = 4 * 0.1  # four pixel widths of 2 R / npix = 0.1
    # One axis: on the brighter pixel, leaving the fainter one at distance / R.
    assert taus["tau1"][0] == pytest.approx(0.3 * distance / 0.4)
    assert taus["tau2"][0] == 0.0
    assert taus["tau3"][0] == 0.0
    assert taus["tau21"][0] == 0.0
    assert taus["tau32"][0] == 0.0  # 0/0 is reported as 0


def test_taus_decrease_with_the_number_of_axes_on_real_jets(sample_images):
    taus = image_nsubjettiness(sample_images)
    assert (taus["tau1"] > 0).all()
    assert (taus["tau1"] >= taus["tau2"]).all()
    assert (taus["tau2"] >= taus["tau3"]).all()
    assert (taus["tau3"] >= 0).all()
    for ratio in ("tau21", "tau32"):
        assert ((taus[ratio] >= 0) & (taus[ratio] <= 1)).all()
    np.testing.assert_allclose(taus["tau21"], taus["tau2"] / taus["tau1"])


def test_gluon_jets_are_broader_than_quark_jets(sample, sample_images):
    taus = image_nsubjettiness(sample_images)
    efps = image_efps(sample_images)
    quark = sample.y == 1
    for name in ("tau1", "tau21"):
        assert taus[name][quark].mean() < taus[name][~quark].mean()
    assert (efps[quark].mean(axis=0) < efps[~quark].mean(axis=0)).all()


def test_more_candidates_never_raise_tau(sample_images):
    images = sample_images[:100]
    few = image_nsubjettiness(images, candidates=3)
    many = image_nsubjettiness(images, candidates=8)
    for name in ("tau1", "tau2", "tau3"):
        assert (many[name] <= few[name] + 1e-15).all()


def test_tau1_equals_a_search_over_every_pixel_when_candidates_cover_the_image():
    images = random_images(3, 4, seed=5)
    points, _ = pixel_geometry(4)
    taus = image_nsubjettiness(images, candidates=16)
    for n, image in enumerate(images):
        distances = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1) / 0.4
        expected = min(float(image.ravel() @ distances[:, axis]) for axis in range(16))
        assert taus["tau1"][n] == pytest.approx(expected)


# --- shapes and errors ------------------------------------------------------------------------


def test_more_images_than_one_chunk():
    images = random_images(600, 4, seed=6)
    efps = image_efps(images)
    taus = image_nsubjettiness(images)
    assert efps.shape == (600, 8)
    assert all(taus[name].shape == (600,) for name in TAU_NAMES)
    # Chunking changes nothing: the same as computing the two parts on their own.
    for part in (slice(0, 512), slice(512, 600), slice(100, 101)):
        np.testing.assert_allclose(efps[part], image_efps(images[part]), rtol=1e-12)
        alone = image_nsubjettiness(images[part])
        for name in TAU_NAMES:
            np.testing.assert_allclose(taus[name][part], alone[name], rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (16,), (2, 4, 5), (2, 4, 4, 1), (2, 1, 4)], ids=str)
def test_bad_shapes_raise_data_error(shape):
    images = np.full(shape, 0.1)
    with pytest.raises(DataError, match="npix"):
        image_efps(images)
    with pytest.raises(DataError, match="npix"):
        image_nsubjettiness(images)
