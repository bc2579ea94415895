"""Trainable layers: a hardware-efficient ansatz and PennyLane-style strongly entangling layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from qdm_qiskit.circuits._naming import (
    WEIGHT,
    check_choice,
    check_count,
    check_prefix,
    check_qubits,
    describe,
)
from qdm_qiskit.errors import ConfigError

Entanglement = Literal["linear", "ring"]
Entangler = Literal["cz", "cx"]
ROTATIONS = ("rx", "ry", "rz")


def entangling_pairs(num_qubits: int, entanglement: Entanglement) -> list[tuple[int, int]]:
    """Nearest-neighbour pairs ``(i, i+1)``; ``ring`` adds ``(n-1, 0)`` when n > 2."""
    pairs = [(i, i + 1) for i in range(num_qubits - 1)]
    if entanglement == "ring" and num_qubits > 2:
        pairs.append((num_qubits - 1, 0))
    return pairs


def hardware_efficient_parameter_count(
    *, num_qubits: int, layers: int, rotations: Sequence[str] = ("ry", "rz")
) -> int:
    """Weights of :func:`hardware_efficient_ansatz`: ``layers * len(rotations) * num_qubits``."""
    check_qubits("num_qubits", num_qubits)
    check_count("layers", layers)
    return layers * len(rotations) * num_qubits


def hardware_efficient_ansatz(
    *,
    num_qubits: int,
    layers: int,
    rotations: Sequence[str] = ("ry", "rz"),
    entanglement: Entanglement = "ring",
    entangler: Entangler = "cz",
    prefix: str = "theta",
) -> QuantumCircuit:
    """Layers of single-qubit rotations followed by a nearest-neighbour entangler.

    Each layer applies every gate of ``rotations`` to every qubit, then the two-qubit
    ``entangler`` on :func:`entangling_pairs`. CZ, the default, is symmetric, so the circuit does
    not depend on the device's two-qubit direction and maps natively to CZ devices (IBM Heron).
    Weights: ``layers * len(rotations) * num_qubits`` in the vector ``prefix``, ordered by layer,
    then rotation, then qubit.

    Example:
        >>> hardware_efficient_ansatz(num_qubits=4, layers=3).num_parameters
        24
    """
    n = check_qubits("num_qubits", num_qubits)
    depth = check_count("layers", layers)
    check_prefix("prefix", prefix)
    rotations = tuple(rotations)
    if not rotations:
        raise ConfigError("rotations must name at least one of rx, ry, rz")
    for gate in rotations:
        check_choice("rotation", gate, ROTATIONS)
    check_choice("entanglement", entanglement, ("linear", "ring"))
    check_choice("entangler", entangler, ("cz", "cx"))
    theta = ParameterVector(
        prefix, hardware_efficient_parameter_count(num_qubits=n, layers=depth, rotations=rotations)
    )
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name="hardware_efficient")
    index = 0
    for _ in range(depth):
        for gate in rotations:
            for qubit in range(n):
                getattr(circuit, gate)(theta[index], qubit)
                index += 1
        for a, b in entangling_pairs(n, entanglement):
            getattr(circuit, entangler)(a, b)
    return describe(
        circuit,
        builder="hardware_efficient_ansatz",
        arguments={
            "num_qubits": n,
            "layers": depth,
            "rotations": list(rotations),
            "entanglement": entanglement,
            "entangler": entangler,
            "prefix": prefix,
        },
        roles={prefix: WEIGHT},
        vectors=[theta],
    )


def strongly_entangling_ansatz(
    *,
    num_qubits: int,
    layers: int,
    ranges: Sequence[int] | None = None,
    prefix: str = "theta",
) -> QuantumCircuit:
    """Strongly entangling layers (Schuld et al. 2020; PennyLane's ``StronglyEntanglingLayers``).

    Layer ``l`` applies ``Rot = RZ(w2) RY(w1) RZ(w0)`` to every qubit, then ``CNOT(i, i + r_l mod
    n)`` for every qubit ``i``, with range ``r_l = ranges[l]`` (default ``l mod (n-1) + 1``, as in
    PennyLane; Cacioppo et al. use 1 everywhere). Weights: ``3 * num_qubits * layers``.

    Example:
        >>> strongly_entangling_ansatz(num_qubits=7, layers=15).num_parameters  # Cacioppo's S1
        315
    """
    n = check_qubits("num_qubits", num_qubits)
    depth = check_count("layers", layers)
    check_prefix("prefix", prefix)
    if ranges is None:
        spans = [(layer % (n - 1)) + 1 if n > 1 else 0 for layer in range(depth)]
    else:
        spans = [int(r) if isinstance(r, (int, np.integer)) and not isinstance(r, bool) else r
                 for r in ranges]  # fmt: skip
        if n == 1:
            raise ConfigError("ranges need at least 2 qubits (one qubit has no entanglers)")
        if len(spans) != depth or any(
            isinstance(r, bool) or not isinstance(r, int) or not 0 < r < n for r in spans
        ):
            raise ConfigError(f"ranges must hold {depth} integers in [1, {n - 1}], got {ranges!r}")
    theta = ParameterVector(prefix, 3 * n * depth)
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name="strongly_entangling")
    index = 0
    for span in spans:
        for qubit in range(n):
            circuit.rz(theta[index], qubit)
            circuit.ry(theta[index + 1], qubit)
            circuit.rz(theta[index + 2], qubit)
            index += 3
        if n > 1:
            for qubit in range(n):
                circuit.cx(qubit, (qubit + span) % n)
    return describe(
        circuit,
        builder="strongly_entangling_ansatz",
        arguments={"num_qubits": n, "layers": depth, "ranges": spans, "prefix": prefix},
        roles={prefix: WEIGHT},
        vectors=[theta],
    )
