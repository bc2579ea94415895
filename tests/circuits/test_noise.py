"""Forward-noise circuits: depolarizing (Aer density matrix), amplitude damping, scrambling."""

from __future__ import annotations

import itertools
from functools import reduce

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Choi, DensityMatrix, Operator, Statevector, SuperOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import depolarizing_error

from qdm_qiskit.circuits.encoding import amplitude_encoding, amplitude_encoding_values
from qdm_qiskit.circuits.noise import (
    amplitude_damping_circuit,
    depolarizing_circuit,
    depolarizing_kraus,
    depolarizing_noise_model,
    scrambling_angles,
    scrambling_circuit,
    scrambling_layer,
)
from qdm_qiskit.diffusion.schedules import NoiseSchedule
from qdm_qiskit.errors import ConfigError

I2 = np.eye(2, dtype=complex)


def random_state(dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=dim) + 1j * rng.normal(size=dim)
    return psi / np.linalg.norm(psi)


def hand_alpha_bars(betas: list[float]) -> list[float]:
    out = [1.0]
    for beta in betas:
        out.append(out[-1] * (1.0 - beta))
    return out


def embed(op: np.ndarray, qubit: int, n: int) -> np.ndarray:
    """``op`` on ``qubit`` in Qiskit's little-endian order (qubit 0 is the rightmost factor)."""
    factors = [op if q == qubit else I2 for q in reversed(range(n))]
    return reduce(np.kron, factors)


def trace_distance(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.sum(np.abs(np.linalg.eigvalsh(a - b))))


COSINE6 = NoiseSchedule(kind="cosine", steps=6)
LINEAR6 = NoiseSchedule(kind="linear", steps=6, start=0.05, end=0.6)


def prepared_state(n: int, seed: int) -> tuple[QuantumCircuit, np.ndarray]:
    """A random pure state prepared with the package's amplitude encoding, and its vector."""
    psi = random_state(2**n, seed)
    encoder = amplitude_encoding(num_qubits=n, complex_amplitudes=True)
    circuit = encoder.assign_parameters(amplitude_encoding_values(psi).parameters)
    return circuit, psi


def aer_density_matrices(circuits: list[QuantumCircuit], noise_model=None) -> list[np.ndarray]:
    simulator = AerSimulator(method="density_matrix", noise_model=noise_model)
    result = simulator.run(circuits).result()
    return [np.asarray(result.data(i)["density_matrix"]) for i in range(len(circuits))]


# --- depolarizing --------------------------------------------------------------------------------


def test_prepared_state_is_the_random_state() -> None:
    circuit, psi = prepared_state(2, seed=3)
    assert abs(np.vdot(psi, Statevector(circuit).data)) ** 2 == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("schedule", [COSINE6, LINEAR6], ids=["cosine", "linear"])
@pytest.mark.parametrize("realisation", ["kraus", "labels"])
def test_depolarizing_circuit_matches_closed_form(
    schedule: NoiseSchedule, realisation: str
) -> None:
    n, d = 2, 4
    prep, psi = prepared_state(n, seed=21)
    rho0 = np.outer(psi, psi.conj())
    if schedule.kind == "cosine":
        s, steps = 0.008, 6
        f = [np.cos(((t / steps + s) / (1 + s)) * np.pi / 2) ** 2 for t in range(steps + 1)]
        betas = [min(max(1 - f[t] / f[t - 1], 0.0), 0.999) for t in range(1, steps + 1)]
    else:
        betas = [0.05 + (0.6 - 0.05) * k / 5 for k in range(6)]
    alpha_bars = hand_alpha_bars(betas)
    circuits = []
    for t in range(schedule.steps + 1):
        qc = prep.copy()
        qc.compose(
            depolarizing_circuit(num_qubits=n, schedule=schedule, step=t, realisation=realisation),
            inplace=True,
        )
        qc.save_density_matrix()
        circuits.append(qc)
    model = (
        depolarizing_noise_model(num_qubits=n, schedule=schedule)
        if realisation == "labels"
        else None
    )
    rhos = aer_density_matrices(circuits, model)
    for t, rho in enumerate(rhos):
        expected = alpha_bars[t] * rho0 + (1 - alpha_bars[t]) * np.eye(d) / d
        np.testing.assert_allclose(rho, expected, atol=1e-10, err_msg=f"step {t}")
    # the cosine schedule drives alpha_bar_T below 1e-3: rho_T is close to I/d
    if schedule.kind == "cosine":
        assert alpha_bars[-1] < 1e-3
        assert trace_distance(rhos[-1], np.eye(d) / d) < 1e-3
        assert trace_distance(rhos[0], np.eye(d) / d) > 0.5


