"""Data encoders: angle, amplitude (parameterized, bind-many) and basis (class label) encoding.

Every encoder is a parameterized circuit plus a numpy function that computes the parameter
values for a batch of data, so that one transpiled circuit serves every sample (bind many,
transpile once) on simulators and hardware alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from qdm_qiskit.circuits._naming import INPUT, check_bool, check_choice, check_qubits, describe
from qdm_qiskit.errors import ConfigError, DataError

Rotation = Literal["rx", "ry"]

#: 2^16 amplitudes (65535 angles) is far beyond what any device can prepare usefully.
MAX_AMPLITUDE_QUBITS = 16


def angle_encoding(
    *, num_qubits: int, rotation: Rotation = "ry", time_embedding: bool = False
) -> QuantumCircuit:
    """One feature per qubit as a rotation angle, optionally followed by a time angle.

    Qubit ``i`` gets ``R(x[i])`` with ``R`` = RY or RX; with ``time_embedding``, every qubit then
    gets ``RZ(tau[0])``, the diffusion step's embedding angle. Scale features to angles before
    binding (for example ``pi * x`` for ``x`` in [0, 1]). Parameters: ``x`` (``num_qubits``
    inputs) and ``tau`` (1 input, with ``time_embedding``); no weights.

    Example:
        >>> circuit = angle_encoding(num_qubits=3, time_embedding=True)
        >>> [p.name for p in circuit.parameters]
        ['tau[0]', 'x[0]', 'x[1]', 'x[2]']
    """
    n = check_qubits("num_qubits", num_qubits)
    check_choice("rotation", rotation, ("rx", "ry"))
    check_bool("time_embedding", time_embedding)
    x = ParameterVector("x", n)
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name="angle_encoding")
    for qubit in range(n):
        getattr(circuit, rotation)(x[qubit], qubit)
    vectors = [x]
    if time_embedding:
        tau = ParameterVector("tau", 1)
        for qubit in range(n):
            circuit.rz(tau[0], qubit)
        vectors.append(tau)
    return describe(
        circuit,
        builder="angle_encoding",
        arguments={"num_qubits": n, "rotation": rotation, "time_embedding": time_embedding},
        roles={v.name: INPUT for v in vectors},
        vectors=vectors,
    )


def amplitude_encoding(*, num_qubits: int, complex_amplitudes: bool = False) -> QuantumCircuit:
    """Prepare ``sum_j a_j |j>`` from a 2^n vector with bindable angles (Mottonen et al. 2004).

    A binary tree of uniformly controlled rotations: qubit ``n-1`` first, each further qubit
    controlled by the ones before it, each uniformly controlled rotation decomposed into single
    rotations and CNOTs along a Gray code. Real vectors, signs included, need RY angles only
    (``amp_y``: 2^n - 1 inputs, 2^n - 2 CNOTs); complex vectors add a tree of RZ angles
    (``amp_z``: 2^n - 1 inputs) for the phases. Compute the values with
    :func:`amplitude_encoding_values`, which also returns the norm and global phase needed to
    decode. No weights.

    Example:
        >>> from qiskit.quantum_info import Statevector
        >>> circuit = amplitude_encoding(num_qubits=2)
        >>> values = amplitude_encoding_values(np.array([1.0, -2.0, 0.0, 2.0]))
        >>> state = Statevector(circuit.assign_parameters(values.parameters))
        >>> np.round(values.norm * state.data.real, 6).tolist()
        [1.0, -2.0, 0.0, 2.0]
    """
    n = check_qubits("num_qubits", num_qubits, maximum=MAX_AMPLITUDE_QUBITS)
    check_bool("complex_amplitudes", complex_amplitudes)
    size = 2**n - 1
    amp_y = ParameterVector("amp_y", size)
    vectors = [amp_y]
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name="amplitude_encoding")
    amp_z = ParameterVector("amp_z", size) if complex_amplitudes else None
    offset = 0
    for level in range(n):
        count = 2**level
        _uniformly_controlled(circuit, "ry", amp_y[offset : offset + count], level, n)
        if amp_z is not None:
            _uniformly_controlled(circuit, "rz", amp_z[offset : offset + count], level, n)
        offset += count
    if amp_z is not None:
        vectors.append(amp_z)
    return describe(
        circuit,
        builder="amplitude_encoding",
        arguments={"num_qubits": n, "complex_amplitudes": complex_amplitudes},
        roles={v.name: INPUT for v in vectors},
        vectors=vectors,
    )


def _uniformly_controlled(
    circuit: QuantumCircuit, gate: str, angles: list, level: int, n: int
) -> None:
    """Append a rotation on qubit ``n-1-level`` uniformly controlled by the qubits above it.

    ``angles`` are already in the Gray-code basis (see :func:`_gray_transform`). Bit ``b`` of the
    control pattern is qubit ``n - level + b``.
    """
    target = n - 1 - level
    if level == 0:
        getattr(circuit, gate)(angles[0], target)
        return
    count = 2**level
    for i in range(count):
        getattr(circuit, gate)(angles[i], target)
        changed = _gray(i) ^ _gray((i + 1) % count)
        control = n - level + changed.bit_length() - 1
        circuit.cx(control, target)


def _gray(i: int) -> int:
    return i ^ (i >> 1)


def _gray_transform(alpha: np.ndarray) -> np.ndarray:
    """Rotation angles of the Gray-code decomposition: ``theta = 2^-k M^T alpha``.

    ``M[i, j] = (-1)^(popcount(gray(i) & j))``; ``alpha`` has shape ``(..., 2^k)``.
    """
    count = alpha.shape[-1]
    gray = np.array([_gray(i) for i in range(count)])
    bits = np.array([[bin(g & j).count("1") % 2 for j in range(count)] for g in gray])
    matrix = np.where(bits == 1, -1.0, 1.0)
    return alpha @ matrix.T / count


@dataclass(frozen=True, eq=False)
class AmplitudeValues:
    """Parameter values that make :func:`amplitude_encoding` prepare given vectors.

    Attributes:
        parameters: values in the circuit's parameter order (``amp_y`` then ``amp_z``), shape
            ``(..., n_parameters)``: bind them as a parameter array of one PUB.
        norm: the vectors' L2 norms, shape ``(...)``, to rescale decoded states.
        global_phase: the phase the circuit cannot prepare (zero for real vectors), shape ``(...)``.
    """

    parameters: np.ndarray
    norm: np.ndarray
    global_phase: np.ndarray


def amplitude_encoding_values(
    vectors: np.ndarray, *, complex_amplitudes: bool | None = None
) -> AmplitudeValues:
    """Compute :func:`amplitude_encoding` angles for one vector or a batch ``(..., 2^n)``.

    Args:
        vectors: the amplitudes; any non-zero norm (they are normalised, the norm is kept).
        complex_amplitudes: whether the circuit was built for complex amplitudes; by default
            inferred from the dtype. Complex data for a real circuit is an error.
    """
    try:
        v = np.asarray(vectors)
    except ValueError as exc:  # ragged nested sequences
        raise DataError(f"amplitude vectors must form a regular array ({exc})") from exc
    if v.ndim == 0 or v.dtype.kind not in "biufc":
        raise DataError(
            f"amplitude encoding needs numeric vectors, got {v.dtype} of shape {v.shape}"
        )
    is_complex = np.iscomplexobj(v) if complex_amplitudes is None else complex_amplitudes
    if np.iscomplexobj(v) and not is_complex and np.any(np.imag(v) != 0):
        raise DataError("complex amplitudes need amplitude_encoding(complex_amplitudes=True)")
    size = v.shape[-1]
    n = size.bit_length() - 1
    if size < 2 or 2**n != size:
        raise DataError(f"amplitude encoding needs a vector of length 2^n >= 2, got {size}")
    if not np.all(np.isfinite(v)):
        raise DataError("amplitude vectors contain NaN/inf")
    # Scale by the largest magnitude first: the norm of very large or very small vectors would
    # overflow to inf or underflow to 0 otherwise.
    peak = np.max(np.abs(v), axis=-1)
    if np.any(peak == 0):
        raise DataError("cannot encode a zero vector")
    scaled = v / peak[..., None]
    unit = scaled / np.linalg.norm(scaled, axis=-1)[..., None]
    norm = peak * np.linalg.norm(scaled, axis=-1)
    if not np.all(np.isfinite(norm)):
        raise DataError("amplitude vector norms overflow float64")
    magnitude = np.abs(unit) if is_complex else np.real(unit)
    y_angles, z_angles = [], []
    blocks = magnitude
    phases = np.angle(unit) if is_complex else None
    # Walk up from the last level (qubit 0, pairs) to the root (qubit n-1, two halves).
    for _ in range(n):
        left, right = blocks[..., 0::2], blocks[..., 1::2]
        y_angles.append(2 * np.arctan2(right, left))  # last level keeps signs of real data
        blocks = np.hypot(left, right)
        if phases is not None:
            z_angles.append(phases[..., 1::2] - phases[..., 0::2])
            phases = (phases[..., 0::2] + phases[..., 1::2]) / 2
    parameters = [_gray_transform(a) for a in reversed(y_angles)]
    if is_complex:
        parameters += [_gray_transform(a) for a in reversed(z_angles)]
    global_phase = phases[..., 0] if phases is not None else np.zeros(norm.shape)
    return AmplitudeValues(np.concatenate(parameters, axis=-1), norm, global_phase)


def decode_amplitudes(
    state: np.ndarray, *, norm: float | np.ndarray = 1.0, global_phase: float | np.ndarray = 0.0
) -> np.ndarray:
    """Undo :func:`amplitude_encoding_values`' normalisation: ``norm * e^(i phase) * state``."""
    state = np.asarray(state)
    factor = np.asarray(norm) * np.exp(1j * np.asarray(global_phase))
    decoded = factor[..., None] * state if np.ndim(factor) else factor * state
    return decoded


