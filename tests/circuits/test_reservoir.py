"""XXZ reservoir: Hamiltonians against hand-built matrices, exact and Trotterized evolution."""

from __future__ import annotations

import itertools
import math
from functools import reduce

import numpy as np
import pytest
from qiskit.quantum_info import Operator, Statevector, partial_trace
from scipy.linalg import expm

from qdm_qiskit.circuits.reservoir import (
    exact_reservoir_unitary,
    reservoir_circuit,
    reservoir_hamiltonian,
    total_magnetization,
    unitary_infidelity,
    xxz_bonds,
    xxz_hamiltonian,
)
from qdm_qiskit.errors import ConfigError

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.diag([1.0, -1.0]).astype(complex)


def pauli_pair(p: np.ndarray, a: int, b: int, n: int) -> np.ndarray:
    """``P_a P_b`` on ``n`` qubits, little-endian (qubit 0 is the rightmost Kronecker factor)."""
    factors = [p if q in (a, b) else I2 for q in reversed(range(n))]
    return reduce(np.kron, factors)


def hand_xxz(bonds: list[tuple[int, int]], delta: float, n: int, scale: float = 1.0) -> np.ndarray:
    h = np.zeros((2**n, 2**n), dtype=complex)
    for a, b in bonds:
        h += scale * (
            pauli_pair(X, a, b, n) + pauli_pair(Y, a, b, n) + delta * pauli_pair(Z, a, b, n)
        )
    return h


def hand_reservoir(n: int, m: int, delta: float, coupling: float, periodic: bool) -> np.ndarray:
    def chain(size: int, offset: int) -> list[tuple[int, int]]:
        bonds = [(offset + i, offset + i + 1) for i in range(size - 1)]
        if periodic and size > 2:
            bonds.append((offset + size - 1, offset))
        return bonds

    h = hand_xxz(chain(n, 0), delta, n + m) + hand_xxz(chain(m, n), delta, n + m)
    if m:
        h += hand_xxz([(n - 1, n)], delta, n + m, scale=coupling)
    return h


def random_state(dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=dim) + 1j * rng.normal(size=dim)
    return psi / np.linalg.norm(psi)


