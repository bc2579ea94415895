"""Input states of the reservoir: every source, the encoding circuits, seeds and errors."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from qiskit.quantum_info import Statevector

from qdm_qiskit.data import GLUON, QUARK, jet_images
from qdm_qiskit.errors import DataError
from qdm_qiskit.reservoir import InputsConfig, input_states

SOURCES = {
    "histogram": dict(source="histogram", num_qubits=3),
    "gaussian": dict(source="gaussian", num_qubits=3, count=5),
    "bimodal": dict(source="bimodal", num_qubits=4, count=5),
    "exponential": dict(source="exponential", num_qubits=2, count=5),
    "cluster": dict(source="cluster", num_qubits=3, count=5),
    "circle": dict(source="circle", num_qubits=3, count=5),
    "haar": dict(source="haar", num_qubits=2, count=5),
    "jets-observables": dict(source="jets", num_qubits=3, count=5),
    "jets-image": dict(
        source="jets", num_qubits=2, count=5, features="image", encoding="amplitude"
    ),
    "jets-image-4": dict(
        source="jets", num_qubits=4, count=4, features="image", encoding="amplitude"
    ),
    "latents-angle": dict(source="jets", num_qubits=3, count=5, features="latents"),
    "latents-amplitude": dict(
        source="jets", num_qubits=3, count=5, features="latents", encoding="amplitude"
    ),
}


def expected_count(options: dict) -> int:
    if options["source"] == "histogram":
        return len(InputsConfig(**options).observable_names)
    return options["count"]


def product_state(angles: np.ndarray) -> np.ndarray:
    """``RY(angle_q)|0>`` on qubit ``q``; qubit 0 the low bit (rightmost Kronecker factor)."""
    factors = [np.array([np.cos(a / 2), np.sin(a / 2)]) for a in angles]
    return reduce(np.kron, factors[::-1])


def phase_free_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - |<a|b>|^2``: zero iff the states agree up to a global phase."""
    return float(1.0 - abs(np.vdot(a, b)) ** 2)


@pytest.fixture(scope="module", params=list(SOURCES))
def drawn(request):
    options = SOURCES[request.param]
    return options, input_states(InputsConfig(**options))


