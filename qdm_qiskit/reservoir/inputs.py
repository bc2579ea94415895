"""The input states ``|psi_k>`` of a reservoir experiment: encoded jets or textbook ensembles.

Each input comes twice, as an exact state vector (for the exact and Trotter engines) and as an
encoding circuit with per-state parameter values (for targets), so both routes prepare the
same states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit

from qdm_qiskit.circuits.encoding import (
    amplitude_encoding,
    amplitude_encoding_values,
    angle_encoding,
)
from qdm_qiskit.data import GLUON, QUARK, PCALatent, jet_images, load_jets, load_sample
from qdm_qiskit.data.observables import jet_observables
from qdm_qiskit.errors import DataError
from qdm_qiskit.models.ensemble.tasks import haar_states, task_states
from qdm_qiskit.reservoir.config import DISTRIBUTIONS, InputsConfig

#: Image side for PCA latents: 64 pixels give up to 2^6 components.
LATENT_NPIX = 8


@dataclass(frozen=True)
class InputStates:
    """Input states and how a circuit prepares them.

    Attributes:
        states: ``(K, 2^n)`` complex state vectors, qubit 0 the low bit.
        circuit: the encoding circuit on ``n`` qubits.
        values: ``(K, P)`` parameter values of ``circuit``, in its parameter order.
        description: what the states encode, for reports.
    """

    states: np.ndarray
    circuit: QuantumCircuit
    values: np.ndarray
    description: str

    @property
    def distributions(self) -> np.ndarray:
        """``(K, 2^n)`` computational-basis distributions ``|<x|psi_k>|^2``."""
        return np.abs(self.states) ** 2


def input_states(config: InputsConfig) -> InputStates:
    """Draw and encode the configured inputs (deterministic for a given ``seed``)."""
    if config.source == "histogram":
        names = config.observable_names
        what = f"histograms of {', '.join(names)} over {config.label} jets"
        return _amplitude_inputs(np.sqrt(_observable_histograms(config)), what)
    if config.source in DISTRIBUTIONS:
        what = f"{config.count} {config.source} distributions"
        return _amplitude_inputs(np.sqrt(textbook_distributions(config)), what)
    if config.source == "haar":
        states = haar_states(num_qubits=config.num_qubits, size=config.count, seed=config.seed)
        return _amplitude_inputs(states, f"{config.count} haar states")
    if config.source != "jets":
        states = task_states(
            config.source,
            num_qubits=config.num_qubits,
            size=config.count,
            scale=config.scale,
            seed=config.seed,
        )
        return _amplitude_inputs(states, f"{config.count} {config.source} states")
    features = _jet_features(config)
    what = f"{config.count} {config.label} jets, {config.features}"
    if config.encoding == "angle":
        return _angle_inputs(features, f"{what}, angle-encoded")
    if config.features == "image":
        features = np.sqrt(features)  # amplitudes whose squares are the pixel intensities
    return _amplitude_inputs(features, f"{what}, amplitude-encoded")


def textbook_distributions(config: InputsConfig) -> np.ndarray:
    """``(count, 2^n)`` discretised densities on the bin centres of ``[0, 1]``.

    Parameters are drawn from ``seed``: Gaussians with mean in [0.3, 0.7] and width in
    [0.08, 0.2]; bimodal mixtures of two such Gaussians (means in [0.2, 0.4] and [0.6, 0.8],
    weights in [0.3, 0.7]); exponentials with rate in [2, 6].
    """
    rng = np.random.default_rng(config.seed)
    x = (np.arange(2**config.num_qubits) + 0.5) / 2**config.num_qubits
    size = (config.count, 1)

    def gaussian(mean: np.ndarray, width: np.ndarray) -> np.ndarray:
        return np.exp(-0.5 * ((x - mean) / width) ** 2)

    if config.source == "gaussian":
        density = gaussian(rng.uniform(0.3, 0.7, size), rng.uniform(0.08, 0.2, size))
    elif config.source == "bimodal":
        weight = rng.uniform(0.3, 0.7, size)
        first = gaussian(rng.uniform(0.2, 0.4, size), rng.uniform(0.05, 0.12, size))
        second = gaussian(rng.uniform(0.6, 0.8, size), rng.uniform(0.05, 0.12, size))
        density = weight * first + (1 - weight) * second
    else:
        density = np.exp(-rng.uniform(2.0, 6.0, size) * x)
    return density / density.sum(axis=1, keepdims=True)


def _observable_histograms(config: InputsConfig) -> np.ndarray:
    """One ``2^n``-bin histogram per observable over the labelled jets (range: min to max)."""
    table = jet_observables(_jet_pool(config))
    bins = 2**config.num_qubits
    rows = []
    for name in config.observable_names:
        values = table[name].to_numpy(dtype=np.float64)
        counts, _ = np.histogram(values, bins=bins, range=_span(values))
        rows.append(counts / counts.sum())
    return np.array(rows)


def _span(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    return (low, high) if high > low else (low - 0.5, low + 0.5)


def _jet_pool(config: InputsConfig, minimum: int = 1) -> np.ndarray:
    """Particles ``(N, M, 4)`` of the configured file's jets with the configured label."""
    jets = load_sample() if config.path == "sample" else load_jets(config.path)
    pool = np.arange(jets.n_jets)
    if config.label != "all":
        pool = pool[jets.y == (QUARK if config.label == "quark" else GLUON)]
    if pool.size < minimum:
        raise DataError(
            f"{config.path}: {pool.size} {config.label} jets, fewer than the {minimum} needed"
        )
    return np.asarray(jets.X[pool])