def test_labels_realisation_is_identity_without_noise_model() -> None:
    prep, psi = prepared_state(2, seed=4)
    qc = prep.compose(
        depolarizing_circuit(num_qubits=2, schedule=LINEAR6, step=6, realisation="labels")
    )
    qc.save_density_matrix()
    (rho,) = aer_density_matrices([qc])
    np.testing.assert_allclose(rho, np.outer(psi, psi.conj()), atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("p", [0.0, 0.13, 0.5, 1.0])
def test_depolarizing_kraus_complete_and_matches_aer(n: int, p: float) -> None:
    kraus = depolarizing_kraus(p, n)
    operators = kraus.data
    assert len(operators) == 4**n
    total = sum(k.conj().T @ k for k in operators)
    np.testing.assert_allclose(total, np.eye(2**n), atol=1e-12)
    reference = depolarizing_error(p, n).to_quantumchannel()
    np.testing.assert_allclose(SuperOp(kraus).data, SuperOp(reference).data, atol=1e-12)
    np.testing.assert_allclose(Choi(kraus).data, Choi(reference).data, atol=1e-12)


def test_depolarizing_kraus_action_on_a_state() -> None:
    p, n = 0.37, 2
    rho0 = np.outer(random_state(4, 1), random_state(4, 1).conj())
    rho = DensityMatrix(rho0).evolve(depolarizing_kraus(p, n)).data
    np.testing.assert_allclose(rho, (1 - p) * rho0 + p * np.eye(4) / 4, atol=1e-12)


def test_depolarizing_kraus_rejects_bad_probability() -> None:
    for p in (-0.01, 1.01):
        with pytest.raises(ConfigError):
            depolarizing_kraus(p, 1)


def test_depolarizing_too_many_qubits() -> None:
    with pytest.raises(ConfigError):
        depolarizing_circuit(num_qubits=6, schedule=LINEAR6, step=1)
    with pytest.raises(ConfigError):
        depolarizing_noise_model(num_qubits=6, schedule=LINEAR6)
    with pytest.raises(ConfigError):
        depolarizing_circuit(num_qubits=0, schedule=LINEAR6, step=1)


def test_depolarizing_invalid_step_and_realisation() -> None:
    with pytest.raises(ConfigError):
        depolarizing_circuit(num_qubits=2, schedule=LINEAR6, step=7)
    with pytest.raises(ConfigError):
        depolarizing_circuit(num_qubits=2, schedule=LINEAR6, step=-1)
    with pytest.raises(ConfigError):
        depolarizing_circuit(num_qubits=2, schedule=LINEAR6, step=1, realisation="pauli")


def test_depolarizing_circuit_structure() -> None:
    qc = depolarizing_circuit(num_qubits=2, schedule=LINEAR6, step=4, realisation="labels")
    labels = [inst.operation.label for inst in qc.data]
    assert labels == ["depolarize_1", "depolarize_2", "depolarize_3", "depolarize_4"]
    assert qc.num_parameters == 0
    assert len(depolarizing_circuit(num_qubits=2, schedule=LINEAR6, step=0).data) == 0


# --- amplitude damping ---------------------------------------------------------------------------


def hand_damping(rho: np.ndarray, gamma: float, n: int) -> np.ndarray:
    k0 = np.array([[1, 0], [0, np.sqrt(1 - gamma)]], dtype=complex)
    k1 = np.array([[0, np.sqrt(gamma)], [0, 0]], dtype=complex)
    for q in range(n):
        a, b = embed(k0, q, n), embed(k1, q, n)
        rho = a @ rho @ a.conj().T + b @ rho @ b.conj().T
    return rho


@pytest.mark.parametrize("n", [1, 2, 3])
def test_amplitude_damping_circuit_matches_hand_kraus(n: int) -> None:
    schedule = NoiseSchedule(kind="linear", steps=4, start=0.1, end=0.4)
    psi = random_state(2**n, seed=30 + n)
    rho0 = np.outer(psi, psi.conj())
    alpha_bars = hand_alpha_bars([0.1, 0.2, 0.3, 0.4])
    for t in range(5):
        circuit = amplitude_damping_circuit(num_qubits=n, schedule=schedule, step=t)
        rho = DensityMatrix(rho0).evolve(circuit).data
        expected = hand_damping(rho0, 1 - alpha_bars[t], n)
        np.testing.assert_allclose(rho, expected, atol=1e-12, err_msg=f"step {t}")
    assert not np.allclose(expected, rho0, atol=1e-3)


def test_amplitude_damping_fixed_point() -> None:
    n = 3
    schedule = NoiseSchedule(kind="custom", probabilities=(0.2, 0.5, 1.0))
    ground = np.zeros((8, 8))
    ground[0, 0] = 1.0
    for seed in range(3):
        psi = random_state(8, seed)
        circuit = amplitude_damping_circuit(num_qubits=n, schedule=schedule, step=3)
        rho = DensityMatrix(psi).evolve(circuit).data
        np.testing.assert_allclose(rho, ground, atol=1e-12)


def test_amplitude_damping_invalid_args() -> None:
    with pytest.raises(ConfigError):
        amplitude_damping_circuit(num_qubits=0, schedule=LINEAR6, step=1)
    with pytest.raises(ConfigError):
        amplitude_damping_circuit(num_qubits=2, schedule=LINEAR6, step=7)


# --- scrambling ----------------------------------------------------------------------------------


def test_scrambling_circuit_seeded() -> None:
    a = scrambling_circuit(num_qubits=3, schedule=LINEAR6, step=4, seed=1)
    b = scrambling_circuit(num_qubits=3, schedule=LINEAR6, step=4, seed=1)
    c = scrambling_circuit(num_qubits=3, schedule=LINEAR6, step=4, seed=2)
    assert a.num_parameters == 0
    np.testing.assert_allclose(Operator(a).data, Operator(b).data, atol=1e-14)
    assert not np.allclose(Operator(a).data, Operator(c).data, atol=1e-6)
    identity = scrambling_circuit(num_qubits=3, schedule=LINEAR6, step=0, seed=1)
    np.testing.assert_allclose(Operator(identity).data, np.eye(8), atol=1e-14)


@pytest.mark.parametrize(("n", "strength"), [(1, 1.0), (2, 3.0), (4, 0.5)])
def test_scrambling_angles_ranges(n: int, strength: float) -> None:
    size = 500
    angles = scrambling_angles(num_qubits=n, strength=strength, size=size, seed=0)
    n_pairs = n * (n - 1) // 2
    assert angles.shape == (size, 3 * n + n_pairs)
    single, pairs = angles[:, : 3 * n], angles[:, 3 * n :]
    bound = np.pi / 8 * strength
    assert np.all(np.abs(single) <= bound)
    assert single.max() > 0.9 * bound and single.min() < -0.9 * bound
    if n_pairs:
        low, high = 0.4 * strength / (2 * np.sqrt(n)), 0.6 * strength / (2 * np.sqrt(n))
        assert np.all((pairs >= low) & (pairs <= high))
        assert pairs.min() < low + 0.05 * (high - low)
        assert pairs.max() > high - 0.05 * (high - low)
    same = scrambling_angles(num_qubits=n, strength=strength, size=size, seed=0)
    np.testing.assert_array_equal(angles, same)


def rz(theta: float) -> np.ndarray:
    return np.diag([np.exp(-1j * theta / 2), np.exp(1j * theta / 2)])


def ry(theta: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def test_scrambling_layer_equals_hand_unitary() -> None:
    n = 3
    layer = scrambling_layer(num_qubits=n)
    assert layer.num_parameters == 3 * n + 3
    values = np.random.default_rng(5).uniform(-np.pi, np.pi, size=3 * n + 3)
    z = np.diag([1.0, -1.0]).astype(complex)
    unitary = np.eye(2**n, dtype=complex)
    for q in range(n):
        a, b, c = values[3 * q : 3 * q + 3]
        unitary = embed(rz(c) @ ry(b) @ rz(a), q, n) @ unitary
    for k, (q1, q2) in enumerate(itertools.combinations(range(n), 2)):
        zz = embed(z, q1, n) @ embed(z, q2, n)
        theta = values[3 * n + k]
        # exp(-i theta/2 ZZ) = cos(theta/2) I - i sin(theta/2) ZZ since (ZZ)^2 = I
        unitary = (np.cos(theta / 2) * np.eye(2**n) - 1j * np.sin(theta / 2) * zz) @ unitary
    bound = layer.assign_parameters(values)
    np.testing.assert_allclose(Operator(bound).data, unitary, atol=1e-12)


def test_scrambled_ensemble_approaches_haar_fidelity() -> None:
    n, d, size = 2, 4, 200
    layer = scrambling_layer(num_qubits=n)
    # strength 80: single-qubit angles uniform on [-10 pi, 10 pi], i.e. uniform modulo 2 pi
    angles = scrambling_angles(num_qubits=n, strength=80.0, size=size, seed=3)
    states = np.array([Statevector(layer.assign_parameters(a)).data for a in angles])
    overlaps = np.abs(states.conj() @ states.T) ** 2
    mean_pairwise = (overlaps.sum() - np.trace(overlaps)) / (size * (size - 1))
    assert mean_pairwise == pytest.approx(1 / d, abs=0.05)
    # a weakly scrambled ensemble stays close to |00>: mean fidelity far above Haar
    weak = scrambling_angles(num_qubits=n, strength=0.1, size=20, seed=3)
    weak_states = np.array([Statevector(layer.assign_parameters(a)).data for a in weak])
    weak_overlaps = np.abs(weak_states.conj() @ weak_states.T) ** 2
    assert weak_overlaps.mean() > 0.9


def test_label_noise_applies_on_any_qubits_of_a_wider_circuit() -> None:
    """The marker on qubit 1 of 2 gets the channel too (all-qubit noise, not only qubits 0..n-1)."""
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    schedule = NoiseSchedule(kind="custom", probabilities=(0.5,))
    marker = depolarizing_circuit(num_qubits=1, schedule=schedule, step=1, realisation="labels")
    circuit = QuantumCircuit(2)
    circuit.x(1)
    circuit.compose(marker, qubits=[1], inplace=True)
    circuit.save_density_matrix()
    model = depolarizing_noise_model(num_qubits=1, schedule=schedule)
    rho = AerSimulator(method="density_matrix", noise_model=model).run(circuit).result()
    diagonal = np.real(np.diag(np.asarray(rho.data()["density_matrix"])))
    # qubit 1 in |1>, depolarized with p = 0.5: P(q1 = 1) = 0.5 + 0.5 / 2
    np.testing.assert_allclose(diagonal, [0.25, 0.0, 0.75, 0.0], atol=1e-12)


def test_scrambling_needs_an_explicit_seed() -> None:
    with pytest.raises(ConfigError, match="seed must be"):
        scrambling_angles(num_qubits=2, strength=1.0, size=3, seed=None)  # type: ignore[arg-type]
