"""``measure_qubits``: selective Z measurement (one trajectory per row) against quantum_info."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import (
    DensityMatrix,
    Statevector,
    partial_trace,
    random_density_matrix,
    random_statevector,
)
from scipy import stats

from qdm_qiskit.engine import measure_qubits
from qdm_qiskit.errors import ConfigError


def random_states(num_qubits: int, count: int, seed: int) -> np.ndarray:
    return np.stack([random_statevector(2**num_qubits, seed=seed + k).data for k in range(count)])


def project(vector: np.ndarray, qubits: list[int], outcome: int, num_qubits: int) -> np.ndarray:
    """Brute force: keep the amplitudes whose measured bits spell ``outcome``, relabel the rest."""
    kept = [q for q in range(num_qubits) if q not in qubits]
    out = np.zeros(2 ** len(kept), dtype=complex)
    for index, amplitude in enumerate(vector):
        bits = [(index >> q) & 1 for q in range(num_qubits)]
        if sum(bits[q] << k for k, q in enumerate(qubits)) != outcome:
            continue
        out[sum(bits[q] << k for k, q in enumerate(kept))] += amplitude
    return out


def projector(qubits: list[int], outcome: int, num_qubits: int) -> np.ndarray:
    """``|m><m|`` on ``qubits`` (bit k of ``outcome`` on ``qubits[k]``), identity elsewhere."""
    diagonal = np.array(
        [
            all(((index >> q) & 1) == ((outcome >> k) & 1) for k, q in enumerate(qubits))
            for index in range(2**num_qubits)
        ],
        dtype=float,
    )
    return np.diag(diagonal)


@pytest.mark.parametrize(
    ("num_qubits", "qubits"), [(1, [0]), (2, [1]), (2, [0]), (3, [2, 0]), (3, [0, 1]), (3, [1])]
)
def test_vector_post_states_match_quantum_info(num_qubits: int, qubits: list[int]) -> None:
    states = random_states(num_qubits, 12, seed=10 * num_qubits + qubits[0])
    generator = torch.Generator().manual_seed(3)
    outcomes, post = measure_qubits(torch.tensor(states), qubits, num_qubits, generator)
    kept = [q for q in range(num_qubits) if q not in qubits]
    assert outcomes.shape == (12,) and outcomes.dtype == torch.int64
    assert post.shape == (12, 2 ** len(kept))
    for row, vector in enumerate(states):
        outcome = int(outcomes[row])
        assert 0 <= outcome < 2 ** len(qubits)
        # the outcome has non-zero Born probability (quantum_info's marginal, qargs order)
        born = Statevector(vector).probabilities(qargs=qubits)
        assert born[outcome] > 1e-12
        reference = project(vector, qubits, outcome, num_qubits)
        reference /= np.linalg.norm(reference)
        np.testing.assert_allclose(post[row].numpy(), reference, atol=1e-12)
        # and independently: quantum_info's reduced state after the projection
        projected = Statevector(projector(qubits, outcome, num_qubits) @ vector)
        reduced = partial_trace(projected, qubits).data
        reduced /= np.trace(reduced)
        mine = np.outer(post[row].numpy(), post[row].numpy().conj())
        np.testing.assert_allclose(mine, reduced, atol=1e-12)
        assert np.isclose(np.linalg.norm(post[row].numpy()), 1.0)


@pytest.mark.parametrize(("num_qubits", "qubits"), [(2, [1]), (3, [2, 0]), (3, [1])])
def test_density_post_states_match_quantum_info(num_qubits: int, qubits: list[int]) -> None:
    dim = 2**num_qubits
    rhos = np.stack([random_density_matrix(dim, seed=40 + k).data for k in range(8)])
    outcomes, post = measure_qubits(
        torch.tensor(rhos), qubits, num_qubits, torch.Generator().manual_seed(1)
    )
    kept = 2 ** (num_qubits - len(qubits))
    assert post.shape == (8, kept, kept)
    for row, rho in enumerate(rhos):
        outcome = int(outcomes[row])
        proj = projector(qubits, outcome, num_qubits)
        projected = proj @ rho @ proj
        probability = np.trace(projected).real
        assert np.isclose(DensityMatrix(rho).probabilities(qargs=qubits)[outcome], probability)
        reference = partial_trace(DensityMatrix(projected / probability), qubits).data
        np.testing.assert_allclose(post[row].numpy(), reference, atol=1e-12)
        np.testing.assert_allclose(np.trace(post[row].numpy()), 1.0, atol=1e-12)


@pytest.mark.parametrize("density", [False, True], ids=["vector", "density"])
def test_outcome_frequencies_follow_born_probabilities(density: bool) -> None:
    num_qubits, qubits, rows = 3, [2, 0], 4000
    vector = random_statevector(8, seed=7).data
    born = Statevector(vector).probabilities(qargs=qubits)
    state = torch.tensor(vector).expand(rows, 8).clone()
    if density:
        state = state[:, :, None] * state[:, None, :].conj()
    outcomes, _ = measure_qubits(state, qubits, num_qubits, torch.Generator().manual_seed(11))
    counts = np.bincount(outcomes.numpy(), minlength=4)
    _, p_value = stats.chisquare(counts, rows * born)
    assert p_value > 1e-3, (counts, rows * born)
    # every sampled outcome is allowed: no impossible results for a state with zeros
    basis = np.zeros(8, dtype=complex)
    basis[0b100] = basis[0b001] = 1 / np.sqrt(2)  # qubit 2 and qubit 0 set separately
    outcomes, _ = measure_qubits(
        torch.tensor(basis).expand(500, 8).clone(), qubits, num_qubits, torch.Generator()
    )
    # outcome bit 0 is qubit 2, bit 1 is qubit 0: |100> -> 0b01, |001> -> 0b10
    assert set(outcomes.tolist()) == {0b01, 0b10}


def test_vector_and_density_paths_agree_for_the_same_seed() -> None:
    states = random_states(3, 30, seed=5)
    vectors = torch.tensor(states)
    rhos = vectors[:, :, None] * vectors[:, None, :].conj()
    out_v, post_v = measure_qubits(vectors, [1, 2], 3, torch.Generator().manual_seed(9))
    out_d, post_d = measure_qubits(rhos, [1, 2], 3, torch.Generator().manual_seed(9))
    assert torch.equal(out_v, out_d)
    expected = post_v[:, :, None] * post_v[:, None, :].conj()
    torch.testing.assert_close(post_d, expected, atol=1e-12, rtol=0)


def test_same_seed_same_outcomes_and_different_seeds_differ() -> None:
    states = torch.tensor(random_states(2, 200, seed=1))
    first = measure_qubits(states, [0], 2, torch.Generator().manual_seed(4))
    second = measure_qubits(states, [0], 2, torch.Generator().manual_seed(4))
    other = measure_qubits(states, [0], 2, torch.Generator().manual_seed(5))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[0], other[0])


def test_complex64_states_keep_their_dtype() -> None:
    states = torch.tensor(random_states(2, 5, seed=2)).to(torch.complex64)
    _, post = measure_qubits(states, [1], 2, torch.Generator().manual_seed(0))
    assert post.dtype == torch.complex64
    np.testing.assert_allclose(post.abs().pow(2).sum(-1).numpy(), 1.0, atol=1e-6)


def test_gradients_flow_through_vector_post_states() -> None:
    phi = torch.tensor(random_statevector(4, seed=3).data)

    def overlap(re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
        state = torch.complex(re, im)
        _, post = measure_qubits(state, [2], 3, torch.Generator().manual_seed(2))
        return (post.conj() * phi[None, :]).sum(-1).abs() ** 2 + post.real.sum(-1)

    rng = np.random.default_rng(0)
    re = torch.tensor(rng.normal(size=(3, 8)), requires_grad=True)
    im = torch.tensor(rng.normal(size=(3, 8)), requires_grad=True)
    assert torch.autograd.gradcheck(overlap, (re, im), eps=1e-6, atol=1e-5)


def test_gradients_flow_through_density_post_states() -> None:
    target = torch.tensor(random_density_matrix(2, seed=8).data)

    def score(re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
        a = torch.complex(re, im)
        rho = a @ a.conj().transpose(-1, -2)  # positive, any trace: the post state is normalised
        _, post = measure_qubits(rho, [0], 2, torch.Generator().manual_seed(6))
        return torch.einsum("bij,ji->b", post, target).real

    rng = np.random.default_rng(1)
    re = torch.tensor(rng.normal(size=(2, 4, 4)), requires_grad=True)
    im = torch.tensor(rng.normal(size=(2, 4, 4)), requires_grad=True)
    assert torch.autograd.gradcheck(score, (re, im), eps=1e-6, atol=1e-5)


def test_backward_gives_finite_gradients_for_a_loss() -> None:
    re = torch.tensor(np.random.default_rng(2).normal(size=(6, 4)), requires_grad=True)
    _, post = measure_qubits(torch.complex(re, torch.zeros_like(re)), [1], 2, torch.Generator())
    (post.abs() ** 2)[:, 0].sum().backward()
    assert re.grad is not None and torch.isfinite(re.grad).all() and re.grad.abs().sum() > 0


@pytest.mark.parametrize("qubits", [[0, 0], [1, 1, 0], [2], [-1], [0, 3]])
def test_bad_qubits_raise_config_error(qubits: list[int]) -> None:
    states = torch.tensor(random_states(2, 2, seed=0))
    with pytest.raises(ConfigError, match="distinct"):
        measure_qubits(states, qubits, 2, torch.Generator())
