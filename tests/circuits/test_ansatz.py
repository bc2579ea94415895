"""Ansatz unitaries checked against hand-built numpy products of gate matrices.

The numpy helpers here (``hea_matrix``, ``sel_matrix``, ...) are reused by ``test_denoiser``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator

from qdm_qiskit.circuits import (
    entangling_pairs,
    hardware_efficient_ansatz,
    hardware_efficient_parameter_count,
    strongly_entangling_ansatz,
)
from qdm_qiskit.errors import ConfigError

# --- numpy gate library (little-endian: basis index j = sum_q b_q 2^q) -----------------------


def rot_matrix(kind: str, theta: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    if kind == "rx":
        return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)
    if kind == "ry":
        return np.array([[c, -s], [s, c]], dtype=complex)
    if kind == "rz":
        return np.diag([np.exp(-0.5j * theta), np.exp(0.5j * theta)])
    raise AssertionError(kind)


def on_qubit(gate: np.ndarray, qubit: int, num_qubits: int) -> np.ndarray:
    """``gate`` acting on ``qubit`` of ``num_qubits`` (identity elsewhere)."""
    return np.kron(np.kron(np.eye(2 ** (num_qubits - 1 - qubit)), gate), np.eye(2**qubit))


def cz_matrix(a: int, b: int, num_qubits: int) -> np.ndarray:
    diag = [(-1.0) ** (((j >> a) & 1) * ((j >> b) & 1)) for j in range(2**num_qubits)]
    return np.diag(np.array(diag, dtype=complex))


def cx_matrix(control: int, target: int, num_qubits: int) -> np.ndarray:
    dim = 2**num_qubits
    matrix = np.zeros((dim, dim), dtype=complex)
    for j in range(dim):
        image = j ^ (1 << target) if (j >> control) & 1 else j
        matrix[image, j] = 1.0
    return matrix


def hea_matrix(
    theta: np.ndarray,
    *,
    num_qubits: int,
    layers: int,
    rotations: Sequence[str] = ("ry", "rz"),
    entanglement: str = "ring",
    entangler: str = "cz",
) -> np.ndarray:
    """Hardware-efficient layers: every rotation on every qubit, then the entangler bonds."""
    n = num_qubits
    bonds = [(i, i + 1) for i in range(n - 1)]
    if entanglement == "ring" and n > 2:
        bonds.append((n - 1, 0))
    two_qubit = cz_matrix if entangler == "cz" else cx_matrix
    unitary = np.eye(2**n, dtype=complex)
    index = 0
    for _ in range(layers):
        for kind in rotations:
            for qubit in range(n):
                unitary = on_qubit(rot_matrix(kind, theta[index]), qubit, n) @ unitary
                index += 1
        for a, b in bonds:
            unitary = two_qubit(a, b, n) @ unitary
    assert index == len(theta)
    return unitary


def sel_default_ranges(num_qubits: int, layers: int) -> list[int]:
    """PennyLane's default ranges ``l mod (n - 1) + 1`` (no entanglers for one qubit)."""
    if num_qubits == 1:
        return [0] * layers
    return [(layer % (num_qubits - 1)) + 1 for layer in range(layers)]


def sel_matrix(
    weights: np.ndarray, *, num_qubits: int, layers: int, ranges: Sequence[int] | None = None
) -> np.ndarray:
    """PennyLane ``StronglyEntanglingLayers`` with weights of shape ``(layers, n, 3)``.

    ``Rot(w0, w1, w2) = RZ(w2) RY(w1) RZ(w0)`` on every qubit, then ``CNOT(i, (i + r) mod n)``
    for ``i = 0 .. n-1`` in order.
    """
    n = num_qubits
    w = np.asarray(weights).reshape(layers, n, 3)
    spans = sel_default_ranges(n, layers) if ranges is None else list(ranges)
    unitary = np.eye(2**n, dtype=complex)
    for layer in range(layers):
        for qubit in range(n):
            w0, w1, w2 = w[layer, qubit]
            rot = rot_matrix("rz", w2) @ rot_matrix("ry", w1) @ rot_matrix("rz", w0)
            unitary = on_qubit(rot, qubit, n) @ unitary
        if n > 1:
            for i in range(n):
                unitary = cx_matrix(i, (i + spans[layer]) % n, n) @ unitary
    return unitary


