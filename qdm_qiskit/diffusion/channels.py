"""Closed forms of the quantum forward (noising) channels, in numpy.

These are the references the circuit realisations are tested against, and what a training
engine can use directly instead of simulating the channel step by step.
"""

from __future__ import annotations

import numpy as np

from qdm_qiskit.errors import ConfigError


def depolarized_state(rho0: np.ndarray, alpha_bar: float) -> np.ndarray:
    """``rho_t = alpha_bar rho_0 + (1 - alpha_bar) I/d`` (seed report, eq. 8).

    Composing global depolarizing channels ``rho -> (1 - p) rho + p I/d`` multiplies the
    surviving fractions, so ``t`` steps of a schedule give ``alpha_bar_t = prod (1 - p_s)``.
    """
    rho0 = _density_matrix(rho0)
    d = rho0.shape[0]
    return alpha_bar * rho0 + (1.0 - alpha_bar) * np.eye(d) / d


def amplitude_damping_kraus(gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Kraus operators of single-qubit amplitude damping with decay probability ``gamma``."""
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"amplitude damping probability must lie in [0, 1], got {gamma}")
    k0 = np.array([[1.0, 0.0], [0.0, np.sqrt(1.0 - gamma)]], dtype=complex)
    k1 = np.array([[0.0, np.sqrt(gamma)], [0.0, 0.0]], dtype=complex)
    return k0, k1


def amplitude_damped_state(rho0: np.ndarray, gamma: float) -> np.ndarray:
    """Apply amplitude damping ``gamma`` to every qubit of ``rho0``.

    Damping composes as ``1 - gamma = prod (1 - gamma_s)``, so ``t`` steps of a schedule equal one
    damping with ``gamma = 1 - alpha_bar_t``; the fixed point is ``|0...0><0...0|``.
    """
    rho = _density_matrix(rho0)
    n = int(np.log2(rho.shape[0]))
    kraus = amplitude_damping_kraus(gamma)
    for qubit in range(n):
        rho = sum(_on_qubit(k, qubit, n) @ rho @ _on_qubit(k, qubit, n).conj().T for k in kraus)
    return rho


def _on_qubit(op: np.ndarray, qubit: int, n: int) -> np.ndarray:
    """Embed a one-qubit operator at ``qubit`` (little-endian, as in Qiskit)."""
    return np.kron(np.kron(np.eye(2 ** (n - 1 - qubit)), op), np.eye(2**qubit))


def _density_matrix(rho: np.ndarray) -> np.ndarray:
    rho = np.asarray(rho, dtype=complex)
    if rho.ndim == 1:
        rho = np.outer(rho, rho.conj())
    d = rho.shape[0]
    if rho.shape != (d, d) or d & (d - 1):
        raise ConfigError(f"expected a 2^n x 2^n density matrix or a state vector, got {rho.shape}")
    return rho