def test_states_are_normalised_with_the_right_shape(drawn):
    options, inputs = drawn
    n = options["num_qubits"]
    k = expected_count(options)
    assert inputs.states.shape == (k, 2**n)
    assert inputs.states.dtype == np.complex128
    np.testing.assert_allclose(np.linalg.norm(inputs.states, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(inputs.distributions, np.abs(inputs.states) ** 2)
    np.testing.assert_allclose(inputs.distributions.sum(axis=1), 1.0, atol=1e-12)
    assert inputs.circuit.num_qubits == n
    assert inputs.values.shape == (k, inputs.circuit.num_parameters)
    assert isinstance(inputs.description, str) and inputs.description


def test_encoding_circuit_prepares_the_states(drawn):
    _, inputs = drawn
    for state, values in zip(inputs.states, inputs.values, strict=True):
        prepared = Statevector(inputs.circuit.assign_parameters(values)).data
        assert phase_free_distance(prepared, state) < 1e-10


def test_same_seed_same_states(drawn):
    options, inputs = drawn
    again = input_states(InputsConfig(**options))
    np.testing.assert_array_equal(again.states, inputs.states)
    np.testing.assert_array_equal(again.values, inputs.values)


@pytest.mark.parametrize(
    "name",
    ["gaussian", "bimodal", "exponential", "cluster", "circle", "haar", "jets-observables"],
)
def test_different_seed_different_states(name):
    options = SOURCES[name]
    first = input_states(InputsConfig(**options, seed=0)).states
    second = input_states(InputsConfig(**options, seed=1)).states
    assert first.shape == second.shape
    assert np.abs(first - second).max() > 1e-3


# --- histograms of jet observables ----------------------------------------------------------


def own_histogram(values: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bins from min to max, the last one closed; normalised."""
    edges = np.linspace(values.min(), values.max(), bins + 1)
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(float)
    return counts / counts.sum()


@pytest.mark.parametrize(("label", "code"), [("all", None), ("quark", QUARK), ("gluon", GLUON)])
def test_histogram_states_square_to_the_observable_histograms(
    sample, sample_observables, label, code
):
    names = ("girth", "multiplicity", "mass")
    config = InputsConfig(source="histogram", num_qubits=3, observables=names, label=label)
    inputs = input_states(config)
    table = sample_observables if code is None else sample_observables[sample.y == code]
    assert inputs.states.shape == (len(names), 8)
    for row, name in zip(inputs.states, names, strict=True):
        expected = own_histogram(table[name].to_numpy(dtype=float), 8)
        np.testing.assert_allclose(np.abs(row) ** 2, expected, rtol=0, atol=1e-12)
        # real non-negative amplitudes: the square roots of the bin frequencies
        np.testing.assert_allclose(row.imag, 0.0, atol=1e-15)
        assert row.real.min() >= 0.0
    for name in names:
        assert name in inputs.description


def test_histogram_default_is_four_observables_whatever_count(sample_observables):
    inputs = input_states(InputsConfig(source="histogram", num_qubits=2, count=50))
    assert inputs.states.shape == (4, 4)
    first = InputsConfig(source="histogram").observable_names[0]
    expected = own_histogram(sample_observables[first].to_numpy(dtype=float), 4)
    np.testing.assert_allclose(inputs.distributions[0], expected, rtol=0, atol=1e-12)


# --- textbook distributions -----------------------------------------------------------------


def bin_centres(n: int) -> np.ndarray:
    return (np.arange(2**n) + 0.5) / 2**n


def test_gaussian_distributions_peak_in_the_middle():
    inputs = input_states(InputsConfig(source="gaussian", num_qubits=4, count=20, seed=3))
    p = inputs.distributions
    x = bin_centres(4)
    assert np.all(inputs.states.real >= 0)
    np.testing.assert_allclose(inputs.states.imag, 0.0, atol=1e-15)
    # means drawn in [0.3, 0.7] and widths <= 0.2: the mode lies in the middle of [0, 1]
    modes = x[np.argmax(p, axis=1)]
    assert np.all((modes > 0.25) & (modes < 0.75))
    # unimodal: increasing up to the mode, decreasing after it
    for row in p:
        top = int(np.argmax(row))
        assert np.all(np.diff(row[: top + 1]) >= -1e-15)
        assert np.all(np.diff(row[top:]) <= 1e-15)
    # the parameters are random: the means differ between draws
    means = p @ x
    assert means.std() > 0.02


def test_exponential_distributions_decrease():
    inputs = input_states(InputsConfig(source="exponential", num_qubits=3, count=10, seed=2))
    p = inputs.distributions
    assert np.all(np.diff(p, axis=1) < 0)
    # ratio of neighbouring bins is exp(-rate / 8) with the rate in [2, 6]
    ratios = p[:, 1:] / p[:, :-1]
    rates = -np.log(ratios) * 8
    np.testing.assert_allclose(rates, rates[:, :1] * np.ones_like(rates), rtol=1e-9)
    assert np.all((rates >= 2.0 - 1e-9) & (rates <= 6.0 + 1e-9))


def test_bimodal_distributions_have_mass_on_both_sides():
    inputs = input_states(InputsConfig(source="bimodal", num_qubits=4, count=20, seed=5))
    low = inputs.distributions[:, bin_centres(4) < 0.5].sum(axis=1)
    assert np.all((low > 0.15) & (low < 0.85))


# --- quantum-state ensembles ----------------------------------------------------------------


def test_cluster_states_are_close_to_all_zeros():
    scale = 0.05
    inputs = input_states(InputsConfig(source="cluster", num_qubits=3, count=20, scale=scale))
    p0 = inputs.distributions[:, 0]
    # |0...0> dominates: fidelity about 1 / (1 + 2 scale^2 (2^n - 1))
    assert p0.mean() == pytest.approx(1 / (1 + 2 * scale**2 * 7), abs=0.03)
    assert np.all(np.argmax(inputs.distributions, axis=1) == 0)
    wider = input_states(InputsConfig(source="cluster", num_qubits=3, count=20, scale=0.3))
    assert wider.distributions[:, 0].mean() < p0.mean() - 0.2


def test_circle_states_are_real_product_states():
    inputs = input_states(InputsConfig(source="circle", num_qubits=2, count=10))
    np.testing.assert_allclose(inputs.states.imag, 0.0, atol=1e-12)
    for state in inputs.states:
        # a two-qubit product state has a rank-one coefficient matrix
        singular = np.linalg.svd(state.reshape(2, 2), compute_uv=False)
        assert singular[1] < 1e-10


def test_haar_states_are_complex_and_spread():
    inputs = input_states(InputsConfig(source="haar", num_qubits=2, count=20))
    assert np.abs(inputs.states.imag).max() > 0.1
    # Haar states spread over the basis: mean probability of each outcome about 1/4
    np.testing.assert_allclose(inputs.distributions.mean(axis=0), 0.25, atol=0.12)


# --- jets -----------------------------------------------------------------------------------


def nearest_rows(states: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Index of the closest candidate (up to phase) of every state, asserting a near match."""
    overlaps = np.abs(states.conj() @ candidates.T) ** 2
    best = np.argmax(overlaps, axis=1)
    np.testing.assert_allclose(overlaps[np.arange(len(states)), best], 1.0, atol=1e-10)
    return best


@pytest.mark.parametrize(("label", "code"), [("all", None), ("gluon", GLUON)])
def test_angle_encoded_jets_are_products_of_scaled_observables(
    sample, sample_observables, label, code
):
    names = ("mass", "ptd", "girth")
    config = InputsConfig(
        source="jets", num_qubits=3, count=6, observables=names, label=label, seed=7
    )
    inputs = input_states(config)
    table = sample_observables if code is None else sample_observables[sample.y == code]
    values = table[list(names)].to_numpy(dtype=float)
    unit = (values - values.min(axis=0)) / (values.max(axis=0) - values.min(axis=0))
    expected = np.array([product_state(np.pi * row) for row in unit])
    chosen = nearest_rows(inputs.states, expected)
    assert len(set(chosen.tolist())) == 6  # six different jets
    # the circuit values are the RY angles, pi times the scaled observables
    np.testing.assert_allclose(inputs.values, np.pi * unit[chosen], atol=1e-9)
    assert inputs.values.min() >= 0.0 and inputs.values.max() <= np.pi


@pytest.mark.parametrize("num_qubits", [2, 4])
def test_amplitude_encoded_images_square_to_jet_images(sample, num_qubits):
    config = InputsConfig(
        source="jets", num_qubits=num_qubits, count=4, features="image", encoding="amplitude"
    )
    inputs = input_states(config)
    npix = 2 ** (num_qubits // 2)
    images = jet_images(sample.X, npix=npix).reshape(sample.n_jets, -1)
    # |amplitude|^2 is a jet image (pixel intensities summing to 1)
    overlaps = np.sqrt(inputs.distributions) @ np.sqrt(images).T
    best = np.argmax(overlaps, axis=1)
    np.testing.assert_allclose(inputs.distributions, images[best], rtol=0, atol=1e-10)


def test_latent_features():
    angle = input_states(InputsConfig(source="jets", num_qubits=3, count=6, features="latents"))
    assert angle.values.shape == (6, 3)
    assert angle.values.min() >= 0.0 and angle.values.max() <= np.pi + 1e-12
    amplitude = input_states(
        InputsConfig(source="jets", num_qubits=3, count=6, features="latents", encoding="amplitude")
    )
    # signed PCA latents: real amplitudes of both signs
    np.testing.assert_allclose(amplitude.states.imag, 0.0, atol=1e-12)
    assert amplitude.states.real.min() < 0 < amplitude.states.real.max()


def test_more_jets_than_available_is_a_data_error(sample):
    available = int(np.sum(sample.y == QUARK))
    with pytest.raises(DataError, match=str(available)):
        input_states(InputsConfig(source="jets", num_qubits=2, count=available + 1, label="quark"))
    with pytest.raises(DataError):
        input_states(InputsConfig(source="jets", num_qubits=2, count=sample.n_jets + 1))


def test_every_jet_of_a_label_can_be_drawn(sample):
    available = int(np.sum(sample.y == GLUON))
    inputs = input_states(InputsConfig(source="jets", num_qubits=2, count=available, label="gluon"))
    assert inputs.states.shape == (available, 4)