def bind_vector(circuit: QuantumCircuit, prefix: str, values: np.ndarray) -> QuantumCircuit:
    """Bind ``prefix[i] = values[i]`` by parameter name."""
    by_name = {p.name: p for p in circuit.parameters}
    assert len(by_name) == len(values)
    return circuit.assign_parameters({by_name[f"{prefix}[{i}]"]: v for i, v in enumerate(values)})


# --- hand-built reference sanity -------------------------------------------------------------


def test_numpy_gate_library_matches_qiskit_on_separate_circuits():
    # guards the reference itself: each hand-written matrix against a one-gate qiskit circuit
    for kind in ("rx", "ry", "rz"):
        qc = QuantumCircuit(3)
        getattr(qc, kind)(0.7, 1)
        np.testing.assert_allclose(Operator(qc).data, on_qubit(rot_matrix(kind, 0.7), 1, 3))
    qc = QuantumCircuit(3)
    qc.cx(2, 0)
    np.testing.assert_allclose(Operator(qc).data, cx_matrix(2, 0, 3))
    qc = QuantumCircuit(3)
    qc.cz(0, 2)
    np.testing.assert_allclose(Operator(qc).data, cz_matrix(0, 2, 3))


# --- hardware-efficient ansatz ---------------------------------------------------------------


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4])
@pytest.mark.parametrize("entangler", ["cz", "cx"])
@pytest.mark.parametrize("entanglement", ["linear", "ring"])
def test_hardware_efficient_unitary_matches_numpy(num_qubits, entangler, entanglement):
    layers = 3
    rng = np.random.default_rng(num_qubits * 7 + (entangler == "cx") + 2 * (entanglement == "ring"))
    circuit = hardware_efficient_ansatz(
        num_qubits=num_qubits, layers=layers, entanglement=entanglement, entangler=entangler
    )
    count = 2 * layers * num_qubits
    assert circuit.num_parameters == count
    theta = rng.uniform(-np.pi, np.pi, count)
    expected = hea_matrix(
        theta,
        num_qubits=num_qubits,
        layers=layers,
        entanglement=entanglement,
        entangler=entangler,
    )
    actual = Operator(bind_vector(circuit, "theta", theta)).data
    np.testing.assert_allclose(actual, expected, atol=1e-12)


@pytest.mark.parametrize(
    "rotations", [("rx",), ("rz", "rx"), ("rx", "ry", "rz"), ("ry", "ry"), ["rz", "ry", "rx"]]
)
def test_hardware_efficient_rotation_order(rotations):
    n, layers = 3, 2
    rng = np.random.default_rng(len(rotations))
    circuit = hardware_efficient_ansatz(
        num_qubits=n, layers=layers, rotations=rotations, entangler="cx", prefix="w"
    )
    count = layers * len(rotations) * n
    assert circuit.num_parameters == count
    assert hardware_efficient_parameter_count(num_qubits=n, layers=layers, rotations=rotations) == (
        count
    )
    theta = rng.uniform(-np.pi, np.pi, count)
    expected = hea_matrix(theta, num_qubits=n, layers=layers, rotations=rotations, entangler="cx")
    actual = Operator(bind_vector(circuit, "w", theta)).data
    np.testing.assert_allclose(actual, expected, atol=1e-12)


def test_hardware_efficient_positional_binding_is_layer_rotation_qubit():
    # positional binding uses circuit.parameters order; it must follow the documented order
    # (natural index order, so theta[10] comes after theta[9])
    n, layers = 3, 2
    circuit = hardware_efficient_ansatz(num_qubits=n, layers=layers)
    assert [p.name for p in circuit.parameters] == [f"theta[{i}]" for i in range(12)]
    theta = np.random.default_rng(5).uniform(-np.pi, np.pi, 12)
    expected = hea_matrix(theta, num_qubits=n, layers=layers)
    np.testing.assert_allclose(
        Operator(circuit.assign_parameters(theta)).data, expected, atol=1e-12
    )


