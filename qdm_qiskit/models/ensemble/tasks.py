"""The standard quantum-ensemble benchmark tasks of QuDDPM, and the Haar-random prior.

Every function returns complex128 state vectors ``(N, 2^n)`` in Qiskit's qubit order (qubit 0
is the low bit of the index) and draws from an explicit seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qdm_qiskit.errors import ConfigError

if TYPE_CHECKING:
    from qdm_qiskit.models.ensemble.config import EnsembleDataConfig


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


def jet_amplitudes(images: np.ndarray) -> np.ndarray:
    """``sum_j sqrt(p_j)|j>`` of normalised images ``(N, npix, npix)``: states ``(N, npix^2)``.

    Pixel ``j`` (row-major) is basis state ``j``, so measuring all qubits draws pixel ``j`` with
    probability ``p_j``, and ``|amplitude|^2`` of a generated state is its image.
    """
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    return np.sqrt(np.clip(flat, 0.0, None)).astype(np.complex128)


def jet_images(states: np.ndarray, npix: int) -> np.ndarray:
    """The images ``|amplitude|^2`` of states ``(N, npix^2)`` (each sums to 1)."""
    probabilities = np.abs(np.asarray(states)) ** 2
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities.reshape(len(probabilities), npix, npix)


def jet_task_states(
    data: EnsembleDataConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test states of the ``jets`` task, and their quark (1) / gluon (0) labels.

    The first ``train_size`` jets of the training split and the first ``test_size`` of the test
    split (split seed ``data.seed``); refuses sizes the splits do not hold.
    """
    from qdm_qiskit.models.config import DataConfig
    from qdm_qiskit.models.data import load_image_data

    jets = load_image_data(DataConfig(source=data.source, npix=data.npix, split_seed=data.seed))
    parts = []
    for name, size in (("train", data.train_size), ("test", data.test_size)):
        index = getattr(jets.splits, name)
        if size > len(index):
            raise ConfigError(
                f"data.{name}_size = {size}, but the {name} split of {data.source!r} holds "
                f"{len(index)} jets"
            )
        parts.append((jet_amplitudes(jets.images[index[:size]]), jets.labels[index[:size]]))
    (train, train_labels), (test, test_labels) = parts
    return train, test, train_labels, test_labels


def task_states(task: str, *, num_qubits: int, size: int, scale: float, seed: int) -> np.ndarray:
    """The states of a task by name (``cluster`` or ``circle``)."""
    if task == "cluster":
        return cluster_states(num_qubits=num_qubits, size=size, scale=scale, seed=seed)
    if task == "circle":
        return circle_states(num_qubits=num_qubits, size=size, seed=seed)
    raise ConfigError(f"unknown ensemble task {task!r}; known: cluster, circle")