def input_with_ancillas(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random input state on qubits 0..n-1, ancillas n..n+m-1 in |0>: (input, full state)."""
    psi = random_state(2**n, seed)
    ancilla = np.zeros(2**m)
    ancilla[0] = 1.0
    return psi, np.kron(ancilla, psi)  # ancillas are the high qubits


def test_bonds() -> None:
    assert xxz_bonds(4, "open") == [(0, 1), (1, 2), (2, 3)]
    assert xxz_bonds(4, "periodic") == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert xxz_bonds(2, "periodic") == [(0, 1)]
    assert xxz_bonds(3, "periodic", offset=2) == [(2, 3), (3, 4), (4, 2)]
    assert xxz_bonds(1, "open") == []


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("boundary", ["open", "periodic"])
def test_xxz_hamiltonian_matches_hand_matrix(n: int, boundary: str) -> None:
    delta = 0.63
    bonds = [(i, i + 1) for i in range(n - 1)]
    if boundary == "periodic" and n > 2:
        bonds.append((n - 1, 0))
    expected = hand_xxz(bonds, delta, n)
    h = xxz_hamiltonian(num_qubits=n, delta=delta, boundary=boundary).to_matrix()
    np.testing.assert_allclose(h, expected, atol=1e-12)
    np.testing.assert_allclose(h, h.conj().T, atol=1e-14)


def test_xxz_single_site_is_zero() -> None:
    h = xxz_hamiltonian(num_qubits=1, delta=1.0).to_matrix()
    np.testing.assert_array_equal(h, np.zeros((2, 2)))


@pytest.mark.parametrize(("n", "m"), [(2, 2), (3, 2), (2, 3), (3, 0), (1, 2)])
@pytest.mark.parametrize("boundary", ["open", "periodic"])
def test_reservoir_hamiltonian_matches_hand_matrix(n: int, m: int, boundary: str) -> None:
    delta, coupling = -0.4, 0.7
    h = reservoir_hamiltonian(
        num_inputs=n, num_ancillas=m, delta=delta, coupling=coupling, boundary=boundary
    ).to_matrix()
    expected = hand_reservoir(n, m, delta, coupling, boundary == "periodic")
    assert h.shape == (2 ** (n + m),) * 2
    np.testing.assert_allclose(h, expected, atol=1e-12)
    np.testing.assert_allclose(h, h.conj().T, atol=1e-14)


def test_coupling_bond_is_last_input_first_ancilla() -> None:
    n, m, delta, lam = 3, 2, 1.3, 0.45
    with_coupling = reservoir_hamiltonian(num_inputs=n, num_ancillas=m, delta=delta, coupling=lam)
    without = reservoir_hamiltonian(num_inputs=n, num_ancillas=m, delta=delta, coupling=0.0)
    difference = with_coupling.to_matrix() - without.to_matrix()
    np.testing.assert_allclose(difference, hand_xxz([(2, 3)], delta, n + m, scale=lam), atol=1e-12)
    assert not np.allclose(difference, hand_xxz([(0, 3)], delta, n + m, scale=lam))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("boundary", ["open", "periodic"])
def test_hamiltonian_conserves_magnetization(seed: int, boundary: str) -> None:
    rng = np.random.default_rng(seed)
    delta, lam = rng.uniform(-2, 2), rng.uniform(0, 2)
    n, m = 3, 3
    h = reservoir_hamiltonian(
        num_inputs=n, num_ancillas=m, delta=delta, coupling=lam, boundary=boundary
    ).to_matrix()
    magnetization = sum(
        reduce(np.kron, [Z if q == i else I2 for q in reversed(range(n + m))]) for i in range(n + m)
    )
    np.testing.assert_allclose(total_magnetization(n + m).to_matrix(), magnetization, atol=1e-14)
    assert np.linalg.norm(h @ magnetization - magnetization @ h) < 1e-10
    # a non-conserving term would fail the check: X on qubit 0 does not commute with M
    x0 = reduce(np.kron, [X if q == 0 else I2 for q in reversed(range(n + m))])
    assert np.linalg.norm((h + x0) @ magnetization - magnetization @ (h + x0)) > 1


def test_reservoir_circuit_parameters() -> None:
    qc = reservoir_circuit(num_inputs=3, num_ancillas=2, trotter_steps=2)
    assert sorted(p.name for p in qc.parameters) == ["t_f", "tau_b"]
    assert qc.num_qubits == 5
    assert {op for op in qc.count_ops()} <= {"rxx", "ryy", "rzz"}
    assert qc.metadata["parameter_roles"] == {"t_f": "input", "tau_b": "input"}


def test_exact_evolution_without_coupling_returns_input() -> None:
    n, m, t = 2, 2, 1.7
    psi, full = input_with_ancillas(n, m, seed=1)
    h = hand_reservoir(n, m, delta=0.8, coupling=0.0, periodic=False)
    unitary = expm(1j * h * t) @ expm(-1j * h * t)
    assert abs(np.vdot(full, unitary @ full)) ** 2 > 1 - 1e-9
    package = exact_reservoir_unitary(
        num_inputs=n, num_ancillas=m, delta=0.8, coupling=0.0, t_f=t, tau_b=t
    )
    assert abs(np.vdot(full, package @ full)) ** 2 > 1 - 1e-9
    np.testing.assert_allclose(package, np.eye(2 ** (n + m)), atol=1e-9)
    # the forward half alone does change the state
    forward = expm(-1j * h * t)
    assert abs(np.vdot(full, forward @ full)) ** 2 < 0.99
    reduced = partial_trace(Statevector(package @ full), list(range(n, n + m))).data
    assert np.real(psi.conj() @ reduced @ psi) > 1 - 1e-9


def test_exact_reservoir_unitary_matches_hand_expm() -> None:
    n, m, delta, lam, t_f, tau_b = 2, 2, 0.5, 0.7, 1.1, 0.6
    h = hand_reservoir(n, m, delta, lam, periodic=False)
    h_b = hand_reservoir(n, m, delta, 0.2, periodic=False)
    expected = expm(1j * h_b * tau_b) @ expm(-1j * h * t_f)
    package = exact_reservoir_unitary(
        num_inputs=n,
        num_ancillas=m,
        delta=delta,
        coupling=lam,
        t_f=t_f,
        tau_b=tau_b,
        backward_coupling=0.2,
    )
    np.testing.assert_allclose(package, expected, atol=1e-10)


def trotter_fidelity(full: np.ndarray, steps: int, order: int, t: float = 1.0) -> float:
    """Fidelity with the input after the bound circuit, lambda = 0 and tau_b = t_f = t."""
    qc = reservoir_circuit(
        num_inputs=3, num_ancillas=2, delta=0.8, coupling=0.0, trotter_steps=steps, order=order
    )
    bound = qc.assign_parameters({"t_f": t, "tau_b": t})
    out = Statevector(full).evolve(bound).data
    return float(abs(np.vdot(full, out)) ** 2)


@pytest.mark.parametrize("order", [1, 2])
def test_trivial_case_is_exact_for_every_trotter_setting(order: int) -> None:
    # The backward block is the adjoint of the forward-style Trotter product, so with
    # lambda = 0 and tau_b = t_f it undoes the forward block for any number of steps (3 inputs:
    # the bonds (0,1) and (1,2) do not commute, so each half alone has a Trotter error).
    _, full = input_with_ancillas(3, 2, seed=2)
    for steps in (1, 2, 4, 8, 16):
        assert trotter_fidelity(full, steps, order=order) > 1 - 1e-9
    # the forward half alone is not the identity
    qc = reservoir_circuit(num_inputs=3, num_ancillas=2, delta=0.8, coupling=0.0, order=order)
    out = Statevector(full).evolve(qc.assign_parameters({"t_f": 1.0, "tau_b": 0.0})).data
    assert abs(np.vdot(full, out)) ** 2 < 0.99


@pytest.mark.parametrize("order", [1, 2])
def test_reconstruction_fidelity_converges_monotonically_with_steps(order: int) -> None:
    """With coupling, the Trotterized reconstruction approaches the exact one step by step."""
    n, m, t = 3, 2, 1.0
    _, full = input_with_ancillas(n, m, seed=3)
    exact = Statevector(
        exact_reservoir_unitary(num_inputs=n, num_ancillas=m, delta=1.0, coupling=0.7,
                                t_f=t, tau_b=t) @ full
    )  # fmt: skip
    gaps = []
    for steps in (1, 2, 4, 8, 16):
        qc = reservoir_circuit(num_inputs=n, num_ancillas=m, coupling=0.7, trotter_steps=steps,
                               order=order)  # fmt: skip
        trotter = Statevector(full).evolve(qc.assign_parameters({"t_f": t, "tau_b": t}))
        gaps.append(1 - abs(np.vdot(exact.data, trotter.data)) ** 2)
    assert all(b < a for a, b in itertools.pairwise(gaps)), gaps
    assert gaps[-1] < (1e-2 if order == 1 else 1e-4)


@pytest.mark.parametrize("order", [1, 2])
def test_trotterized_circuit_against_exact_unitary(order: int) -> None:
    n, m, delta, lam, t = 3, 2, 1.0, 0.7, 1.0
    h = hand_reservoir(n, m, delta, lam, periodic=False)
    h_b = hand_reservoir(n, m, delta, 0.0, periodic=False)
    exact = expm(1j * h_b * t) @ expm(-1j * h * t)
    errors = []
    for steps in (2, 4, 8, 16):
        qc = reservoir_circuit(
            num_inputs=n,
            num_ancillas=m,
            delta=delta,
            coupling=lam,
            trotter_steps=steps,
            order=order,
        )
        unitary = Operator(qc.assign_parameters({"t_f": t, "tau_b": t})).data
        errors.append(unitary_infidelity(unitary, exact))
    assert all(b < a for a, b in itertools.pairwise(errors)), errors
    # infidelity ~ (Trotter error)^2 ~ r^-2 (order 1) or r^-4 (order 2): halving dt
    # divides it by about 4 or 16
    ratio = errors[-1] / errors[-2]
    assert ratio == pytest.approx(0.25 if order == 1 else 1 / 16, rel=0.3)
    if order == 2:
        assert errors[-1] < 1e-4


def test_coupling_leaks_input_information() -> None:
    n, m, t = 2, 2, 3.0
    psi, full = input_with_ancillas(n, m, seed=2)
    h = hand_reservoir(n, m, delta=1.0, coupling=0.7, periodic=False)
    h_b = hand_reservoir(n, m, delta=1.0, coupling=0.0, periodic=False)
    out = expm(1j * h_b * t) @ expm(-1j * h * t) @ full
    reduced = partial_trace(Statevector(out), list(range(n, n + m))).data
    assert np.real(psi.conj() @ reduced @ psi) < 0.99
    # the package's default circuit (coupling 0.7, backward coupling 0) does not recover it either
    qc = reservoir_circuit(num_inputs=n, num_ancillas=m, coupling=0.7, trotter_steps=16, order=2)
    state = Statevector(full).evolve(qc.assign_parameters({"t_f": t, "tau_b": t}))
    reduced_circuit = partial_trace(state, list(range(n, n + m))).data
    fidelity = np.real(psi.conj() @ reduced_circuit @ psi)
    assert fidelity < 0.99
    assert fidelity == pytest.approx(np.real(psi.conj() @ reduced @ psi), abs=0.02)


def test_unitary_infidelity() -> None:
    u = expm(-1j * hand_reservoir(2, 1, 0.3, 0.5, periodic=False))
    assert unitary_infidelity(u, u) == pytest.approx(0.0, abs=1e-12)
    assert unitary_infidelity(u, np.exp(1j * 0.77) * u) == pytest.approx(0.0, abs=1e-12)
    v = np.kron(np.eye(4), Z) @ u
    # Tr(U^dag Z_0 U)... here Tr(U^dag V) = Tr(Z_0 (x) I) = 0: orthogonal unitaries
    assert unitary_infidelity(u, v) == pytest.approx(1.0, abs=1e-12)
    assert unitary_infidelity(np.eye(2), np.diag([1, 1j])) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"trotter_steps": 0},
        {"trotter_steps": 2.5},
        {"trotter_steps": True},
        {"order": 3},
        {"order": 0},
        {"boundary": "closed"},
        {"delta": math.nan},
        {"delta": math.inf},
        {"coupling": math.nan},
        {"backward_coupling": math.inf},
        {"num_inputs": 0},
        {"num_ancillas": -1},
    ],
)
def test_reservoir_circuit_invalid_args(kwargs: dict) -> None:
    arguments = {"num_inputs": 2, "num_ancillas": 2, **kwargs}
    with pytest.raises(ConfigError):
        reservoir_circuit(**arguments)


def test_hamiltonian_invalid_args() -> None:
    with pytest.raises(ConfigError):
        xxz_hamiltonian(num_qubits=3, delta=1.0, boundary="closed")
    with pytest.raises(ConfigError):
        xxz_hamiltonian(num_qubits=0, delta=1.0)
    with pytest.raises(ConfigError):
        reservoir_hamiltonian(num_inputs=2, num_ancillas=2, delta=math.nan, coupling=0.5)
    with pytest.raises(ConfigError):
        reservoir_hamiltonian(num_inputs=2, num_ancillas=2, delta=1.0, coupling="0.5")


def test_xxz_hamiltonian_rejects_non_finite_delta() -> None:
    with pytest.raises(ConfigError, match="delta must be a finite number"):
        xxz_hamiltonian(num_qubits=3, delta=float("nan"))