@pytest.mark.parametrize(
    ("num_qubits", "layers", "rotations", "count"),
    [(4, 3, ("ry", "rz"), 24), (1, 1, ("ry", "rz"), 2), (5, 2, ("rx", "ry", "rz"), 30)],
)
def test_hardware_efficient_parameter_count_formula(num_qubits, layers, rotations, count):
    assert (
        hardware_efficient_parameter_count(
            num_qubits=num_qubits, layers=layers, rotations=rotations
        )
        == count
    )
    circuit = hardware_efficient_ansatz(num_qubits=num_qubits, layers=layers, rotations=rotations)
    assert circuit.num_parameters == count
    assert circuit.metadata["num_weights"] == count
    assert circuit.metadata["parameter_roles"] == {"theta": "weight"}
    assert circuit.metadata["builder"] == "hardware_efficient_ansatz"
    assert circuit.metadata["arguments"]["rotations"] == list(rotations)


@pytest.mark.parametrize(
    ("num_qubits", "entanglement", "bonds"),
    [
        (1, "ring", []),
        (2, "ring", [(0, 1)]),
        (2, "linear", [(0, 1)]),
        (3, "ring", [(0, 1), (1, 2), (2, 0)]),
        (3, "linear", [(0, 1), (1, 2)]),
        (5, "ring", [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]),
    ],
)
@pytest.mark.parametrize("entangler", ["cz", "cx"])
def test_hardware_efficient_entangler_structure(num_qubits, entanglement, bonds, entangler):
    assert entangling_pairs(num_qubits, entanglement) == bonds
    layers = 2
    circuit = hardware_efficient_ansatz(
        num_qubits=num_qubits, layers=layers, entanglement=entanglement, entangler=entangler
    )
    two_qubit = [
        (instr.operation.name, tuple(circuit.find_bit(q).index for q in instr.qubits))
        for instr in circuit.data
        if instr.operation.num_qubits == 2
    ]
    assert two_qubit == [(entangler, bond) for bond in bonds] * layers


def test_cz_and_cx_give_different_unitaries():
    theta = np.random.default_rng(1).uniform(-np.pi, np.pi, 12)
    cz = hardware_efficient_ansatz(num_qubits=3, layers=2, entangler="cz")
    cx = hardware_efficient_ansatz(num_qubits=3, layers=2, entangler="cx")
    u_cz = Operator(bind_vector(cz, "theta", theta))
    u_cx = Operator(bind_vector(cx, "theta", theta))
    assert not u_cz.equiv(u_cx)
    assert u_cx.equiv(Operator(hea_matrix(theta, num_qubits=3, layers=2, entangler="cx")))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_qubits": 0, "layers": 1},
        {"num_qubits": 2, "layers": 0},
        {"num_qubits": True, "layers": 1},
        {"num_qubits": 2, "layers": 1.0},
        {"num_qubits": 2, "layers": 1, "rotations": ()},
        {"num_qubits": 2, "layers": 1, "rotations": ("ry", "u")},
        {"num_qubits": 2, "layers": 1, "rotations": "ry"},  # a string is not a list of gates
        {"num_qubits": 2, "layers": 1, "entanglement": "full"},
        {"num_qubits": 2, "layers": 1, "entangler": "cy"},
    ],
)
def test_hardware_efficient_rejects_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        hardware_efficient_ansatz(**kwargs)


# --- strongly entangling ansatz --------------------------------------------------------------


@pytest.mark.parametrize(("num_qubits", "layers"), [(1, 2), (2, 3), (3, 4), (4, 5)])
def test_strongly_entangling_unitary_matches_pennylane_convention(num_qubits, layers):
    rng = np.random.default_rng(10 * num_qubits + layers)
    circuit = strongly_entangling_ansatz(num_qubits=num_qubits, layers=layers)
    count = 3 * num_qubits * layers
    assert circuit.num_parameters == count
    assert circuit.metadata["num_weights"] == count
    assert circuit.metadata["parameter_roles"] == {"theta": "weight"}
    assert circuit.metadata["arguments"]["ranges"] == sel_default_ranges(num_qubits, layers)
    weights = rng.uniform(-np.pi, np.pi, (layers, num_qubits, 3))
    expected = sel_matrix(weights, num_qubits=num_qubits, layers=layers)
    actual = Operator(bind_vector(circuit, "theta", weights.ravel())).data
    np.testing.assert_allclose(actual, expected, atol=1e-12)


