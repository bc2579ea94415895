"""The standard quantum-ensemble benchmark tasks of QuDDPM, and the Haar-random prior.

Every function returns complex128 state vectors ``(N, 2^n)`` in Qiskit's qubit order (qubit 0
is the low bit of the index) and draws from an explicit seed.
"""

from __future__ import annotations

import numpy as np

from qdm_qiskit.errors import ConfigError


def cluster_states(*, num_qubits: int, size: int, scale: float, seed: int) -> np.ndarray:
    """States clustered around ``|0...0>``.

    Amplitude 1 on ``|0...0>`` and ``scale * (a + ib)`` with standard normal ``a, b`` on every
    other basis state, normalised (QuDDPM's ``cluster0Gen``). The mean fidelity to ``|0...0>``
    is about ``1 / (1 + 2 scale^2 (2^n - 1))``.
    """
    rng = np.random.default_rng(seed)
    dim = 2**num_qubits
    rest = rng.standard_normal((size, dim - 1)) + 1j * rng.standard_normal((size, dim - 1))
    states = np.concatenate([np.ones((size, 1)), scale * rest], axis=1)
    return states / np.linalg.norm(states, axis=1, keepdims=True)


def circle_states(*, num_qubits: int, size: int, seed: int) -> np.ndarray:
    """Products of ``cos(phi_q)|0> + sin(phi_q)|1>`` with ``phi_q`` uniform in ``[0, 2 pi)``.

    For one qubit this is QuDDPM's ``circleYGen``: the great circle of the Bloch sphere with
    ``<Y> = 0`` (a topological structure no cluster can fit).
    """
    rng = np.random.default_rng(seed)
    phis = rng.uniform(0.0, 2 * np.pi, size=(size, num_qubits))
    states = np.ones((size, 1), dtype=complex)
    for q in range(num_qubits):  # qubit q is bit q: kron(new qubit, lower qubits)
        factor = np.stack([np.cos(phis[:, q]), np.sin(phis[:, q])], axis=1)
        states = (factor[:, :, None] * states[:, None, :]).reshape(size, -1)
    return states


def haar_states(*, num_qubits: int, size: int, seed: int) -> np.ndarray:
    """Haar-random pure states: normalised complex Gaussian vectors (the reverse prior)."""
    rng = np.random.default_rng(seed)
    dim = 2**num_qubits
    states = rng.standard_normal((size, dim)) + 1j * rng.standard_normal((size, dim))
    return states / np.linalg.norm(states, axis=1, keepdims=True)


def task_states(task: str, *, num_qubits: int, size: int, scale: float, seed: int) -> np.ndarray:
    """The states of a task by name (``cluster`` or ``circle``)."""
    if task == "cluster":
        return cluster_states(num_qubits=num_qubits, size=size, scale=scale, seed=seed)
    if task == "circle":
        return circle_states(num_qubits=num_qubits, size=size, seed=seed)
    raise ConfigError(f"unknown ensemble task {task!r}; known: cluster, circle")
