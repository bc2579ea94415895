"""Encoders checked against hand-written numpy states and separately built qiskit circuits."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import StatePreparation, UCRYGate
from qiskit.quantum_info import Operator, Statevector

from qdm_qiskit.circuits import (
    amplitude_encoding,
    amplitude_encoding_values,
    angle_encoding,
    decode_amplitudes,
    label_encoding,
    label_encoding_values,
)
from qdm_qiskit.errors import ConfigError, DataError

KET0 = np.array([1.0, 0.0], dtype=complex)


def bind_by_name(circuit: QuantumCircuit, values: dict[str, float]) -> QuantumCircuit:
    """Bind parameters looked up by their names (independent of the circuit's sort order)."""
    by_name = {p.name: p for p in circuit.parameters}
    assert set(by_name) == set(values)
    return circuit.assign_parameters({by_name[k]: v for k, v in values.items()})


def kron_little_endian(single_qubit_states: list[np.ndarray]) -> np.ndarray:
    """Product state with ``single_qubit_states[q]`` on qubit ``q`` (qubit 0 least significant)."""
    state = np.array([1.0], dtype=complex)
    for psi in single_qubit_states:
        state = np.kron(psi, state)
    return state


def ry(theta: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def rx(theta: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)


def rz(theta: float) -> np.ndarray:
    return np.diag([np.exp(-0.5j * theta), np.exp(0.5j * theta)])


# ---------------------------------------------------------------------------------------------
# angle encoding
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", ["rx", "ry"])
@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4])
@pytest.mark.parametrize("time_embedding", [False, True])
def test_angle_encoding_state_matches_numpy_product_state(rotation, num_qubits, time_embedding):
    rng = np.random.default_rng(100 * num_qubits + (rotation == "rx") + 10 * time_embedding)
    x = rng.uniform(-np.pi, np.pi, num_qubits)
    tau = rng.uniform(-np.pi, np.pi)
    circuit = angle_encoding(
        num_qubits=num_qubits, rotation=rotation, time_embedding=time_embedding
    )
    values = {f"x[{i}]": x[i] for i in range(num_qubits)}
    if time_embedding:
        values["tau[0]"] = tau
    state = Statevector(bind_by_name(circuit, values)).data

    gate = rx if rotation == "rx" else ry
    singles = []
    for i in range(num_qubits):
        psi = gate(x[i]) @ KET0
        if time_embedding:
            psi = rz(tau) @ psi
        singles.append(psi)
    expected = kron_little_endian(singles)
    np.testing.assert_allclose(state, expected, atol=1e-12)


def test_angle_encoding_little_endian_single_flip():
    # x[1] = pi, others 0: the only populated basis state is |..010> = index 2.
    circuit = angle_encoding(num_qubits=3)
    state = Statevector(bind_by_name(circuit, {"x[0]": 0.0, "x[1]": np.pi, "x[2]": 0.0}))
    expected = np.zeros(8)
    expected[2] = 1.0
    np.testing.assert_allclose(state.data, expected, atol=1e-12)


def test_angle_encoding_parameters_and_metadata():
    circuit = angle_encoding(num_qubits=3, time_embedding=True)
    assert [p.name for p in circuit.parameters] == ["tau[0]", "x[0]", "x[1]", "x[2]"]
    assert circuit.num_qubits == 3
    assert circuit.metadata["builder"] == "angle_encoding"
    assert circuit.metadata["parameter_roles"] == {"x": "input", "tau": "input"}
    assert circuit.metadata["num_weights"] == 0
    assert circuit.metadata["arguments"] == {
        "num_qubits": 3,
        "rotation": "ry",
        "time_embedding": True,
    }
    plain = angle_encoding(num_qubits=2, rotation="rx")
    assert [p.name for p in plain.parameters] == ["x[0]", "x[1]"]
    assert plain.metadata["parameter_roles"] == {"x": "input"}
    assert plain.metadata["num_weights"] == 0
    assert dict(plain.count_ops()) == {"rx": 2}
    # positional binding follows the listed order: tau first, then x
    bound = circuit.assign_parameters([0.3, 0.1, 0.2, 0.4])
    expected = kron_little_endian([rz(0.3) @ ry(v) @ KET0 for v in (0.1, 0.2, 0.4)])
    np.testing.assert_allclose(Statevector(bound).data, expected, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_qubits": 0},
        {"num_qubits": -1},
        {"num_qubits": True},
        {"num_qubits": 2.5},
        {"num_qubits": "2"},
        {"num_qubits": 2, "rotation": "rz"},
        {"num_qubits": 2, "rotation": "RY"},
    ],
)
def test_angle_encoding_rejects_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        angle_encoding(**kwargs)