def label_encoding(*, num_qubits: int) -> QuantumCircuit:
    """Basis encoding of a class label on ``num_qubits`` extra qubits, bindable per sample.

    Qubit ``i`` gets ``RY(pi * label[i])``, which is exactly ``|label_i>`` for bits 0 and 1
    (RY(pi)|0> = |1>, no phase). Bind :func:`label_encoding_values`. Parameters: ``label``
    (``num_qubits`` inputs); no weights.
    """
    n = check_qubits("num_qubits", num_qubits)
    bits = ParameterVector("label", n)
    circuit = QuantumCircuit(QuantumRegister(n, "label"), name="label_encoding")
    for qubit in range(n):
        circuit.ry(np.pi * bits[qubit], qubit)
    return describe(
        circuit,
        builder="label_encoding",
        arguments={"num_qubits": n},
        roles={"label": INPUT},
        vectors=[bits],
    )


def label_encoding_values(labels: int | np.ndarray, *, num_qubits: int) -> np.ndarray:
    """Bits of integer labels (qubit 0 = least significant), shape ``(..., num_qubits)``."""
    check_qubits("num_qubits", num_qubits, maximum=62)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iub" or np.any(labels < 0) or np.any(labels >= 2**num_qubits):
        raise ConfigError(
            f"labels must be integers in [0, {2**num_qubits}) for {num_qubits} qubits"
        )
    return ((labels[..., None] >> np.arange(num_qubits)) & 1).astype(np.float64)
