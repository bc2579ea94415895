"""The denoising circuit: bookkeeping, structure, unitary, and mid-circuit measurement runs."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Operator, Statevector

from qdm_qiskit.circuits import amplitude_encoding_values, denoising_circuit
from qdm_qiskit.errors import ConfigError
from tests.circuits.test_ansatz import hea_matrix

SAMPLER_DEPRECATION = "ignore:The SamplerV2 class is deprecated:DeprecationWarning"


def bind_all(circuit: QuantumCircuit, values: dict[str, np.ndarray]) -> QuantumCircuit:
    """Bind every parameter ``name[i]`` to ``values[name][i]``, by name."""
    mapping = {}
    for parameter in circuit.parameters:
        name, index = parameter.name[:-1].split("[")
        mapping[parameter] = float(values[name][int(index)])
    return circuit.assign_parameters(mapping)


def random_values(circuit: QuantumCircuit, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes: dict[str, int] = {}
    for parameter in circuit.parameters:
        name, index = parameter.name[:-1].split("[")
        sizes[name] = max(sizes.get(name, 0), int(index) + 1)
    return {name: rng.uniform(-np.pi, np.pi, size) for name, size in sizes.items()}


# --- reference circuits built gate by gate, following the documented conventions -------------


def append_hea(qc: QuantumCircuit, theta, width, layers, entanglement="ring", entangler="cz"):
    index = 0
    for _ in range(layers):
        for gate in ("ry", "rz"):
            for qubit in range(width):
                getattr(qc, gate)(theta[index], qubit)
                index += 1
        bonds = [(i, i + 1) for i in range(width - 1)]
        if entanglement == "ring" and width > 2:
            bonds.append((width - 1, 0))
        for a, b in bonds:
            getattr(qc, entangler)(a, b)
    assert index == len(theta)


def append_sel(qc: QuantumCircuit, theta, width, layers):
    index = 0
    for layer in range(layers):
        for qubit in range(width):
            qc.rz(theta[index], qubit)
            qc.ry(theta[index + 1], qubit)
            qc.rz(theta[index + 2], qubit)
            index += 3
        if width > 1:
            span = layer % (width - 1) + 1
            for qubit in range(width):
                qc.cx(qubit, (qubit + span) % width)
    assert index == len(theta)


def reference_circuit(
    values,
    *,
    n,
    m,
    layers,
    steps,
    ansatz,
    conditioning,
    encoding,
    reupload,
    entanglement="ring",
    entangler="cz",
):
    qc = QuantumCircuit(n + m)
    for k, t in enumerate(range(steps, 0, -1)):
        if encoding == "angle" and (k == 0 or reupload):
            for qubit in range(n):
                qc.ry(values["x"][qubit], qubit)
        if conditioning == "time_embedding":
            for qubit in range(n):
                qc.rz(values["tau"][t - 1], qubit)  # tau[t-1] conditions step t
        theta = values["theta"] if conditioning == "time_embedding" else values[f"theta_t{t}"]
        if ansatz == "hardware_efficient":
            append_hea(qc, theta, n + m, layers, entanglement, entangler)
        else:
            append_sel(qc, theta, n + m, layers)
    return qc


# --- bookkeeping -------------------------------------------------------------------------------


@pytest.mark.parametrize("ansatz", ["hardware_efficient", "strongly_entangling"])
@pytest.mark.parametrize("conditioning", ["per_step", "time_embedding"])
@pytest.mark.parametrize("encoding", ["none", "angle", "amplitude", "amplitude_complex"])
@pytest.mark.parametrize("num_ancillas", [0, 2])
def test_parameter_counts_and_roles(ansatz, conditioning, encoding, num_ancillas):
    n, m, layers, steps = 3, num_ancillas, 2, 3
    circuit = denoising_circuit(
        num_data_qubits=n,
        num_ancillas=m,
        layers=layers,
        steps=steps,
        ansatz=ansatz,
        conditioning=conditioning,
        encoding=encoding,
    )
    per_block = (2 if ansatz == "hardware_efficient" else 3) * layers * (n + m)
    inputs = {
        "none": {},
        "angle": {"x": n},
        "amplitude": {"amp_y": 2**n - 1},
        "amplitude_complex": {"amp_y": 2**n - 1, "amp_z": 2**n - 1},
    }[encoding]
    if conditioning == "time_embedding":
        inputs["tau"] = steps
        weights = {"theta": per_block}
    else:
        weights = {f"theta_t{t}": per_block for t in (3, 2, 1)}
    expected_roles = {name: "input" for name in inputs} | {name: "weight" for name in weights}
    assert circuit.metadata["parameter_roles"] == expected_roles
    assert circuit.metadata["num_weights"] == sum(weights.values())
    assert circuit.metadata["builder"] == "denoising_circuit"
    expected_names = {
        f"{name}[{i}]" for name, size in (inputs | weights).items() for i in range(size)
    }
    assert {p.name for p in circuit.parameters} == expected_names
    assert circuit.num_qubits == n + m
    expected_qregs = [("data", n), ("anc", m)] if m else [("data", n)]
    assert [(r.name, r.size) for r in circuit.qregs] == expected_qregs
    expected_cregs = [(f"anc_t{t}", m) for t in (3, 2, 1)] if m else []
    assert [(c.name, c.size) for c in circuit.cregs] == expected_cregs


def test_registers_names():
    with_anc = denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=1, measure_data=True)
    assert [(r.name, r.size) for r in with_anc.qregs] == [("data", 2), ("anc", 1)]
    assert [(c.name, c.size) for c in with_anc.cregs] == [("anc_t1", 1), ("meas", 2)]
    without = denoising_circuit(num_data_qubits=2, layers=1)
    assert [(r.name, r.size) for r in without.qregs] == [("data", 2)]
    assert without.cregs == []
    assert without.name == with_anc.name == "denoiser"
    no_measure = denoising_circuit(
        num_data_qubits=2, num_ancillas=2, layers=1, steps=2, measure_ancillas=False
    )
    assert no_measure.cregs == []
    assert "measure" not in no_measure.count_ops()
    assert "reset" not in no_measure.count_ops()


def test_quddpm_two_qubit_cluster_configuration():
    circuit = denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=6, steps=20)
    assert circuit.metadata["num_weights"] == 720  # 20 steps * 2 rotations * 6 layers * 3 qubits
    assert circuit.num_parameters == 720
    # step labels are zero-padded so that registers and parameters sort in step order
    assert [c.name for c in circuit.cregs] == [f"anc_t{t:02d}" for t in range(20, 0, -1)]
    assert all(c.size == 1 for c in circuit.cregs)
    assert circuit.metadata["parameter_roles"] == {
        f"theta_t{t:02d}": "weight" for t in range(1, 21)
    }
    vectors = [p.vector.name for p in circuit.parameters]
    assert vectors == sorted(vectors) and vectors[0] == "theta_t01" and vectors[-1] == "theta_t20"
    ops = circuit.count_ops()
    assert ops["measure"] == 20
    assert ops["reset"] == 19  # no reset after the last step
    assert ops["cz"] == 20 * 6 * 3  # ring of 3 qubits, 6 layers, 20 steps


def _tokens(circuit: QuantumCircuit) -> list[str]:
    """Coarse instruction sequence: encoder, tau, weight block, measure, reset (runs collapsed)."""
    tokens: list[str] = []
    for instr in circuit.data:
        op = instr.operation
        if op.name in ("measure", "reset"):
            token = op.name
        elif op.params and hasattr(op.params[0], "parameters") and op.params[0].parameters:
            names = {p.name for p in op.params[0].parameters}
            (name,) = names
            base = name.split("[")[0]
            token = name if base == "tau" else base
        else:
            continue
        if not tokens or tokens[-1] != token:
            tokens.append(token)
    return tokens


@pytest.mark.parametrize("reupload", [False, True])
def test_reupload_places_angle_encoding_before_every_step(reupload):
    n, steps = 3, 4
    circuit = denoising_circuit(
        num_data_qubits=n,
        num_ancillas=1,
        layers=1,
        steps=steps,
        encoding="angle",
        reupload=reupload,
    )
    occurrences = {i: 0 for i in range(n)}
    for instr in circuit.data:
        op = instr.operation
        if op.name == "ry" and str(op.params[0]).startswith("x["):
            i = int(str(op.params[0])[2:-1])
            assert circuit.find_bit(instr.qubits[0]).index == i  # x[i] on data qubit i
            occurrences[i] += 1
    assert occurrences == {i: (steps if reupload else 1) for i in range(n)}
    expected: list[str] = []
    for t in range(steps, 0, -1):
        if reupload or t == steps:
            expected.append("x")
        expected += [f"theta_t{t}", "measure"]
        if t > 1:
            expected.append("reset")
    assert _tokens(circuit) == expected


def test_time_embedding_has_one_tau_per_step():
    n, steps = 2, 3
    circuit = denoising_circuit(
        num_data_qubits=n,
        num_ancillas=1,
        layers=2,
        steps=steps,
        conditioning="time_embedding",
        encoding="angle",
        reupload=True,
    )
    tau = [p for p in circuit.parameters if p.name.startswith("tau")]
    assert [p.name for p in tau] == [f"tau[{k}]" for k in range(steps)]
    for k in range(steps):
        uses = [
            circuit.find_bit(instr.qubits[0]).index
            for instr in circuit.data
            if instr.operation.name == "rz" and str(instr.operation.params[0]) == f"tau[{k}]"
        ]
        assert uses == list(range(n))  # one RZ per data qubit, never on the ancilla
    expected: list[str] = []
    for k, t in enumerate(range(steps, 0, -1)):  # steps run t = T..1, step t reads tau[t-1]
        expected += ["x", f"tau[{t - 1}]", "theta", "measure"]
        if k < steps - 1:
            expected.append("reset")
    assert _tokens(circuit) == expected
    # shared weights: each theta[i] used once per step
    theta_uses = sum(
        1
        for instr in circuit.data
        if instr.operation.params and str(instr.operation.params[0]) == "theta[0]"
    )
    assert theta_uses == steps


@pytest.mark.parametrize("encoding", ["none", "amplitude", "amplitude_complex"])
def test_reupload_requires_angle_encoding(encoding):
    with pytest.raises(ConfigError):
        denoising_circuit(num_data_qubits=2, layers=1, encoding=encoding, reupload=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_data_qubits": 0},
        {"num_data_qubits": True},
        {"num_ancillas": -1},
        {"num_ancillas": 1.0},
        {"layers": 0},
        {"steps": 0},
        {"ansatz": "qaoa"},
        {"conditioning": "film"},
        {"encoding": "basis"},
        {"entanglement": "full"},
        {"entangler": "cy"},
    ],
)
def test_denoising_circuit_rejects_bad_arguments(kwargs):
    arguments = {"num_data_qubits": 2, "layers": 1} | kwargs
    with pytest.raises(ConfigError):
        denoising_circuit(**arguments)


# --- unitary -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {
            "n": 2,
            "m": 0,
            "steps": 2,
            "ansatz": "hardware_efficient",
            "conditioning": "per_step",
            "encoding": "angle",
            "reupload": False,
        },
        {
            "n": 3,
            "m": 0,
            "steps": 2,
            "ansatz": "hardware_efficient",
            "conditioning": "time_embedding",
            "encoding": "angle",
            "reupload": True,
            "entanglement": "linear",
            "entangler": "cx",
        },
        {
            "n": 2,
            "m": 0,
            "steps": 3,
            "ansatz": "strongly_entangling",
            "conditioning": "time_embedding",
            "encoding": "angle",
            "reupload": True,
        },
        {
            "n": 3,
            "m": 0,
            "steps": 1,
            "ansatz": "strongly_entangling",
            "conditioning": "per_step",
            "encoding": "none",
            "reupload": False,
        },
        {
            "n": 2,
            "m": 1,
            "steps": 2,
            "ansatz": "hardware_efficient",
            "conditioning": "per_step",
            "encoding": "angle",
            "reupload": True,
            "entangler": "cx",
        },
        {
            "n": 1,
            "m": 2,
            "steps": 2,
            "ansatz": "strongly_entangling",
            "conditioning": "time_embedding",
            "encoding": "none",
            "reupload": False,
        },
    ],
)
def test_unitary_equals_separately_built_blocks(config):
    layers = 2
    kwargs = {k: v for k, v in config.items() if k not in ("n", "m")}
    circuit = denoising_circuit(
        num_data_qubits=config["n"],
        num_ancillas=config["m"],
        layers=layers,
        measure_ancillas=False,
        measure_data=False,
        **kwargs,
    )
    values = random_values(circuit, seed=config["n"] * 10 + config["steps"])
    reference = reference_circuit(values, layers=layers, **config)
    actual = Operator(bind_all(circuit, values))
    np.testing.assert_allclose(actual.data, Operator(reference).data, atol=1e-10)


def test_unitary_hardware_efficient_matches_numpy_without_encoder():
    circuit = denoising_circuit(
        num_data_qubits=2, num_ancillas=1, layers=2, steps=2, measure_ancillas=False
    )
    values = random_values(circuit, seed=4)
    expected = hea_matrix(values["theta_t1"], num_qubits=3, layers=2) @ hea_matrix(
        values["theta_t2"], num_qubits=3, layers=2
    )
    np.testing.assert_allclose(Operator(bind_all(circuit, values)).data, expected, atol=1e-10)


@pytest.mark.parametrize("encoding", ["amplitude", "amplitude_complex"])
@pytest.mark.parametrize("num_ancillas", [0, 1])
def test_amplitude_encoded_denoiser_state(encoding, num_ancillas):
    n, m, layers = 2, num_ancillas, 2
    circuit = denoising_circuit(
        num_data_qubits=n,
        num_ancillas=m,
        layers=layers,
        steps=1,
        encoding=encoding,
        measure_ancillas=False,
    )
    rng = np.random.default_rng(21 + m)
    vector = rng.normal(size=2**n)
    if encoding == "amplitude_complex":
        vector = vector + 1j * rng.normal(size=2**n)
    encoded = amplitude_encoding_values(vector)
    values = random_values(circuit, seed=8)
    size = 2**n - 1
    values["amp_y"] = encoded.parameters[:size]
    if encoding == "amplitude_complex":
        values["amp_z"] = encoded.parameters[size:]
    ancilla_zero = np.zeros(2**m)
    ancilla_zero[0] = 1.0
    initial = np.kron(ancilla_zero, vector / np.linalg.norm(vector))
    expected = hea_matrix(values["theta_t1"], num_qubits=n + m, layers=layers) @ initial
    state = Statevector(bind_all(circuit, values)).data
    overlap = np.vdot(expected, state)
    assert abs(overlap) == pytest.approx(1.0, abs=1e-10)
    if encoding == "amplitude":
        np.testing.assert_allclose(state, expected, atol=1e-10)  # no phase for real data


# --- mid-circuit measurement and reset on samplers ----------------------------------------------


def _zero_weights(circuit: QuantumCircuit) -> QuantumCircuit:
    return circuit.assign_parameters(dict.fromkeys(circuit.parameters, 0.0))


def _check_registers(data, shots: int, num_ancillas: int, steps: int, num_data: int) -> None:
    names = [f"anc_t{t}" for t in range(steps, 0, -1)] + ["meas"]
    for name in names:
        bits = getattr(data, name)
        width = num_data if name == "meas" else num_ancillas
        assert bits.num_shots == shots
        assert bits.num_bits == width
        counts = bits.get_counts()
        assert sum(counts.values()) == shots
        assert all(len(key) == width and set(key) <= {"0", "1"} for key in counts)


def _reset_witness(entangler: str) -> QuantumCircuit:
    """Step t=2 rotates the ancilla to |1> (RY(pi)), step t=1 is all zeros.

    With linear bonds (0,1),(1,2) and the data in |00>, no entangler fires, so the ancilla reads
    1 after step 2 and, if reset works, 0 after step 1; the data stays |00>.
    """
    circuit = denoising_circuit(
        num_data_qubits=2,
        num_ancillas=1,
        layers=1,
        steps=2,
        entanglement="linear",
        entangler=entangler,
        measure_data=True,
    )
    values = {"theta_t2": np.zeros(6), "theta_t1": np.zeros(6)}
    values["theta_t2"][2] = np.pi  # layer 0, RY, qubit 2 (the ancilla)
    return bind_all(circuit, values)


def test_aer_sampler_runs_mid_circuit_measurements():
    from qiskit_aer.primitives import SamplerV2

    circuit = denoising_circuit(
        num_data_qubits=2, num_ancillas=1, layers=2, steps=3, measure_data=True
    )
    bound = bind_all(circuit, random_values(circuit, seed=12))
    shots = 700
    result = SamplerV2(seed=5).run([bound], shots=shots).result()
    _check_registers(result[0].data, shots, num_ancillas=1, steps=3, num_data=2)
    # random weights: the outcomes are not all identical
    assert len(result[0].data.meas.get_counts()) > 1


@pytest.mark.parametrize("entangler", ["cz", "cx"])
def test_aer_sampler_known_answers(entangler):
    from qiskit_aer.primitives import SamplerV2

    zeros = _zero_weights(
        denoising_circuit(
            num_data_qubits=2,
            num_ancillas=1,
            layers=2,
            steps=3,
            entangler=entangler,
            measure_data=True,
        )
    )
    witness = _reset_witness(entangler)
    shots = 200
    result = SamplerV2(seed=3).run([zeros, witness], shots=shots).result()
    for t in (3, 2, 1):
        assert getattr(result[0].data, f"anc_t{t}").get_counts() == {"0": shots}
    assert result[0].data.meas.get_counts() == {"00": shots}
    assert result[1].data.anc_t2.get_counts() == {"1": shots}
    assert result[1].data.anc_t1.get_counts() == {"0": shots}  # the reset worked
    assert result[1].data.meas.get_counts() == {"00": shots}


@pytest.mark.filterwarnings(SAMPLER_DEPRECATION)
def test_runtime_sampler_on_fake_manila_runs_isa_circuits():
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import SamplerV2
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    backend = FakeManilaV2()
    pass_manager = generate_preset_pass_manager(
        optimization_level=1, backend=backend, seed_transpiler=7
    )
    random_circuit = denoising_circuit(
        num_data_qubits=2, num_ancillas=1, layers=2, steps=3, measure_data=True
    )
    random_bound = bind_all(random_circuit, random_values(random_circuit, seed=13))
    zeros = {
        entangler: _zero_weights(
            denoising_circuit(
                num_data_qubits=2,
                num_ancillas=1,
                layers=2,
                steps=3,
                entangler=entangler,
                measure_data=True,
            )
        )
        for entangler in ("cz", "cx")
    }
    witness = _reset_witness("cx")
    circuits = [random_bound, zeros["cz"], zeros["cx"], witness]
    isa = pass_manager.run(circuits)
    allowed = set(backend.target.operation_names)
    for circuit in isa:
        assert set(circuit.count_ops()) <= allowed
        assert circuit.count_ops()["reset"] >= 1
    sampler = SamplerV2(mode=backend)
    sampler.options.simulator.seed_simulator = 11
    shots = 400
    result = sampler.run(isa, shots=shots).result()
    _check_registers(result[0].data, shots, num_ancillas=1, steps=3, num_data=2)
    for pub in (result[1], result[2]):
        _check_registers(pub.data, shots, num_ancillas=1, steps=3, num_data=2)
        for t in (3, 2, 1):
            assert getattr(pub.data, f"anc_t{t}").get_counts().get("0", 0) > 0.8 * shots
        assert pub.data.meas.get_counts().get("00", 0) > 0.8 * shots
    assert result[3].data.anc_t2.get_counts().get("1", 0) > 0.8 * shots
    assert result[3].data.anc_t1.get_counts().get("0", 0) > 0.8 * shots


def test_aer_ancilla_statistics_match_statevector():
    from qiskit_aer.primitives import SamplerV2

    layers = 2
    circuit = denoising_circuit(num_data_qubits=1, num_ancillas=1, layers=layers, measure_data=True)
    theta = np.array([0.9, 2.1, -0.4, 1.3, 1.7, -0.8, 0.5, -2.6])
    bound = bind_all(circuit, {"theta_t1": theta})
    # independent prediction: numpy unitary of the hardware-efficient block on |00>
    psi = hea_matrix(theta, num_qubits=2, layers=layers)[:, 0]
    probabilities = np.abs(psi) ** 2  # index = data bit + 2 * ancilla bit
    p_ancilla = probabilities[2] + probabilities[3]
    assert 0.1 < p_ancilla < 0.9  # a non-trivial test case

    shots = 4000
    result = SamplerV2(seed=1234).run([bound], shots=shots).result()[0]
    ancilla = result.data.anc_t1.get_bitstrings()
    data = result.data.meas.get_bitstrings()
    frequency = ancilla.count("1") / shots
    sigma = np.sqrt(p_ancilla * (1 - p_ancilla) / shots)
    assert abs(frequency - p_ancilla) < 4 * sigma
    # joint outcomes (the ancilla measured mid-circuit, the data at the end)
    for index, p in enumerate(probabilities):
        outcome = (str(index >> 1), str(index & 1))
        hits = sum(1 for pair in zip(ancilla, data, strict=True) if pair == outcome)
        observed = hits / shots
        assert abs(observed - p) < 4 * np.sqrt(max(p * (1 - p), 1e-4) / shots)


def test_choices_and_flags_are_validated_even_when_unused():
    with pytest.raises(ConfigError, match="entanglement must be one of"):
        denoising_circuit(num_data_qubits=2, layers=1, ansatz="strongly_entangling",
                          entanglement="bogus")  # fmt: skip
    with pytest.raises(ConfigError, match="reupload must be true or false"):
        denoising_circuit(num_data_qubits=2, layers=1, encoding="angle", reupload="no")