# ---------------------------------------------------------------------------------------------
# amplitude encoding
# ---------------------------------------------------------------------------------------------


def amplitude_names(num_qubits: int, complex_amplitudes: bool) -> list[str]:
    size = 2**num_qubits - 1
    names = [f"amp_y[{i}]" for i in range(size)]
    if complex_amplitudes:
        names += [f"amp_z[{i}]" for i in range(size)]
    return names


def bind_amplitudes(circuit: QuantumCircuit, parameters: np.ndarray, complex_amplitudes: bool):
    names = amplitude_names(circuit.num_qubits, complex_amplitudes)
    assert len(parameters) == len(names)
    return bind_by_name(circuit, dict(zip(names, parameters, strict=True)))


def real_vectors(num_qubits: int, rng: np.random.Generator) -> list[np.ndarray]:
    size = 2**num_qubits
    vectors = [rng.normal(size=size) * rng.uniform(0.1, 10.0)]  # mixed signs, any norm
    v = rng.normal(size=size)
    v[rng.choice(size, size // 2, replace=False)] = 0.0  # scattered exact zeros
    if not np.any(v):
        v[0] = 1.0
    vectors.append(v)
    vectors.append(-np.abs(rng.normal(size=size)))  # all negative
    low = rng.normal(size=size)
    low[size // 2 :] = 0.0  # upper half zero (qubit n-1 is |0>)
    vectors.append(low)
    high = rng.normal(size=size)
    high[: size // 2] = 0.0  # lower half zero (qubit n-1 is |1>)
    vectors.append(high)
    basis = np.zeros(size)
    basis[size - 1] = -3.0  # a single negative basis amplitude
    vectors.append(basis)
    return vectors


def complex_vectors(num_qubits: int, rng: np.random.Generator) -> list[np.ndarray]:
    size = 2**num_qubits
    v1 = rng.normal(size=size) + 1j * rng.normal(size=size)
    v2 = rng.normal(size=size) + 1j * rng.normal(size=size)
    v2[rng.choice(size, size // 2, replace=False)] = 0.0
    if not np.any(v2):
        v2[-1] = 1j
    v3 = (rng.normal(size=size) + 1j * rng.normal(size=size)).astype(complex)
    v3[: size // 2] = 0.0
    v4 = rng.normal(size=size).astype(complex)  # real data through the complex circuit
    v5 = np.exp(1j * rng.uniform(-np.pi, np.pi, size))  # pure phases near the branch cut
    v5[0] = -1.0 + 0.0j
    return [v1, v2, v3, v4, v5]


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4, 5])
def test_amplitude_encoding_prepares_real_vectors(num_qubits):
    rng = np.random.default_rng(num_qubits)
    circuit = amplitude_encoding(num_qubits=num_qubits)
    assert circuit.num_parameters == 2**num_qubits - 1
    assert circuit.count_ops().get("cx", 0) == 2**num_qubits - 2
    for vector in real_vectors(num_qubits, rng):
        values = amplitude_encoding_values(vector)
        assert values.parameters.shape == (2**num_qubits - 1,)
        np.testing.assert_allclose(values.norm, np.sqrt(np.sum(vector**2)), rtol=1e-12)
        np.testing.assert_allclose(values.global_phase, 0.0, atol=0)
        state = Statevector(bind_amplitudes(circuit, values.parameters, False)).data
        # the independent reference: the normalised input vector itself
        np.testing.assert_allclose(state, vector / np.linalg.norm(vector), atol=1e-10)
        decoded = values.norm * np.exp(1j * values.global_phase) * state
        np.testing.assert_allclose(decoded, vector, atol=1e-10)
        np.testing.assert_allclose(
            decode_amplitudes(state, norm=values.norm, global_phase=values.global_phase),
            vector,
            atol=1e-10,
        )


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4, 5])
def test_amplitude_encoding_prepares_complex_vectors(num_qubits):
    rng = np.random.default_rng(50 + num_qubits)
    circuit = amplitude_encoding(num_qubits=num_qubits, complex_amplitudes=True)
    assert circuit.num_parameters == 2 * (2**num_qubits - 1)
    assert circuit.count_ops().get("cx", 0) == 2 * (2**num_qubits - 2)
    for vector in complex_vectors(num_qubits, rng):
        values = amplitude_encoding_values(vector)
        assert values.parameters.shape == (2 * (2**num_qubits - 1),)
        state = Statevector(bind_amplitudes(circuit, values.parameters, True)).data
        decoded = values.norm * np.exp(1j * values.global_phase) * state
        np.testing.assert_allclose(decoded, vector, atol=1e-10)
        np.testing.assert_allclose(
            decode_amplitudes(state, norm=values.norm, global_phase=values.global_phase),
            vector,
            atol=1e-10,
        )
        # independent reference: qiskit's own state preparation, equal up to a global phase
        reference = Statevector(StatePreparation(vector / np.linalg.norm(vector)))
        assert abs(np.vdot(reference.data, state)) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4])
def test_amplitude_encoding_real_circuit_accepts_complex_dtype_with_zero_imaginary(num_qubits):
    rng = np.random.default_rng(7 + num_qubits)
    vector = rng.normal(size=2**num_qubits)
    values = amplitude_encoding_values(vector.astype(complex), complex_amplitudes=False)
    assert values.parameters.shape == (2**num_qubits - 1,)
    circuit = amplitude_encoding(num_qubits=num_qubits)
    state = Statevector(bind_amplitudes(circuit, values.parameters, False)).data
    np.testing.assert_allclose(values.norm * state, vector, atol=1e-10)


@pytest.mark.parametrize("num_qubits", [1, 2, 3, 4])
def test_amplitude_encoding_unitary_equals_ucry_tree(num_qubits):
    """The Gray-code decomposition equals a tree of qiskit ``UCRYGate``s (Mottonen et al.).

    The reference angles are computed here from sub-vector norms: level ``l`` rotates qubit
    ``n-1-l`` controlled by qubits ``n-l .. n-1`` (the first control is the least significant bit
    of the control pattern), and the last level keeps the signs of the real amplitudes.
    """
    rng = np.random.default_rng(200 + num_qubits)
    n = num_qubits
    vector = rng.normal(size=2**n)
    vector[1] = 0.0
    unit = vector / np.linalg.norm(vector)

    reference = QuantumCircuit(n)
    for level in range(n):
        target = n - 1 - level
        controls = list(range(n - level, n))
        angles = []
        for pattern in range(2**level):
            # amplitudes whose qubits above ``target`` spell ``pattern``
            weight = [0.0, 0.0]
            signed = [0.0, 0.0]
            for index in range(2**n):
                if index >> (target + 1) != pattern:
                    continue
                bit = (index >> target) & 1
                weight[bit] += unit[index] ** 2
                signed[bit] = unit[index]
            if target == 0:
                angles.append(2 * np.arctan2(signed[1], signed[0]))
            else:
                angles.append(2 * np.arctan2(np.sqrt(weight[1]), np.sqrt(weight[0])))
        reference.append(UCRYGate(angles), [target, *controls])

    circuit = amplitude_encoding(num_qubits=n)
    bound = bind_amplitudes(circuit, amplitude_encoding_values(vector).parameters, False)
    np.testing.assert_allclose(Statevector(reference).data, unit, atol=1e-10)
    assert Operator(bound).equiv(Operator(reference), atol=1e-9)
    np.testing.assert_allclose(Operator(bound).data, Operator(reference).data, atol=1e-9)


@pytest.mark.parametrize("complex_amplitudes", [False, True])
def test_amplitude_encoding_values_batch_matches_single_calls(complex_amplitudes):
    rng = np.random.default_rng(11)
    n, batch = 3, 6
    vectors = rng.normal(size=(batch, 2**n))
    if complex_amplitudes:
        vectors = vectors + 1j * rng.normal(size=(batch, 2**n))
    vectors[2, :4] = 0.0
    values = amplitude_encoding_values(vectors)
    count = (2 if complex_amplitudes else 1) * (2**n - 1)
    assert values.parameters.shape == (batch, count)
    assert values.norm.shape == (batch,)
    assert values.global_phase.shape == (batch,)
    circuit = amplitude_encoding(num_qubits=n, complex_amplitudes=complex_amplitudes)
    states = []
    for row in range(batch):
        single = amplitude_encoding_values(vectors[row])
        np.testing.assert_allclose(values.parameters[row], single.parameters, atol=1e-14)
        np.testing.assert_allclose(values.norm[row], np.linalg.norm(vectors[row]), rtol=1e-12)
        np.testing.assert_allclose(values.global_phase[row], single.global_phase, atol=1e-14)
        bound = bind_amplitudes(circuit, values.parameters[row], complex_amplitudes)
        states.append(Statevector(bound).data)
    decoded = decode_amplitudes(
        np.array(states), norm=values.norm, global_phase=values.global_phase
    )
    assert decoded.shape == vectors.shape
    np.testing.assert_allclose(decoded, vectors, atol=1e-10)


def test_amplitude_encoding_positional_binding_matches_parameter_order():
    # the values are documented to be in the circuit's parameter order: amp_y then amp_z,
    # each by index (checks natural sorting past index 9 as well)
    n = 4
    circuit = amplitude_encoding(num_qubits=n, complex_amplitudes=True)
    assert [p.name for p in circuit.parameters] == amplitude_names(n, True)
    rng = np.random.default_rng(3)
    vector = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    values = amplitude_encoding_values(vector)
    state = Statevector(circuit.assign_parameters(values.parameters)).data
    np.testing.assert_allclose(
        values.norm * np.exp(1j * values.global_phase) * state, vector, atol=1e-10
    )


def test_amplitude_encoding_metadata():
    circuit = amplitude_encoding(num_qubits=3, complex_amplitudes=True)
    assert circuit.metadata["builder"] == "amplitude_encoding"
    assert circuit.metadata["parameter_roles"] == {"amp_y": "input", "amp_z": "input"}
    assert circuit.metadata["num_weights"] == 0
    real = amplitude_encoding(num_qubits=3)
    assert real.metadata["parameter_roles"] == {"amp_y": "input"}
    assert real.metadata["arguments"] == {"num_qubits": 3, "complex_amplitudes": False}


@pytest.mark.parametrize(
    ("vector", "kwargs"),
    [
        (np.ones(3), {}),
        (np.ones(6), {}),
        (np.ones(1), {}),
        (np.ones(0), {}),
        (np.zeros(4), {}),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), {}),  # one zero row in a batch
        (np.array([1.0, np.nan, 0.0, 1.0]), {}),
        (np.array([1.0, np.inf, 0.0, 1.0]), {}),
        (np.array([1.0, 1j, 0.0, 1.0]), {"complex_amplitudes": False}),
    ],
)
def test_amplitude_encoding_values_rejects_bad_data(vector, kwargs):
    with pytest.raises(DataError):
        amplitude_encoding_values(vector, **kwargs)


