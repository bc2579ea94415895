"""Distances between ensembles of quantum states, differentiable in torch.

An ensemble is ``(N, d)`` pure states or ``(N, d, d)`` density matrices. The similarity of two
states is their fidelity ``|<psi|phi>|^2`` for pure states and the *superfidelity*
``tr(rho sigma) + sqrt(1 - tr rho^2) sqrt(1 - tr sigma^2)`` when either is mixed (MSQuDDPM's
default: an upper bound on the Uhlmann fidelity that needs no matrix square roots and equals the
fidelity whenever one state is pure).

- :func:`mmd`: QuDDPM's "natural distance" ``2 r12 - r11 - r22`` with ``r = 1 - mean F``, which
  is the (biased) squared maximum mean discrepancy of the fidelity kernel. Zero for identical
  ensembles; about 0.4-0.7 between a structured ensemble and Haar noise.
- :func:`outcome_mmd`: the same MMD with the *classical* fidelity kernel of the computational-
  basis outcome distributions, ``(sum_j sqrt(p_j q_j))^2`` with ``p = |psi|^2`` (the diagonal of
  ``rho`` when mixed). It is blind to phases, which no computational-basis readout sees: for an
  ensemble read out by measurement (amplitude-encoded jet images, where outcome ``j`` is pixel
  ``j``) it spends no training on phases that never reach the output.
- :func:`wasserstein`: optimal transport between the two empirical distributions with cost
  ``1 - F`` (QuDDPM's circle task). Solved exactly: an assignment for equal sizes, a transport
  linear program otherwise; the gradient is that of the optimal plan's cost (envelope theorem),
  as in POT's ``emd2``.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment, linprog

from qdm_qiskit.engine import density_matrix
from qdm_qiskit.errors import ConfigError


def fidelity_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(N, M)`` fidelities (superfidelities when an ensemble is mixed) between ``a`` and ``b``."""
    if a.dim() == 2 and b.dim() == 2:
        overlap = a.conj() @ b.T
        return overlap.abs() ** 2 if not overlap.is_complex() else overlap.real**2 + overlap.imag**2
    rho, sigma = density_matrix(a), density_matrix(b)
    # tr(rho_i sigma_j) = sum_kl rho_i[k, l] sigma_j[l, k]
    cross = torch.einsum("ikl,jlk->ij", rho, sigma).real
    linear_entropy_a = _linear_entropy(rho)
    linear_entropy_b = _linear_entropy(sigma)
    return cross + linear_entropy_a.sqrt()[:, None] * linear_entropy_b.sqrt()[None, :]


def mmd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Fidelity-kernel MMD ``mean K(a,a) + mean K(b,b) - 2 mean K(a,b)``."""
    _check_pair(a, b)
    return (
        fidelity_kernel(a, a).mean()
        + fidelity_kernel(b, b).mean()
        - 2 * fidelity_kernel(a, b).mean()
    )


def outcome_amplitudes(states: torch.Tensor) -> torch.Tensor:
    """``sqrt(p_j)`` of the outcome distribution ``p = |psi|^2`` (or ``diag(rho)``), real.

    The square root is taken of ``p + 1e-12``: its slope is infinite at 0, and empty pixels sit
    exactly there.
    """
    if states.dim() == 3:
        probabilities = torch.diagonal(states, dim1=1, dim2=2).real.clamp_min(0.0)
    else:
        probabilities = states.real**2 + states.imag**2
    return (probabilities + 1e-12).sqrt()


def outcome_mmd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """MMD of the classical fidelity kernel of the outcome distributions (phase-blind)."""
    _check_pair(a, b)
    return mmd(outcome_amplitudes(a), outcome_amplitudes(b))


def wasserstein(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact optimal-transport distance with cost ``1 - F`` and uniform weights."""
    _check_pair(a, b)
    cost = 1.0 - fidelity_kernel(a, b)
    plan = torch.as_tensor(transport_plan(cost.detach().double().cpu().numpy()))
    return (plan.to(cost.device, cost.dtype) * cost).sum()


def transport_plan(cost: np.ndarray) -> np.ndarray:
    """The optimal plan ``(N, M)`` (rows sum to ``1/N``, columns to ``1/M``) for ``cost``."""
    n, m = cost.shape
    if n == m:  # a permutation is optimal for uniform weights of equal sizes (Birkhoff)
        rows, cols = linear_sum_assignment(cost)
        plan = np.zeros_like(cost)
        plan[rows, cols] = 1.0 / n
        return plan
    equalities = np.zeros((n + m, n * m))
    for i in range(n):
        equalities[i, i * m : (i + 1) * m] = 1.0
    for j in range(m):
        equalities[n + j, j::m] = 1.0
    marginals = np.concatenate([np.full(n, 1.0 / n), np.full(m, 1.0 / m)])
    result = linprog(cost.ravel(), A_eq=equalities, b_eq=marginals, bounds=(0, None),
                     method="highs")  # fmt: skip
    if not result.success:  # pragma: no cover - the transport polytope is never empty
        raise ConfigError(f"optimal transport failed: {result.message}")
    return np.asarray(result.x).reshape(n, m)


def mean_fidelity(states: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean fidelity of an ensemble to one pure state ``target`` ``(d,)``."""
    return fidelity_kernel(states, target[None, :]).mean()


def _linear_entropy(rho: torch.Tensor) -> torch.Tensor:
    purity = torch.einsum("ikl,ilk->i", rho, rho).real
    # Clamped away from 0: sqrt has an infinite slope there, and pure states sit exactly on it.
    return (1.0 - purity).clamp_min(1e-12)


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise ConfigError("cannot compare an empty ensemble")
    if a.shape[1] != b.shape[1]:
        raise ConfigError(
            f"ensembles of different dimensions: {a.shape[1]} and {b.shape[1]} amplitudes"
        )
