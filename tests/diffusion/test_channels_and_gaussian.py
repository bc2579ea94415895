"""Closed-form channels (numpy) and Gaussian amplitude noise, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from qdm_qiskit.diffusion.channels import (
    amplitude_damped_state,
    amplitude_damping_kraus,
    depolarized_state,
)
from qdm_qiskit.diffusion.classical_noise import gaussian_noised_amplitudes
from qdm_qiskit.errors import ConfigError


def random_state(dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=dim) + 1j * rng.normal(size=dim)
    return psi / np.linalg.norm(psi)


# --- depolarizing ------------------------------------------------------------------------------


@pytest.mark.parametrize("num_qubits", [1, 2, 3])
@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.77, 1.0])
def test_depolarized_pure_state_purity_and_trace(num_qubits: int, alpha: float) -> None:
    d = 2**num_qubits
    psi = random_state(d, seed=num_qubits)
    rho = depolarized_state(psi, alpha)
    # Tr[(a P + (1-a) I/d)^2] = a^2 + 2 a (1-a)/d + (1-a)^2/d = a^2 + (1 - a^2)/d
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-12)
    assert np.trace(rho @ rho).real == pytest.approx(alpha**2 + (1 - alpha**2) / d, abs=1e-12)
    # fidelity with the original state: a + (1 - a)/d
    assert (psi.conj() @ rho @ psi).real == pytest.approx(alpha + (1 - alpha) / d, abs=1e-12)
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-14)


def test_depolarized_state_elementwise() -> None:
    rho0 = np.array([[0.7, 0.2 - 0.1j], [0.2 + 0.1j, 0.3]])
    rho = depolarized_state(rho0, 0.4)
    expected = np.array(
        [[0.4 * 0.7 + 0.3, 0.4 * (0.2 - 0.1j)], [0.4 * (0.2 + 0.1j), 0.4 * 0.3 + 0.3]]
    )
    np.testing.assert_allclose(rho, expected, atol=1e-15)


def test_depolarized_state_rejects_bad_shape() -> None:
    with pytest.raises(ConfigError):
        depolarized_state(np.eye(3) / 3, 0.5)


# --- amplitude damping ---------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.6, 1.0])
def test_amplitude_damping_of_excited_qubit(gamma: float) -> None:
    rho = amplitude_damped_state(np.array([0.0, 1.0]), gamma)
    np.testing.assert_allclose(rho, np.diag([gamma, 1 - gamma]), atol=1e-15)


def test_amplitude_damping_of_plus_state_coherence() -> None:
    gamma = 0.36
    rho = amplitude_damped_state(np.array([1.0, 1.0]) / np.sqrt(2), gamma)
    # |+><+| -> [[1/2 + gamma/2, sqrt(1-gamma)/2], [sqrt(1-gamma)/2, (1-gamma)/2]]
    expected = np.array([[0.5 + gamma / 2, 0.4], [0.4, (1 - gamma) / 2]])
    np.testing.assert_allclose(rho, expected, atol=1e-15)


def test_amplitude_damping_two_qubits_little_endian() -> None:
    # |01> in Qiskit order: qubit 0 excited, qubit 1 ground -> index 1
    gamma = 0.3
    rho = amplitude_damped_state(np.array([0.0, 1.0, 0.0, 0.0]), gamma)
    np.testing.assert_allclose(rho, np.diag([gamma, 1 - gamma, 0.0, 0.0]), atol=1e-15)
    # |11> -> each qubit decays independently
    rho = amplitude_damped_state(np.array([0.0, 0.0, 0.0, 1.0]), gamma)
    g, k = gamma, 1 - gamma
    np.testing.assert_allclose(rho, np.diag([g * g, g * k, k * g, k * k]), atol=1e-15)


@pytest.mark.parametrize(("gamma1", "gamma2"), [(0.2, 0.5), (0.9, 0.1), (0.0, 0.7)])
def test_amplitude_damping_composes(gamma1: float, gamma2: float) -> None:
    rho0 = np.outer(random_state(4, seed=11), random_state(4, seed=11).conj())
    twice = amplitude_damped_state(amplitude_damped_state(rho0, gamma1), gamma2)
    once = amplitude_damped_state(rho0, 1 - (1 - gamma1) * (1 - gamma2))
    np.testing.assert_allclose(twice, once, atol=1e-13)
    assert np.trace(twice).real == pytest.approx(1.0, abs=1e-12)


def test_amplitude_damping_kraus_completeness_and_range() -> None:
    k0, k1 = amplitude_damping_kraus(0.42)
    np.testing.assert_allclose(k0.conj().T @ k0 + k1.conj().T @ k1, np.eye(2), atol=1e-15)
    for gamma in (-0.1, 1.2):
        with pytest.raises(ConfigError):
            amplitude_damping_kraus(gamma)


# --- Gaussian noise on amplitudes ---------------------------------------------------------------


def clean_batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.mark.parametrize("complex_noise", [False, True])
def test_gaussian_shapes_and_unit_norms(complex_noise: bool) -> None:
    x0 = clean_batch((3, 5, 8))
    out = gaussian_noised_amplitudes(x0, alpha_bar=0.4, seed=1, complex_noise=complex_noise)
    assert out.states.shape == (3, 5, 8)
    assert out.noise.shape == (3, 5, 8)
    assert out.norms.shape == (3, 5)
    np.testing.assert_allclose(np.linalg.norm(out.states, axis=-1), 1.0, atol=1e-12)
    assert np.iscomplexobj(out.noise) == complex_noise
    assert np.iscomplexobj(out.states) == complex_noise


def test_gaussian_seeded_reproducibility() -> None:
    x0 = clean_batch((4, 8))
    a = gaussian_noised_amplitudes(x0, alpha_bar=0.5, seed=7)
    b = gaussian_noised_amplitudes(x0, alpha_bar=0.5, seed=7)
    c = gaussian_noised_amplitudes(x0, alpha_bar=0.5, seed=8)
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.noise, b.noise)
    assert not np.allclose(a.states, c.states)
    assert not np.allclose(a.noise, c.noise)
    # a Generator is also accepted and consumed
    rng = np.random.default_rng(7)
    d = gaussian_noised_amplitudes(x0, alpha_bar=0.5, seed=rng)
    np.testing.assert_array_equal(d.noise, a.noise)
    # the noise is a standard normal draw of the given seed
    np.testing.assert_array_equal(a.noise, np.random.default_rng(7).standard_normal((4, 8)))


def test_gaussian_alpha_bar_one_returns_normalised_input() -> None:
    x0 = np.random.default_rng(3).normal(size=(6, 4)) * 5.0
    out = gaussian_noised_amplitudes(x0, alpha_bar=1.0, seed=0)
    expected = x0 / np.linalg.norm(x0, axis=-1, keepdims=True)
    np.testing.assert_allclose(out.states, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out.norms, np.linalg.norm(x0, axis=-1), rtol=1e-15)


def test_gaussian_alpha_bar_zero_is_independent_of_input() -> None:
    a = gaussian_noised_amplitudes(clean_batch((5, 8), seed=1), alpha_bar=0.0, seed=4)
    b = gaussian_noised_amplitudes(clean_batch((5, 8), seed=2) * 3, alpha_bar=0.0, seed=4)
    np.testing.assert_array_equal(a.states, b.states)
    noise = np.random.default_rng(4).standard_normal((5, 8))
    np.testing.assert_allclose(a.states, noise / np.linalg.norm(noise, axis=-1, keepdims=True))


@pytest.mark.parametrize("complex_noise", [False, True])
def test_gaussian_noise_reproduces_states(complex_noise: bool) -> None:
    x0 = clean_batch((10, 16)).astype(complex) if complex_noise else clean_batch((10, 16))
    alpha = 0.3
    out = gaussian_noised_amplitudes(x0, alpha_bar=alpha, seed=5, complex_noise=complex_noise)
    reconstructed = out.states * out.norms[:, None]
    np.testing.assert_allclose(
        reconstructed, np.sqrt(alpha) * x0 + np.sqrt(1 - alpha) * out.noise, atol=1e-12
    )


def test_gaussian_complex_noise_statistics() -> None:
    x0 = np.zeros((100_000, 2))
    x0[:, 0] = 1.0
    out = gaussian_noised_amplitudes(x0, alpha_bar=0.5, seed=12, complex_noise=True)
    eps = out.noise
    assert np.mean(np.abs(eps) ** 2) == pytest.approx(1.0, abs=0.01)
    assert np.mean(eps.real**2) == pytest.approx(0.5, abs=0.01)
    assert np.mean(eps.imag**2) == pytest.approx(0.5, abs=0.01)
    assert abs(np.mean(eps)) < 0.01
    assert abs(np.mean(eps.real * eps.imag)) < 0.01
    assert np.mean(np.abs(out.states.imag) > 1e-3) > 0.9


def test_gaussian_per_vector_alpha_bar() -> None:
    x0 = clean_batch((4, 8))
    alpha = np.array([1.0, 0.75, 0.2, 0.0])
    out = gaussian_noised_amplitudes(x0, alpha_bar=alpha, seed=9)
    for i, a in enumerate(alpha):
        expected = np.sqrt(a) * x0[i] + np.sqrt(1 - a) * out.noise[i]
        np.testing.assert_allclose(out.states[i] * out.norms[i], expected, atol=1e-12)
        np.testing.assert_allclose(out.norms[i], np.linalg.norm(expected), rtol=1e-12)
    np.testing.assert_allclose(out.states[0], x0[0], atol=1e-15)


@pytest.mark.parametrize("alpha_bar", [-0.1, 1.5, np.array([0.5, 1.2]), np.array([-1e-9, 0.1])])
def test_gaussian_invalid_alpha_bar(alpha_bar: float | np.ndarray) -> None:
    with pytest.raises(ConfigError):
        gaussian_noised_amplitudes(clean_batch((2, 4)), alpha_bar=alpha_bar, seed=0)


def test_gaussian_zero_norm_vector_raises() -> None:
    with pytest.raises(ConfigError):
        gaussian_noised_amplitudes(np.zeros((1, 4)), alpha_bar=1.0, seed=0)


def test_nan_alpha_bar_is_refused() -> None:
    with pytest.raises(ConfigError):
        gaussian_noised_amplitudes(np.ones((2, 4)), alpha_bar=float("nan"), seed=0)