@pytest.mark.parametrize("kwargs", [{"num_qubits": 0}, {"num_qubits": True}, {"num_qubits": 1.0}])
def test_amplitude_encoding_rejects_bad_sizes(kwargs):
    with pytest.raises(ConfigError):
        amplitude_encoding(**kwargs)


def test_amplitude_encoding_survives_isa_transpilation_for_fake_manila():
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    backend = FakeManilaV2()
    n = 3
    rng = np.random.default_rng(9)
    vector = rng.normal(size=2**n)
    vector[5] = 0.0
    unit = vector / np.linalg.norm(vector)
    circuit = amplitude_encoding(num_qubits=n)
    bound = bind_amplitudes(circuit, amplitude_encoding_values(vector).parameters, False)
    pass_manager = generate_preset_pass_manager(
        optimization_level=1, backend=backend, seed_transpiler=1234
    )
    isa = pass_manager.run(bound)
    assert set(isa.count_ops()) <= set(backend.target.operation_names)
    assert isa.num_qubits == backend.num_qubits

    physical = isa.layout.final_index_layout()  # physical qubit holding each logical qubit
    assert len(physical) == n
    expected = np.zeros(2**isa.num_qubits, dtype=complex)
    for index in range(2**n):
        target = sum(((index >> v) & 1) << physical[v] for v in range(n))
        expected[target] = unit[index]
    actual = Statevector(isa)
    assert abs(np.vdot(expected, actual.data)) == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(actual.probabilities(qargs=physical), unit**2, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# label encoding
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("num_qubits", [1, 2, 3])
def test_label_encoding_prepares_basis_states(num_qubits):
    circuit = label_encoding(num_qubits=num_qubits)
    assert circuit.metadata["parameter_roles"] == {"label": "input"}
    assert circuit.metadata["num_weights"] == 0
    assert circuit.qregs[0].name == "label"
    for label in range(2**num_qubits):
        bits = label_encoding_values(label, num_qubits=num_qubits)
        expected_bits = [(label >> q) & 1 for q in range(num_qubits)]  # qubit 0 = LSB
        np.testing.assert_array_equal(bits, expected_bits)
        assert bits.dtype == np.float64
        values = {f"label[{q}]": bits[q] for q in range(num_qubits)}
        state = Statevector(bind_by_name(circuit, values)).data
        expected = np.zeros(2**num_qubits, dtype=complex)
        expected[label] = 1.0
        np.testing.assert_allclose(state, expected, atol=1e-12)
        # no phase on the populated amplitude
        assert state[label].real == pytest.approx(1.0, abs=1e-12)
        assert abs(state[label].imag) < 1e-12


def test_label_encoding_values_batch():
    labels = np.array([[0, 5], [7, 2]])
    bits = label_encoding_values(labels, num_qubits=3)
    assert bits.shape == (2, 2, 3)
    np.testing.assert_array_equal(bits, [[[0, 0, 0], [1, 0, 1]], [[1, 1, 1], [0, 1, 0]]])
    np.testing.assert_array_equal(
        label_encoding_values(np.arange(4, dtype=np.uint8), num_qubits=2),
        [[0, 0], [1, 0], [0, 1], [1, 1]],
    )


@pytest.mark.parametrize(
    ("labels", "num_qubits"),
    [
        (-1, 2),
        (4, 2),
        (2, 1),
        (np.array([0, 8]), 3),
        (1.0, 2),
        (np.array([0.5]), 2),
        (np.array(["1"]), 2),
    ],
)
def test_label_encoding_values_rejects_bad_labels(labels, num_qubits):
    with pytest.raises(ConfigError):
        label_encoding_values(labels, num_qubits=num_qubits)


@pytest.mark.parametrize("num_qubits", [0, -2, False, 1.5])
def test_label_encoding_rejects_bad_sizes(num_qubits):
    with pytest.raises(ConfigError):
        label_encoding(num_qubits=num_qubits)


@pytest.mark.parametrize("bad", [np.float64(1.0), ["a", "b"], np.array([None, None])])
def test_non_vector_or_non_numeric_input_is_a_data_error(bad) -> None:
    with pytest.raises(DataError, match="numeric vectors"):
        amplitude_encoding_values(bad)


def test_label_values_need_a_positive_register() -> None:
    with pytest.raises(ConfigError):
        label_encoding_values(0, num_qubits=0)


def test_extreme_magnitudes_encode_without_overflow() -> None:
    base = np.array([3.0, -4.0, 0.0, 12.0])
    for scale in (1e160, 1e-200):
        values = amplitude_encoding_values(base * scale)
        assert values.norm == pytest.approx(13.0 * scale, rel=1e-12)
        np.testing.assert_allclose(values.parameters, amplitude_encoding_values(base).parameters)
    with pytest.raises(DataError, match="regular array"):
        amplitude_encoding_values([[1.0, 0.0], [1.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize("flag", ["no", 1, [1], None])
def test_boolean_options_must_be_booleans(flag) -> None:
    with pytest.raises(ConfigError, match="must be true or false"):
        amplitude_encoding(num_qubits=2, complex_amplitudes=flag)
    with pytest.raises(ConfigError, match="must be true or false"):
        angle_encoding(num_qubits=2, time_embedding=flag)