def _jet_features(config: InputsConfig) -> np.ndarray:
    """``(K, d)`` features of ``count`` jets drawn with ``seed`` from the labelled pool.

    Angle-scaling and PCA are fitted on the whole pool, so the drawn jets are scaled the same
    way whichever ``count`` and ``seed`` select them.
    """
    X = _jet_pool(config, minimum=config.count)
    n = config.num_qubits
    if config.features == "observables":
        table = jet_observables(X)
        features = table[list(config.observable_names)].to_numpy(dtype=np.float64)
    elif config.features == "image":
        features = jet_images(X, npix=2 ** (n // 2)).reshape(len(X), -1)
    else:
        images = jet_images(X, npix=LATENT_NPIX).reshape(len(X), -1)
        latents = PCALatent.fit(images, n_qubits=n).transform(images)
        features = latents[:, :n] if config.encoding == "angle" else latents
    if config.encoding == "angle":
        features = _unit_interval(features)
    chosen = np.random.default_rng(config.seed).choice(len(X), config.count, replace=False)
    return features[np.sort(chosen)]


def _unit_interval(features: np.ndarray) -> np.ndarray:
    """Min-max scale each column to ``[0, 1]`` (constant columns map to 0)."""
    low, high = features.min(axis=0), features.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.clip((features - low) / span, 0.0, 1.0)


def _angle_inputs(unit: np.ndarray, description: str) -> InputStates:
    """``RY(pi x_q)`` on qubit ``q``: ``cos(pi x/2)|0> + sin(pi x/2)|1>`` per qubit."""
    angles = np.pi * unit
    size, n = angles.shape
    states = np.ones((size, 1), dtype=np.complex128)
    for q in range(n):  # qubit q is bit q: kron(new qubit, lower qubits)
        factor = np.stack([np.cos(angles[:, q] / 2), np.sin(angles[:, q] / 2)], axis=1)
        states = (factor[:, :, None] * states[:, None, :]).reshape(size, -1)
    return InputStates(states, angle_encoding(num_qubits=n), angles, description)


def _amplitude_inputs(vectors: np.ndarray, description: str) -> InputStates:
    """Normalised vectors, prepared by the (complex when needed) amplitude encoder."""
    vectors = np.asarray(vectors)
    is_complex = bool(np.iscomplexobj(vectors) and np.any(np.imag(vectors) != 0))
    encoded = amplitude_encoding_values(vectors, complex_amplitudes=is_complex)
    states = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    n = vectors.shape[1].bit_length() - 1
    circuit = amplitude_encoding(num_qubits=n, complex_amplitudes=is_complex)
    return InputStates(states.astype(np.complex128), circuit, encoded.parameters, description)
