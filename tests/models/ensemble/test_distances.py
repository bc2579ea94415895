"""Ensemble distances (fidelity kernel, MMD, Wasserstein) against brute-force references."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from qiskit.quantum_info import random_density_matrix, random_statevector, state_fidelity
from scipy.linalg import sqrtm
from scipy.optimize import linprog

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.ensemble.distances import (
    fidelity_kernel,
    mean_fidelity,
    mmd,
    outcome_mmd,
    transport_plan,
    wasserstein,
)


def pure(count: int, dim: int, seed: int) -> np.ndarray:
    return np.stack([random_statevector(dim, seed=seed + k).data for k in range(count)])


def mixed(count: int, dim: int, seed: int, rank: int | None = None) -> np.ndarray:
    return np.stack(
        [random_density_matrix(dim, rank=rank, seed=seed + k).data for k in range(count)]
    )


def fidelity_np(a: np.ndarray, b: np.ndarray) -> float:
    """Fidelity of two pure states, or superfidelity when either is a density matrix."""
    if a.ndim == 1 and b.ndim == 1:
        return abs(np.vdot(a, b)) ** 2
    rho = np.outer(a, a.conj()) if a.ndim == 1 else a
    sigma = np.outer(b, b.conj()) if b.ndim == 1 else b
    purity_r = np.trace(rho @ rho).real
    purity_s = np.trace(sigma @ sigma).real
    return np.trace(rho @ sigma).real + np.sqrt(max(0.0, 1 - purity_r) * max(0.0, 1 - purity_s))


def brute_mmd(a: np.ndarray, b: np.ndarray) -> float:
    def mean_kernel(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean([[fidelity_np(u, v) for v in y] for u in x]))

    return mean_kernel(a, a) + mean_kernel(b, b) - 2 * mean_kernel(a, b)


def cost_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([[1.0 - fidelity_np(u, v) for v in b] for u in a])


def brute_assignment(cost: np.ndarray) -> float:
    """Min over all permutations (uniform weights, equal sizes)."""
    n = cost.shape[0]
    return min(sum(cost[i, p[i]] for i in range(n)) / n for p in itertools.permutations(range(n)))


def independent_ot(cost: np.ndarray) -> float:
    """The transport LP, built with Kronecker products (not the package's loop)."""
    n, m = cost.shape
    rows = np.kron(np.eye(n), np.ones((1, m)))
    cols = np.kron(np.ones((1, n)), np.eye(m))
    result = linprog(
        cost.reshape(-1),
        A_eq=np.vstack([rows, cols]),
        b_eq=np.concatenate([np.full(n, 1 / n), np.full(m, 1 / m)]),
        bounds=[(0, None)] * (n * m),
    )
    assert result.success
    return float(result.fun)


# -- fidelity kernel ---------------------------------------------------------------------------


def test_pure_kernel_is_the_squared_overlap() -> None:
    a, b = pure(5, 4, 0), pure(3, 4, 50)
    kernel = fidelity_kernel(torch.tensor(a), torch.tensor(b)).numpy()
    assert kernel.shape == (5, 3)
    expected = [[state_fidelity(u, v) for v in b] for u in a]
    np.testing.assert_allclose(kernel, expected, atol=1e-12)


def test_mixed_kernel_is_the_superfidelity() -> None:
    a, b = mixed(4, 4, 0), mixed(3, 4, 20)
    kernel = fidelity_kernel(torch.tensor(a), torch.tensor(b)).numpy()
    expected = [[fidelity_np(u, v) for v in b] for u in a]
    np.testing.assert_allclose(kernel, expected, atol=1e-12)


def test_superfidelity_bounds_the_uhlmann_fidelity() -> None:
    a, b = mixed(6, 4, 100), mixed(6, 4, 200, rank=2)
    kernel = fidelity_kernel(torch.tensor(a), torch.tensor(b)).numpy()
    for i, rho in enumerate(a):
        for j, sigma in enumerate(b):
            root = sqrtm(rho)
            uhlmann = np.trace(sqrtm(root @ sigma @ root)).real ** 2
            assert np.isclose(uhlmann, state_fidelity(rho, sigma, validate=False), atol=1e-8)
            assert kernel[i, j] >= uhlmann - 1e-9
            assert kernel[i, j] <= 1.0 + 1e-9


def test_superfidelity_equals_fidelity_when_one_state_is_pure() -> None:
    states, rhos = pure(4, 4, 3), mixed(5, 4, 30)
    # pure vectors against density matrices, in both orders
    kernel = fidelity_kernel(torch.tensor(states), torch.tensor(rhos)).numpy()
    flipped = fidelity_kernel(torch.tensor(rhos), torch.tensor(states)).numpy()
    as_density = np.einsum("ni,nj->nij", states, states.conj())
    dense = fidelity_kernel(torch.tensor(as_density), torch.tensor(rhos)).numpy()
    expected = np.array(
        [[state_fidelity(psi, rho, validate=False) for rho in rhos] for psi in states]
    )
    np.testing.assert_allclose(kernel, expected, atol=1e-5)
    np.testing.assert_allclose(flipped, expected.T, atol=1e-5)
    np.testing.assert_allclose(dense, expected, atol=1e-5)


def test_mean_fidelity_to_one_state() -> None:
    a, target = pure(7, 4, 1), random_statevector(4, seed=99).data
    value = float(mean_fidelity(torch.tensor(a), torch.tensor(target)))
    assert np.isclose(value, np.mean([state_fidelity(u, target) for u in a]), atol=1e-12)
    rhos = mixed(3, 4, 9)
    value = float(mean_fidelity(torch.tensor(rhos), torch.tensor(target)))
    expected = np.mean([np.vdot(target, rho @ target).real for rho in rhos])
    assert np.isclose(value, expected, atol=1e-5)


# -- MMD -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(5, 5), (4, 7), (1, 3)])
def test_mmd_equals_the_brute_force_sum_for_pure_states(n: int, m: int) -> None:
    a, b = pure(n, 4, 0), pure(m, 4, 40)
    value = float(mmd(torch.tensor(a), torch.tensor(b)))
    assert np.isclose(value, brute_mmd(a, b), atol=1e-12)
    assert value >= -1e-12  # a squared MMD of a positive-definite kernel


def test_mmd_equals_the_brute_force_sum_for_mixed_states() -> None:
    a, b = mixed(4, 2, 0), mixed(5, 2, 10)
    assert np.isclose(float(mmd(torch.tensor(a), torch.tensor(b))), brute_mmd(a, b), atol=1e-10)
    states = pure(3, 2, 70)
    expected = brute_mmd(a, states)
    assert np.isclose(float(mmd(torch.tensor(a), torch.tensor(states))), expected, atol=1e-5)


def test_mmd_of_an_ensemble_with_itself_is_zero() -> None:
    a = torch.tensor(pure(6, 4, 5))
    assert abs(float(mmd(a, a))) < 1e-12
    rhos = torch.tensor(mixed(4, 4, 5))
    assert abs(float(mmd(rhos, rhos))) < 1e-12
    # global phases do not matter
    phased = a * torch.exp(1j * torch.linspace(0, 3, 6, dtype=torch.float64))[:, None]
    assert abs(float(mmd(a, phased))) < 1e-12


def test_mmd_separates_orthogonal_ensembles() -> None:
    zeros = torch.tensor([[1.0, 0.0]] * 3, dtype=torch.complex128)
    ones = torch.tensor([[0.0, 1.0]] * 4, dtype=torch.complex128)
    assert np.isclose(float(mmd(zeros, ones)), 2.0)  # 1 + 1 - 2 * 0


# -- Wasserstein -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 4, 6])
def test_wasserstein_equals_the_best_permutation(n: int) -> None:
    a, b = pure(n, 4, 3 * n), pure(n, 4, 100 + n)
    value = float(wasserstein(torch.tensor(a), torch.tensor(b)))
    assert np.isclose(value, brute_assignment(cost_matrix(a, b)), atol=1e-12)


def test_wasserstein_of_mixed_ensembles_equals_the_best_permutation() -> None:
    a, b = mixed(5, 2, 1), mixed(5, 2, 60)
    value = float(wasserstein(torch.tensor(a), torch.tensor(b)))
    assert np.isclose(value, brute_assignment(cost_matrix(a, b)), atol=1e-10)


@pytest.mark.parametrize(("n", "m"), [(2, 3), (3, 2), (4, 6), (1, 5)])
def test_wasserstein_of_unequal_sizes_equals_an_independent_lp(n: int, m: int) -> None:
    a, b = pure(n, 2, 7 * n), pure(m, 2, 300 + m)
    cost = cost_matrix(a, b)
    value = float(wasserstein(torch.tensor(a), torch.tensor(b)))
    assert np.isclose(value, independent_ot(cost), atol=1e-9)


def test_wasserstein_of_unequal_sizes_equals_the_replicated_assignment() -> None:
    """Uniform weights 1/2 and 1/3 are 6 equal atoms: a 6 x 6 assignment (720 permutations)."""
    a, b = pure(2, 4, 11), pure(3, 4, 12)
    replicated = float(
        wasserstein(torch.tensor(np.repeat(a, 3, 0)), torch.tensor(np.repeat(b, 2, 0)))
    )
    brute = brute_assignment(cost_matrix(np.repeat(a, 3, 0), np.repeat(b, 2, 0)))
    value = float(wasserstein(torch.tensor(a), torch.tensor(b)))
    assert np.isclose(value, brute, atol=1e-9)
    assert np.isclose(replicated, brute, atol=1e-12)


def test_wasserstein_known_answers() -> None:
    zero = np.array([1.0, 0.0], dtype=complex)
    one = np.array([0.0, 1.0], dtype=complex)
    plus = np.array([1.0, 1.0], dtype=complex) / np.sqrt(2)
    two = torch.tensor(np.stack([zero, one]))
    # half the mass is already at |0>, the other half moves from |1> (cost 1)
    assert np.isclose(float(wasserstein(two, torch.tensor(zero[None]))), 0.5)
    # a duplicated ensemble is at distance zero from itself, whatever the sizes
    assert abs(float(wasserstein(two, torch.tensor(np.stack([zero, one, one, zero]))))) < 1e-12
    # every state has fidelity 1/2 with |+>
    assert np.isclose(float(wasserstein(two, torch.tensor(np.stack([plus] * 3)))), 0.5)


@pytest.mark.parametrize(("n", "m"), [(4, 4), (3, 5)])
def test_transport_plan_has_uniform_marginals_and_is_optimal(n: int, m: int) -> None:
    cost = np.random.default_rng(n * m).random((n, m))
    plan = transport_plan(cost)
    assert plan.shape == (n, m)
    assert (plan >= -1e-12).all()
    np.testing.assert_allclose(plan.sum(1), np.full(n, 1 / n), atol=1e-9)
    np.testing.assert_allclose(plan.sum(0), np.full(m, 1 / m), atol=1e-9)
    assert np.isclose((plan * cost).sum(), independent_ot(cost), atol=1e-9)


# -- gradients -------------------------------------------------------------------------------


def normalised(params: torch.Tensor) -> torch.Tensor:
    states = torch.complex(params[..., 0], params[..., 1])
    return states / torch.linalg.vector_norm(states, dim=-1, keepdim=True)


def finite_difference(function, params: torch.Tensor, eps: float = 1e-6) -> np.ndarray:  # type: ignore[no-untyped-def]
    flat = params.detach().clone().reshape(-1)
    grad = np.zeros(flat.numel())
    for k in range(flat.numel()):
        up, down = flat.clone(), flat.clone()
        up[k] += eps
        down[k] -= eps
        grad[k] = (
            float(function(up.reshape(params.shape))) - float(function(down.reshape(params.shape)))
        ) / (2 * eps)
    return grad.reshape(params.shape)


@pytest.mark.parametrize(
    ("name", "sizes"), [("mmd", (4, 5)), ("wasserstein", (4, 4)), ("wasserstein", (3, 5))]
)
def test_gradients_of_pure_ensembles_match_finite_differences(
    name: str, sizes: tuple[int, int]
) -> None:
    distance = {"mmd": mmd, "wasserstein": wasserstein}[name]
    rng = np.random.default_rng(8)
    params = torch.tensor(rng.normal(size=(sizes[0], 4, 2)), requires_grad=True)
    target = torch.tensor(pure(sizes[1], 4, 77))

    def loss(p: torch.Tensor) -> torch.Tensor:
        return distance(normalised(p), target)

    loss(params).backward()
    np.testing.assert_allclose(
        params.grad.numpy(), finite_difference(loss, params), atol=1e-6, rtol=1e-5
    )


@pytest.mark.parametrize("name", ["mmd", "wasserstein"])
def test_gradients_of_mixed_ensembles_match_finite_differences(name: str) -> None:
    distance = {"mmd": mmd, "wasserstein": wasserstein}[name]
    rng = np.random.default_rng(9)
    params = torch.tensor(rng.normal(size=(3, 2, 2, 2)), requires_grad=True)
    target = torch.tensor(mixed(3, 2, 5))

    def loss(p: torch.Tensor) -> torch.Tensor:
        a = torch.complex(p[..., 0], p[..., 1])  # full rank, so strictly mixed
        rho = a @ a.conj().transpose(-1, -2)
        rho = rho / torch.einsum("nii->n", rho)[:, None, None]
        return distance(rho, target)

    loss(params).backward()
    np.testing.assert_allclose(
        params.grad.numpy(), finite_difference(loss, params), atol=1e-6, rtol=1e-5
    )


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", [mmd, wasserstein])
def test_bad_ensembles_raise_config_error(distance) -> None:  # type: ignore[no-untyped-def]
    a = torch.tensor(pure(3, 4, 0))
    with pytest.raises(ConfigError, match="empty"):
        distance(a[:0], a)
    with pytest.raises(ConfigError, match="different dimensions"):
        distance(a, torch.tensor(pure(3, 2, 0)))


# -- outcome MMD (phase-blind, what a computational-basis readout sees) -----------------------


def _random_states(count: int, dim: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    states = rng.standard_normal((count, dim)) + 1j * rng.standard_normal((count, dim))
    return torch.as_tensor(states / np.linalg.norm(states, axis=1, keepdims=True))


def test_outcome_mmd_ignores_phases_and_equals_mmd_on_their_magnitudes() -> None:
    a, b = _random_states(6, 8, 0), _random_states(5, 8, 1)
    phases = torch.exp(1j * torch.as_tensor(np.random.default_rng(2).uniform(0, 6, (6, 8))))
    assert float(outcome_mmd(a * phases, b)) == pytest.approx(float(outcome_mmd(a, b)), abs=1e-9)
    magnitudes = mmd(a.abs().to(torch.complex128), b.abs().to(torch.complex128))
    assert float(outcome_mmd(a, b)) == pytest.approx(float(magnitudes), abs=1e-5)
    assert float(outcome_mmd(a, a)) == pytest.approx(0.0, abs=1e-9)
    assert float(mmd(a * phases, a)) > 0.1  # the quantum MMD sees the phases


def test_outcome_mmd_reads_the_diagonal_of_mixed_states() -> None:
    pure = _random_states(4, 4, 3)
    rho = torch.einsum("ni,nj->nij", pure, pure.conj())
    dephased = torch.diag_embed(torch.diagonal(rho, dim1=1, dim2=2))
    other = _random_states(3, 4, 4)
    value = float(outcome_mmd(pure, other))
    assert float(outcome_mmd(rho, other)) == pytest.approx(value, abs=1e-6)
    assert float(outcome_mmd(dephased, other)) == pytest.approx(value, abs=1e-6)


def test_outcome_mmd_has_finite_gradients_at_empty_outcomes() -> None:
    states = torch.zeros((3, 4), dtype=torch.complex128)
    states[:, 0] = 1.0
    states.requires_grad_(True)
    outcome_mmd(states, _random_states(3, 4, 5)).backward()
    assert states.grad is not None and torch.isfinite(states.grad.real).all()
