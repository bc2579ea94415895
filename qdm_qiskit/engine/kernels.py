"""Torch kernels on batches of states ``(B, 2^N)``: the only code that touches amplitudes.

Each kernel streams the batch once. They are written with reshapes, ``matmul`` and a gather whose
backward is another gather, so autograd stays cheap and the same code runs on CPU and CUDA.
"""

from __future__ import annotations

from typing import Any

import torch

#: Single-qubit chains are applied as Kronecker blocks over this many adjacent qubits: three
#: qubits (an 8x8 block) took 0.6 ms per 2^12 x 256 batch against 1.5 ms per single qubit.
BLOCK_QUBITS = 3


class _Permute(torch.autograd.Function):
    """``out[:, i] = state[:, index[i]]`` with the inverse gather as backward.

    Autograd's own backward of advanced indexing is a scatter-add, 5-10x slower than a gather.
    """

    @staticmethod
    def forward(
        ctx: Any, state: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(inverse)
        return state[:, index]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (inverse,) = ctx.saved_tensors
        return grad[:, inverse], None, None


def permute(state: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """Permute basis states (see :class:`_Permute`)."""
    result: torch.Tensor = _Permute.apply(state, index, inverse)
    return result


def apply_block(state: torch.Tensor, matrix: torch.Tensor, low: int, width: int) -> torch.Tensor:
    """Apply a ``2^width`` matrix on qubits ``low .. low + width - 1`` of ``state`` ``(B, 2^N)``.

    The matrix is shared, ``(d, d)``, or per sample, ``(B, d, d)``.
    """
    batch, size = state.shape
    block = 2**width
    below = 2**low
    above = size // (block * below)
    if matrix.dim() == 2:
        if below == 1:
            return (state.reshape(batch * above, block) @ matrix.T).reshape(batch, size)
        view = state.reshape(batch * above, block, below)
        return torch.matmul(matrix, view).reshape(batch, size)
    if below == 1:
        view = state.reshape(batch, above, block)
        return torch.matmul(view, matrix.transpose(-1, -2)).reshape(batch, size)
    view = state.reshape(batch, above, block, below)
    return torch.matmul(matrix.unsqueeze(1), view).reshape(batch, size)


def apply_dense(
    state: torch.Tensor, matrix: torch.Tensor, qubits: tuple[int, ...], num_qubits: int
) -> torch.Tensor:
    """Apply a fixed matrix on arbitrary qubits (``qubits[0]`` is the matrix's low bit)."""
    batch = state.shape[0]
    k = len(qubits)
    tensor = state.reshape((batch,) + (2,) * num_qubits)
    axes = [num_qubits - q for q in reversed(qubits)]  # axis of qubit q; high bit first
    moved = torch.movedim(tensor, axes, list(range(num_qubits + 1 - k, num_qubits + 1)))
    flat = moved.reshape(-1, 2**k) @ matrix.T
    back = torch.movedim(
        flat.reshape(moved.shape), list(range(num_qubits + 1 - k, num_qubits + 1)), axes
    )
    return back.reshape(batch, -1)


def product_state(columns: list[torch.Tensor], batch: int) -> torch.Tensor:
    """``v_{N-1} (x) ... (x) v_0`` from per-qubit 2-vectors (shared ``(2,)`` or ``(B, 2)``)."""
    state = columns[0].expand(batch, 2) if columns[0].dim() == 1 else columns[0]
    for column in columns[1:]:
        high = column.expand(batch, 2) if column.dim() == 1 else column
        state = (high[:, :, None] * state[:, None, :]).reshape(batch, -1)
    return state


def one_qubit_matrices(kind: str, angles: torch.Tensor) -> torch.Tensor:
    """Matrices ``(..., G, 2, 2)`` of rotation gates from angles ``(..., G, arity)``."""
    theta = angles[..., 0]
    c = _real(torch.cos(theta / 2))
    s = _real(torch.sin(theta / 2))
    zero = torch.zeros_like(c)
    one = torch.ones_like(c)
    if kind in ("p", "u1"):
        rows = (one, zero, zero, _phase(theta))
    elif kind == "rz":
        low = _phase(-theta / 2)
        rows = (low, zero, zero, low.conj())
    elif kind == "ry":
        rows = (c, -s, s, c)
    elif kind == "rx":
        rows = (c, -1j * s, -1j * s, c)
    elif kind == "r":  # R(theta, phi) = exp(-i theta/2 (cos phi X + sin phi Y))
        phi = angles[..., 1]
        rows = (c, -1j * s * _phase(-phi), -1j * s * _phase(phi), c)
    else:  # u, u3: (theta, phi, lambda)
        phi, lam = angles[..., 1], angles[..., 2]
        rows = (c, -s * _phase(lam), s * _phase(phi), c * _phase(phi + lam))
    return torch.stack(rows, dim=-1).reshape(*theta.shape, 2, 2)


def _real(values: torch.Tensor) -> torch.Tensor:
    return torch.complex(values, torch.zeros_like(values))


def _phase(angle: torch.Tensor) -> torch.Tensor:
    return torch.complex(torch.cos(angle), torch.sin(angle))


def kron_blocks(matrices: torch.Tensor) -> torch.Tensor:
    """Kronecker products ``M[k-1] (x) ... (x) M[0]``, ``(..., W, k, 2, 2) -> (..., W, K, K)``."""
    width = matrices.shape[-3]
    result = matrices[..., 0, :, :]
    for j in range(1, width):
        high = matrices[..., j, :, :]
        size = result.shape[-1] * 2
        result = (high[..., :, None, :, None] * result[..., None, :, None, :]).reshape(
            *result.shape[:-2], size, size
        )
    return result
