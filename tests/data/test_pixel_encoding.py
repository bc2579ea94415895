"""Jet images <-> diffusion values: compression, zero suppression, fitting, serialisation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qdm_qiskit.data import jet_images
from qdm_qiskit.data.pixel_encoding import PixelEncoding
from qdm_qiskit.errors import ConfigError
from tests.conftest import rng

KINDS = ("sqrt", "log")


@pytest.fixture(scope="module")
def images(sample) -> np.ndarray:
    return jet_images(sample.X[:500], npix=8)


# --- encode / decode ------------------------------------------------------------------------------


def test_sqrt_round_trip_is_exact_on_jet_images(images):
    encoding = PixelEncoding("sqrt")
    values = encoding.encode(images)
    assert values.shape == images.shape
    np.testing.assert_allclose(encoding.decode(values), images, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(values, 2 * np.sqrt(images) - 1)


def test_log_round_trip_on_jet_images(images):
    encoding = PixelEncoding("log")
    decoded = encoding.decode(encoding.encode(images))
    np.testing.assert_allclose(decoded, images, rtol=1e-9, atol=1e-15)
    assert (decoded[images == 0] == 0).all()  # empty pixels come back exactly empty


@pytest.mark.parametrize("kind", KINDS)
def test_values_lie_in_the_unit_interval_and_empty_pixels_map_to_minus_one(kind, images):
    encoding = PixelEncoding(kind)
    values = encoding.encode(images)
    assert values.min() >= -1.0 and values.max() <= 1.0
    np.testing.assert_allclose(values[images == 0], -1.0, atol=1e-12)
    assert encoding.encode(np.zeros((1, 2, 2))) == pytest.approx(-np.ones((1, 2, 2)), abs=1e-12)
    # Monotonic: brighter pixels get larger values.
    p = np.linspace(0.0, 1.0, 101)
    assert (np.diff(encoding.encode(p)) > 0).all()


def test_sqrt_maps_a_full_pixel_to_plus_one():
    assert PixelEncoding("sqrt").encode(np.array([1.0]))[0] == 1.0


def test_log_maps_a_full_pixel_to_about_plus_one():
    assert PixelEncoding("log").encode(np.array([1.0]))[0] == pytest.approx(1.0, abs=1e-5)


def test_log_values_never_exceed_one():
    values = PixelEncoding("log").encode(np.array([1.0, 1.0 - 1e-6]))
    assert values.max() <= 1.0
    assert values[0] == pytest.approx(1.0, abs=1e-12)


def test_log_spreads_the_soft_pixels():
    soft = np.array([1e-4, 1e-3, 1e-2])
    sqrt_values = PixelEncoding("sqrt").encode(soft)
    log_values = PixelEncoding("log").encode(soft)
    assert (log_values > sqrt_values).all()
    # Linear in log10(p + floor): each decade well above the floor is 2/5 of the range.
    np.testing.assert_allclose(np.diff(log_values), 2 / 5, atol=0.02)


def test_encode_clips_fractions_outside_zero_one():
    encoding = PixelEncoding("sqrt")
    np.testing.assert_array_equal(encoding.encode(np.array([-0.5, 1.5])), [-1.0, 1.0])


@pytest.mark.parametrize("kind", KINDS)
def test_decode_clips_out_of_range_values(kind):
    encoding = PixelEncoding(kind)
    wild = np.array([[[-7.0, 3.0], [0.5, 1.0]]])
    clipped = np.clip(wild, -1.0, 1.0)
    np.testing.assert_allclose(encoding.decode(wild), encoding.decode(clipped))
    decoded = encoding.decode(wild)
    assert decoded[0, 0, 0] == 0.0
    assert decoded[0, 0, 1] == pytest.approx(decoded[0, 1, 1])


@pytest.mark.parametrize("kind", KINDS)
def test_decode_renormalises_each_image_to_one(kind):
    values = rng(1).uniform(-1.0, 1.0, size=(20, 4, 4))
    decoded = PixelEncoding(kind).decode(values)
    assert decoded.shape == values.shape
    assert (decoded >= 0).all()
    np.testing.assert_allclose(decoded.sum(axis=(1, 2)), 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_decode_suppresses_pixels_below_zero_below(kind):
    plain = PixelEncoding(kind)
    suppressed = PixelEncoding(kind, zero_below=0.05)
    image = np.array([[[0.6, 0.3], [0.07, 0.03]]])
    values = plain.encode(image)
    decoded = suppressed.decode(values)
    assert decoded[0, 1, 1] == 0.0
    kept = np.array([[[0.6, 0.3], [0.07, 0.0]]])
    np.testing.assert_allclose(decoded, kept / kept.sum(), rtol=1e-9)
    np.testing.assert_allclose(plain.decode(values), image, rtol=1e-9)  # 0 disables


@pytest.mark.parametrize("kind", KINDS)
def test_an_image_with_nothing_left_decodes_empty_not_nan(kind):
    encoding = PixelEncoding(kind, zero_below=0.5)
    faint = np.full((1, 4, 4), 1 / 16)
    values = np.concatenate([encoding.encode(faint), -np.ones((1, 4, 4))])
    decoded = encoding.decode(values)
    assert np.isfinite(decoded).all()
    np.testing.assert_array_equal(decoded, 0.0)


def test_decode_keeps_other_images_when_one_is_empty():
    encoding = PixelEncoding("sqrt")
    values = np.stack([-np.ones((2, 2)), np.array([[1.0, -1.0], [-1.0, -1.0]])])
    decoded = encoding.decode(values)
    np.testing.assert_array_equal(decoded[0], 0.0)
    np.testing.assert_array_equal(decoded[1], [[1.0, 0.0], [0.0, 0.0]])


# --- fitting --------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantile", [0.0, 0.01, 0.1, 0.3])
@pytest.mark.parametrize("kind", KINDS)
def test_fit_sets_zero_below_to_a_quantile_of_the_lit_training_pixels(images, kind, quantile):
    encoding = PixelEncoding.fit(images, kind=kind, zero_quantile=quantile)
    assert encoding.kind == kind
    lit = images[images > 0]
    assert encoding.zero_below == pytest.approx(np.quantile(lit, quantile) if quantile else 0.0)
    # Empty pixels do not pull the threshold down to 0.
    if quantile:
        assert encoding.zero_below > 0
        assert (lit < encoding.zero_below).mean() == pytest.approx(quantile, abs=0.01)


def test_fit_default_is_one_percent_sqrt(images):
    encoding = PixelEncoding.fit(images)
    assert encoding.kind == "sqrt"
    assert encoding.zero_below == pytest.approx(np.quantile(images[images > 0], 0.01))
    # Decoding the training images loses only the faintest pixels.
    decoded = encoding.decode(encoding.encode(images))
    lost = (images > 0) & (decoded == 0)
    assert lost.sum() <= 0.011 * (images > 0).sum()


def test_fit_refuses_all_empty_training_images():
    with pytest.raises(ConfigError, match="empty"):
        PixelEncoding.fit(np.zeros((5, 4, 4)))


@pytest.mark.parametrize("quantile", [-0.01, 0.5, 0.9, 1.0, math.nan, math.inf])
def test_fit_refuses_bad_quantiles(images, quantile):
    with pytest.raises(ConfigError, match="zero_quantile"):
        PixelEncoding.fit(images, zero_quantile=quantile)


@pytest.mark.parametrize("kind", ["linear", "SQRT", "", None])
def test_fit_and_constructor_refuse_bad_kinds(images, kind):
    with pytest.raises(ConfigError, match="sqrt or log"):
        PixelEncoding.fit(images, kind=kind)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="sqrt or log"):
        PixelEncoding(kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"zero_below": -0.1}, "zero_below"),
        ({"zero_below": 1.0}, "zero_below"),
        ({"zero_below": math.nan}, "zero_below"),
        ({"zero_below": True}, "zero_below"),
        ({"zero_below": "0.1"}, "zero_below"),
        ({"log_floor": 0.1}, "log_floor"),
        ({"log_floor": -1e-5}, "log_floor"),
        ({"kind": "log", "log_floor": 0.0}, "positive log_floor"),
    ],
)
def test_constructor_refuses_bad_numbers(options, message):
    with pytest.raises(ConfigError, match=message):
        PixelEncoding(**options)


@pytest.mark.parametrize(
    "encoding",
    [PixelEncoding(), PixelEncoding("log", log_floor=1e-4, zero_below=0.003)],
    ids=["default", "log"],
)
def test_to_dict_round_trips_through_the_constructor(encoding):
    record = encoding.to_dict()
    assert set(record) == {"kind", "log_floor", "zero_below"}
    assert PixelEncoding(**record) == encoding
    assert PixelEncoding(**json.loads(json.dumps(record))) == encoding


def test_fitted_encoding_round_trips_through_its_record(images):
    fitted = PixelEncoding.fit(images, kind="log")
    rebuilt = PixelEncoding(**fitted.to_dict())
    values = fitted.encode(images)
    np.testing.assert_array_equal(rebuilt.decode(values), fitted.decode(values))