def test_strongly_entangling_default_ranges_cycle():
    circuit = strongly_entangling_ansatz(num_qubits=4, layers=5)
    assert circuit.metadata["arguments"]["ranges"] == [1, 2, 3, 1, 2]
    cnots = [
        tuple(circuit.find_bit(q).index for q in instr.qubits)
        for instr in circuit.data
        if instr.operation.name == "cx"
    ]
    expected = [(i, (i + r) % 4) for r in (1, 2, 3, 1, 2) for i in range(4)]
    assert cnots == expected


@pytest.mark.parametrize(("num_qubits", "ranges"), [(3, [2, 2, 1]), (4, [3, 1, 1]), (2, [1, 1, 1])])
def test_strongly_entangling_explicit_ranges(num_qubits, ranges):
    layers = len(ranges)
    rng = np.random.default_rng(sum(ranges))
    circuit = strongly_entangling_ansatz(
        num_qubits=num_qubits, layers=layers, ranges=ranges, prefix="w"
    )
    weights = rng.uniform(-np.pi, np.pi, 3 * num_qubits * layers)
    expected = sel_matrix(weights, num_qubits=num_qubits, layers=layers, ranges=ranges)
    actual = Operator(bind_vector(circuit, "w", weights)).data
    np.testing.assert_allclose(actual, expected, atol=1e-12)
    assert circuit.metadata["parameter_roles"] == {"w": "weight"}


def test_strongly_entangling_single_qubit_has_no_entanglers():
    circuit = strongly_entangling_ansatz(num_qubits=1, layers=3)
    assert dict(circuit.count_ops()) == {"rz": 6, "ry": 3}
    w = np.array([0.1, 0.2, 0.3, -0.4, 0.5, -0.6, 0.7, 0.8, 0.9])
    expected = np.eye(2, dtype=complex)
    for a, b, c in w.reshape(3, 3):
        expected = rot_matrix("rz", c) @ rot_matrix("ry", b) @ rot_matrix("rz", a) @ expected
    np.testing.assert_allclose(
        Operator(bind_vector(circuit, "theta", w)).data, expected, atol=1e-12
    )


def test_strongly_entangling_cacioppo_size():
    circuit = strongly_entangling_ansatz(num_qubits=7, layers=15)
    assert circuit.num_parameters == 315
    assert circuit.metadata["num_weights"] == 315
    assert circuit.count_ops()["cx"] == 7 * 15
    assert circuit.num_qubits == 7


@pytest.mark.parametrize(
    ("num_qubits", "layers", "ranges"),
    [
        (3, 2, [1]),  # wrong length
        (3, 2, [1, 1, 1]),
        (3, 2, [0, 1]),  # zero range
        (3, 2, [1, 3]),  # range == n
        (3, 2, [1, -1]),
        (3, 2, [1, True]),
        (3, 2, [1, 1.0]),
        (0, 1, None),
        (2, 0, None),
    ],
)
def test_strongly_entangling_rejects_bad_arguments(num_qubits, layers, ranges):
    with pytest.raises(ConfigError):
        strongly_entangling_ansatz(num_qubits=num_qubits, layers=layers, ranges=ranges)


def test_numpy_integer_ranges_are_accepted_and_one_qubit_refuses_ranges() -> None:
    from_numpy = strongly_entangling_ansatz(num_qubits=3, layers=2, ranges=np.array([1, 2]))
    from_list = strongly_entangling_ansatz(num_qubits=3, layers=2, ranges=[1, 2])
    assert from_numpy.metadata["arguments"]["ranges"] == [1, 2]
    assert Operator(from_numpy.assign_parameters(np.zeros(18))) == Operator(
        from_list.assign_parameters(np.zeros(18))
    )
    with pytest.raises(ConfigError, match="at least 2 qubits"):
        strongly_entangling_ansatz(num_qubits=1, layers=1, ranges=[1])
