"""The benchmark ensembles and the forward processes, against quantum_info references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Pauli, Statevector, partial_trace
from scipy import integrate, stats

from qdm_qiskit.circuits import scrambling_angles, scrambling_layer
from qdm_qiskit.diffusion import depolarized_state
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.ensemble import QUDDPM_CIRCLE, QUDDPM_CLUSTER_2, EnsembleModelConfig
from qdm_qiskit.models.ensemble.distances import mmd
from qdm_qiskit.models.ensemble.forward import diffuse, scrambling_strengths
from qdm_qiskit.models.ensemble.tasks import (
    circle_states,
    cluster_states,
    haar_states,
    task_states,
)


def pauli_on(label: str, qubit: int, num_qubits: int) -> Pauli:
    text = ["I"] * num_qubits
    text[num_qubits - 1 - qubit] = label  # Qiskit labels: qubit 0 is the rightmost
    return Pauli("".join(text))


# -- tasks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("num_qubits", [1, 2, 3])
def test_every_task_gives_normalised_seeded_complex_states(num_qubits: int) -> None:
    makers = {
        "cluster": lambda seed: cluster_states(
            num_qubits=num_qubits, size=25, scale=0.1, seed=seed
        ),
        "circle": lambda seed: circle_states(num_qubits=num_qubits, size=25, seed=seed),
        "haar": lambda seed: haar_states(num_qubits=num_qubits, size=25, seed=seed),
    }
    for name, make in makers.items():
        states = make(4)
        assert states.shape == (25, 2**num_qubits), name
        assert np.iscomplexobj(states) and states.dtype == np.complex128, name
        np.testing.assert_allclose(np.linalg.norm(states, axis=1), 1.0, atol=1e-12)
        np.testing.assert_array_equal(states, make(4))
        assert not np.allclose(states, make(5)), name


@pytest.mark.parametrize(("num_qubits", "scale"), [(1, 0.08), (2, 0.08), (2, 0.3)])
def test_cluster_mean_fidelity_to_zero(num_qubits: int, scale: float) -> None:
    states = cluster_states(num_qubits=num_qubits, size=20_000, scale=scale, seed=1)
    zero = Statevector.from_label("0" * num_qubits)
    fidelities = np.abs(states @ zero.data.conj()) ** 2
    # the exact mean: F = 1/(1 + s^2 X) with X ~ chi^2 on 2(d - 1) degrees of freedom
    dof = 2 * (2**num_qubits - 1)
    exact, _ = integrate.quad(lambda x: stats.chi2.pdf(x, dof) / (1 + scale**2 * x), 0, np.inf)
    assert abs(fidelities.mean() - exact) < 0.004
    if scale < 0.1:  # the docstring's approximation holds for a tight cluster
        assert abs(fidelities.mean() - 1 / (1 + 2 * scale**2 * (2**num_qubits - 1))) < 0.003
        assert (np.argmax(np.abs(states), axis=1) == 0).mean() > 0.99
    # the amplitude of |0...0> is real and positive
    np.testing.assert_allclose(states[:, 0].imag, 0.0, atol=1e-15)
    assert (states[:, 0].real > 0).all()


@pytest.mark.parametrize("num_qubits", [1, 2])
def test_circle_states_are_real_products_with_zero_y(num_qubits: int) -> None:
    states = circle_states(num_qubits=num_qubits, size=400, seed=3)
    np.testing.assert_allclose(states.imag, 0.0, atol=0)
    x_mean, z_mean = np.zeros(num_qubits), np.zeros(num_qubits)
    for vector in states:
        sv = Statevector(vector)
        for q in range(num_qubits):
            y = sv.expectation_value(pauli_on("Y", q, num_qubits)).real
            x = sv.expectation_value(pauli_on("X", q, num_qubits)).real
            z = sv.expectation_value(pauli_on("Z", q, num_qubits)).real
            assert abs(y) < 1e-12
            assert np.isclose(x**2 + z**2, 1.0)  # on the great circle of the XZ plane
            x_mean[q] += x / len(states)
            z_mean[q] += z / len(states)
        if num_qubits == 2:  # a product state: each qubit's reduced state is pure
            reduced = partial_trace(sv, [1])
            assert np.isclose(reduced.purity().real, 1.0)
    # phi uniform on the circle: the Bloch vectors average to ~0
    assert np.all(np.abs(x_mean) < 0.15) and np.all(np.abs(z_mean) < 0.15)


@pytest.mark.parametrize("num_qubits", [1, 2])
def test_haar_fidelity_moments(num_qubits: int) -> None:
    d = 2**num_qubits
    states = haar_states(num_qubits=num_qubits, size=20_000, seed=2)
    fixed = Statevector.from_label("+" * num_qubits).data
    fidelities = np.abs(states @ fixed.conj()) ** 2
    assert abs(fidelities.mean() - 1 / d) < 0.01
    assert abs((fidelities**2).mean() - 2 / (d * (d + 1))) < 0.01


def test_task_states_dispatches_by_name() -> None:
    np.testing.assert_array_equal(
        task_states("cluster", num_qubits=2, size=5, scale=0.2, seed=3),
        cluster_states(num_qubits=2, size=5, scale=0.2, seed=3),
    )
    np.testing.assert_array_equal(
        task_states("circle", num_qubits=1, size=5, scale=0.2, seed=3),
        circle_states(num_qubits=1, size=5, seed=3),
    )
    with pytest.raises(ConfigError, match="unknown ensemble task 'square'"):
        task_states("square", num_qubits=1, size=5, scale=0.1, seed=0)


# -- schedules -------------------------------------------------------------------------------


def test_scrambling_strengths() -> None:
    linear = EnsembleModelConfig(steps=5, strength_start=1.0, strength_end=3.0)
    np.testing.assert_allclose(scrambling_strengths(linear), [1.0, 1.5, 2.0, 2.5, 3.0])
    np.testing.assert_allclose(scrambling_strengths(QUDDPM_CLUSTER_2.model), np.linspace(1, 4, 20))
    t = np.arange(1, 41)
    np.testing.assert_allclose(scrambling_strengths(QUDDPM_CIRCLE.model), 1e-3 * t**2, rtol=1e-12)
    quadratic = EnsembleModelConfig(
        steps=4, strength_schedule="quadratic", strength_start=0.5, strength_end=2.5
    )
    np.testing.assert_allclose(
        scrambling_strengths(quadratic), [0.5 + 2 / 16, 0.5 + 2 * 4 / 16, 0.5 + 2 * 9 / 16, 2.5]
    )


@pytest.mark.parametrize("schedule", ["linear", "quadratic"])
@pytest.mark.parametrize("steps", [1, 2, 7])
def test_step_t_has_strength_end(schedule: str, steps: int) -> None:
    """``strength_end`` is documented as the scrambling strength of step T, for any T."""
    model = EnsembleModelConfig(
        steps=steps, strength_schedule=schedule, strength_start=0.5, strength_end=3.0
    )  # type: ignore[arg-type]
    strengths = scrambling_strengths(model)
    assert strengths.shape == (steps,)
    assert np.isclose(strengths[-1], 3.0)
    assert (np.diff(strengths) > 0).all() and (strengths >= 0.5).all()


# -- scrambling ------------------------------------------------------------------------------


def scramble_model(num_qubits: int, steps: int) -> EnsembleModelConfig:
    return EnsembleModelConfig(num_qubits=num_qubits, steps=steps, strength_start=0.5, layers=1)


@pytest.mark.parametrize("num_qubits", [1, 2, 3])
def test_scramble_matches_a_qiskit_reference(num_qubits: int) -> None:
    """Step t applies t fresh layers from ``default_rng([seed, t])``, strengths h_1 .. h_t."""
    model = scramble_model(num_qubits, steps=3)
    states = cluster_states(num_qubits=num_qubits, size=4, scale=0.3, seed=0)
    out = diffuse(states, model, seed=21)
    assert len(out) == 4
    strengths = np.linspace(0.5, 4.0, 3)
    layer = scrambling_layer(num_qubits=num_qubits)
    for t in (1, 2):
        rng = np.random.default_rng([21, t])
        expected = [Statevector(v) for v in states]
        for s in range(t):
            angles = scrambling_angles(
                num_qubits=num_qubits, strength=strengths[s], size=len(states), seed=rng
            )
            expected = [
                sv.evolve(layer.assign_parameters(angles[i])) for i, sv in enumerate(expected)
            ]
        got = out[t].numpy()
        for i, sv in enumerate(expected):
            np.testing.assert_allclose(got[i], sv.data, atol=1e-12)


def test_scramble_basic_properties() -> None:
    model = scramble_model(2, steps=4)
    states = cluster_states(num_qubits=2, size=10, scale=0.08, seed=1)
    out = diffuse(states, model, seed=3)
    assert len(out) == 5
    assert all(x.dtype == torch.complex128 and x.shape == (10, 4) for x in out)
    np.testing.assert_array_equal(out[0].numpy(), states)
    for x in out:
        np.testing.assert_allclose(torch.linalg.vector_norm(x, dim=1).numpy(), 1.0, atol=1e-12)
    again = diffuse(states, model, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(out, again, strict=True))
    other = diffuse(states, model, seed=4)
    assert torch.equal(other[0], out[0]) and not torch.equal(other[2], out[2])
    # scrambling is unitary per state: it preserves nothing else, but moves every state
    assert all(not torch.allclose(out[t], out[0]) for t in range(1, 5))


def test_scrambling_carries_the_cluster_to_haar_noise() -> None:
    model = EnsembleModelConfig(num_qubits=1, steps=6, layers=1)
    states = cluster_states(num_qubits=1, size=60, scale=0.08, seed=2)
    out = diffuse(states, model, seed=5)
    haar = torch.tensor(haar_states(num_qubits=1, size=60, seed=8))
    distances = [float(mmd(x, haar)) for x in out]
    floor = float(mmd(torch.tensor(haar_states(num_qubits=1, size=60, seed=9)), haar))
    assert distances[0] > 0.3  # a tight cluster is far from Haar
    assert distances[-1] < 0.25 * distances[0]
    assert distances[-1] < floor + 0.05
    # decreasing overall: later halves closer to Haar than earlier ones
    assert np.mean(distances[4:]) < np.mean(distances[1:3]) < distances[0]


# -- depolarizing ----------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_depolarizing_equals_the_closed_form(schedule: str) -> None:
    model = EnsembleModelConfig(
        num_qubits=2, steps=5, forward="depolarizing", schedule=schedule,
        beta_start=0.1, beta_end=0.4,
    )  # fmt: skip
    states = cluster_states(num_qubits=2, size=6, scale=0.2, seed=4)
    out = diffuse(states, model, seed=0)
    assert len(out) == 6
    if schedule == "linear":  # independent of NoiseSchedule
        alpha_bars = np.concatenate([[1.0], np.cumprod(1 - np.linspace(0.1, 0.4, 5))])
    else:
        from qdm_qiskit.diffusion import NoiseSchedule

        alpha_bars = NoiseSchedule(kind="cosine", steps=5, start=0.1, end=0.4).alpha_bars
    for t, rho in enumerate(out):
        assert rho.dtype == torch.complex128 and rho.shape == (6, 4, 4)
        for i, vector in enumerate(states):
            expected = depolarized_state(np.outer(vector, vector.conj()), alpha_bars[t])
            np.testing.assert_allclose(rho[i].numpy(), expected, atol=1e-12)
            manual = (
                alpha_bars[t] * np.outer(vector, vector.conj())
                + (1 - alpha_bars[t]) * np.eye(4) / 4
            )
            np.testing.assert_allclose(rho[i].numpy(), manual, atol=1e-12)
    # purity decreases step by step towards 1/d
    purity = [float(torch.einsum("nij,nji->n", r, r).real.mean()) for r in out]
    assert np.isclose(purity[0], 1.0) and all(np.diff(purity) < 0) and purity[-1] > 0.25
