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


def density_matrix(state: torch.Tensor) -> torch.Tensor:
    """``|psi><psi|`` per row for ``(B, d)`` vectors; density matrices pass through unchanged."""
    if state.dim() == 3:
        return state
    return state[:, :, None] * state[:, None, :].conj()


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
    state = density_matrix(state)
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


def measure_qubits(
    state: torch.Tensor,
    qubits: Sequence[int],
    num_qubits: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Selective Z measurement of ``qubits``: one sampled outcome per row (a quantum trajectory).

    Returns ``(outcomes, post_states)``: ``outcomes`` ``(B,)`` integers whose bit ``k`` is the
    result on ``qubits[k]``, and the normalised post-measurement states of the *other* qubits
    (in increasing qubit order, the lowest one the low bit), ``(B, 2^r)`` vectors or
    ``(B, 2^r, 2^r)`` density matrices like the input. Outcomes are drawn on the CPU from
    ``generator`` (the same numbers on every device); gradients flow through the post-measurement
    states, as in QuDDPM's ``randomMeasure``.
    """
    measured = [int(q) for q in qubits]
    if len(set(measured)) != len(measured) or any(not 0 <= q < num_qubits for q in measured):
        raise ConfigError(f"qubits to measure must be distinct and in [0, {num_qubits})")
    kept = [q for q in range(num_qubits) if q not in measured]
    batch, k, r = state.shape[0], len(measured), len(kept)
    # Axis of qubit q in the (B, 2, ..., 2) view is n - q; list high bits first.
    order = [num_qubits - q for q in reversed(measured)] + [num_qubits - q for q in reversed(kept)]
    if state.dim() == 2:
        tensor = state.reshape((batch,) + (2,) * num_qubits).permute(0, *order)
        blocks = tensor.reshape(batch, 2**k, 2**r)
        weights = (blocks.real**2 + blocks.imag**2).sum(-1)
    else:
        columns = [axis + num_qubits for axis in order]
        tensor = state.reshape((batch,) + (2,) * (2 * num_qubits)).permute(0, *order, *columns)
        blocks = tensor.reshape(batch, 2**k, 2**r, 2**k, 2**r)
        # diagonal over (m, m') then (j, j'): shape (B, 2^k, 2^r) after the two diagonals
        weights = torch.diagonal(blocks, dim1=1, dim2=3).diagonal(dim1=1, dim2=2).real.sum(-1)
    chance = weights.detach().double().cpu().clamp_min(0.0)
    outcomes = torch.multinomial(chance, 1, generator=generator).squeeze(1).to(state.device)
    rows = torch.arange(batch, device=state.device)
    norm = weights[rows, outcomes].clamp_min(torch.finfo(weights.dtype).tiny)
    if state.dim() == 2:
        return outcomes, blocks[rows, outcomes] / norm.sqrt()[:, None]
    post = blocks[rows, outcomes, :, outcomes, :] / norm[:, None, None]
    return outcomes, post
