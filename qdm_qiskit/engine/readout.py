"""Differentiable readouts of engine states: probabilities, Pauli expectations, fidelities.

States are ``(B, 2^n)`` vectors or ``(B, 2^n, 2^n)`` density matrices; every function accepts
both. Observables follow Qiskit's conventions (``SparsePauliOp``, qubit 0 rightmost in labels).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from qdm_qiskit.errors import ConfigError


def probabilities(state: torch.Tensor) -> torch.Tensor:
    """Computational-basis probabilities ``(B, 2^n)``."""
    if state.dim() == 3:
        return torch.diagonal(state, dim1=-2, dim2=-1).real
    return state.real**2 + state.imag**2


def z_signs(
    num_qubits: int,
    qubits: Sequence[int] | None = None,
    *,
    device: torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``(2^n, k)`` matrix of ``+-1``: the eigenvalue of ``Z_q`` on every basis state."""
    chosen = list(range(num_qubits)) if qubits is None else list(qubits)
    bits = (np.arange(2**num_qubits)[:, None] >> np.array(chosen)[None, :]) & 1
    return torch.tensor(1.0 - 2.0 * bits, dtype=dtype, device=device)


def expectation_z(state: torch.Tensor, qubits: Sequence[int] | None = None) -> torch.Tensor:
    """``<Z_q>`` for every qubit (or the chosen ones): ``(B, k)``."""
    probs = probabilities(state)
    num_qubits = int(np.log2(probs.shape[-1]))
    return probs @ z_signs(num_qubits, qubits, device=probs.device, dtype=probs.dtype)


def expectation(state: torch.Tensor, observables: Sequence[SparsePauliOp]) -> torch.Tensor:
    """``<O_k>`` for each observable: ``(B, K)``, real parts (observables must be Hermitian)."""
    dim = state.shape[-1]
    columns = []
    for observable in observables:
        if observable.dim != (dim, dim):
            raise ConfigError(
                f"observable on {observable.num_qubits} qubits does not fit the state"
            )
        total = torch.zeros(state.shape[0], dtype=state.real.dtype, device=state.device)
        for pauli, coefficient in zip(observable.paulis, observable.coeffs, strict=True):
            matrix = pauli.to_matrix(sparse=True).tocsc()
            rows = torch.tensor(matrix.indices, dtype=torch.int64, device=state.device)
            values = torch.tensor(matrix.data, dtype=state.dtype, device=state.device)
            cols = torch.arange(dim, device=state.device)
            if state.dim() == 3:  # Tr(rho P) = sum_c P[row_c, c] rho[c, row_c]
                term = (values * state[:, cols, rows]).sum(-1)
            else:  # <psi|P|psi> = sum_c conj(psi[row_c]) P[row_c, c] psi[c]
                term = (state[:, rows].conj() * values * state).sum(-1)
            total = total + (complex(coefficient) * term).real
        columns.append(total)
    return torch.stack(columns, dim=-1)


def fidelity(state: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``|<target|psi>|^2`` (or ``<target|rho|target>``) per sample; pure targets ``(B, 2^n)``."""
    if state.dim() == 3:
        return torch.einsum("bi,bij,bj->b", target.conj(), state, target).real
    overlap = (target.conj() * state).sum(-1)
    return overlap.real**2 + overlap.imag**2


def reduced_density_matrix(
    state: torch.Tensor, keep: Sequence[int], num_qubits: int
) -> torch.Tensor:
    """Partial trace onto the qubits ``keep`` (in that order, ``keep[0]`` the low bit)."""
    batch = state.shape[0]
    if state.dim() == 2:
        state = state[:, :, None] * state[:, None, :].conj()
    tensor = state.reshape((batch,) + (2,) * (2 * num_qubits))
    drop = [q for q in range(num_qubits) if q not in keep]
    row_axis = {q: num_qubits - q for q in range(num_qubits)}
    col_axis = {q: 2 * num_qubits - q for q in range(num_qubits)}
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if 2 * num_qubits > len(letters):
        raise ConfigError("partial trace supports at most 26 qubits")
    spec = ["?"] * (2 * num_qubits + 1)
    spec[0] = "Z"
    for i, q in enumerate(range(num_qubits)):
        spec[row_axis[q]] = letters[i]
        spec[col_axis[q]] = letters[i] if q in drop else letters[num_qubits + i]
    kept_rows = [letters[q] for q in reversed(list(keep))]
    kept_cols = [letters[num_qubits + q] for q in reversed(list(keep))]
    out = torch.einsum(f"{''.join(spec)}->Z{''.join(kept_rows)}{''.join(kept_cols)}", tensor)
    size = 2 ** len(keep)
    return out.reshape(batch, size, size)
