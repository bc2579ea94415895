"""The torch engine against Qiskit's own simulators: states, density matrices, readouts, gradients.

Every reference is computed by ``qiskit.quantum_info`` on the circuit bound with the values
``engine.parameter_values`` reports (checked separately against the parameters' names), so the
engine's compilation (slots, fusion, permutations, diagonals, density superoperators) is tested
end to end on circuits from every builder and on random circuits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.library import XXPlusYYGate
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import (
    DensityMatrix,
    Kraus,
    Operator,
    SparsePauliOp,
    Statevector,
    partial_trace,
    random_density_matrix,
    random_quantum_channel,
    random_statevector,
    state_fidelity,
)

from qdm_qiskit.circuits import (
    amplitude_damping_circuit,
    amplitude_encoding,
    amplitude_encoding_values,
    angle_encoding,
    decode_amplitudes,
    denoising_circuit,
    depolarizing_circuit,
    hardware_efficient_ansatz,
    label_encoding,
    label_encoding_values,
    reservoir_circuit,
    reuploading_denoiser,
    scrambling_circuit,
    scrambling_layer,
    strongly_entangling_ansatz,
)
from qdm_qiskit.diffusion.schedules import NoiseSchedule
from qdm_qiskit.engine import CompiledCircuit
from qdm_qiskit.engine.readout import (
    expectation,
    expectation_z,
    fidelity,
    probabilities,
    reduced_density_matrix,
)
from qdm_qiskit.errors import ConfigError

TOLERANCE = {torch.complex64: 1e-5, torch.complex128: 1e-10}
DTYPES = pytest.mark.parametrize("dtype", list(TOLERANCE), ids=["c64", "c128"])
SCHEDULE = NoiseSchedule(kind="linear", steps=3, start=0.1, end=0.3)
BATCH = 3
KET0 = np.array([1.0, 0.0])
KET1 = np.array([0.0, 1.0])


# --- helpers ----------------------------------------------------------------------------------


def compile_cpu(circuit: QuantumCircuit, dtype: torch.dtype = torch.complex128, **kwargs):
    return CompiledCircuit(circuit, device="cpu", dtype=dtype, **kwargs)


def random_arguments(
    engine: CompiledCircuit, seed: int, batch: int = BATCH
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Shared weights and per-sample inputs (every row different)."""
    rng = np.random.default_rng(seed)
    weights = torch.tensor(rng.uniform(-np.pi, np.pi, engine.num_weights), dtype=torch.float64)
    if not engine.num_inputs:
        return weights, None
    inputs = torch.tensor(
        rng.uniform(-np.pi, np.pi, (batch, engine.num_inputs)), dtype=torch.float64
    )
    return weights, inputs


def bound_rows(circuit: QuantumCircuit, values: np.ndarray) -> list[QuantumCircuit]:
    return [circuit.assign_parameters(row) for row in values]


def reference_state(circuit: QuantumCircuit) -> np.ndarray:
    """Statevector of a bound circuit before its terminal measurements."""
    return Statevector(circuit.remove_final_measurements(inplace=False)).data


def reference_density(circuit: QuantumCircuit, initial: DensityMatrix | None = None) -> np.ndarray:
    """Evolve a bound circuit's density matrix instruction by instruction with quantum_info."""
    n = circuit.num_qubits
    rho = DensityMatrix.from_int(0, 2**n) if initial is None else initial
    p0, p1 = np.outer(KET0, KET0), np.outer(KET1, KET1)
    for instruction in circuit.data:
        operation = instruction.operation
        qargs = [circuit.find_bit(q).index for q in instruction.qubits]
        name = operation.name
        if name == "barrier":
            continue
        if name == "measure":
            channel = Kraus([p0, p1])
        elif name == "reset":
            channel = Kraus([p0, np.outer(KET0, KET1)])
        elif name == "kraus":
            channel = Kraus([np.asarray(k) for k in operation.params])
        else:
            channel = Operator(operation)
        rho = rho.evolve(channel, qargs=qargs)
    return rho.data


def assert_close(actual: torch.Tensor, expected: np.ndarray, tol: float) -> None:
    np.testing.assert_allclose(actual.detach().cpu().numpy(), expected, atol=tol, rtol=0)


def parameterize(circuit: QuantumCircuit, seed: int) -> QuantumCircuit:
    """Replace every numeric gate angle of a random circuit by an affine expression of a new
    parameter, and give the circuit a parameterized global phase."""
    rng = np.random.default_rng(seed)
    out = QuantumCircuit(*circuit.qregs, *circuit.cregs)
    angles: list[Parameter] = []
    for instruction in circuit.data:
        operation = instruction.operation
        if operation.params and all(isinstance(p, float) for p in operation.params):
            operation = operation.to_mutable()
            new = []
            for _ in operation.params:
                parameter = Parameter(f"p{len(angles):02d}")
                angles.append(parameter)
                new.append(rng.uniform(0.5, 1.5) * parameter + rng.uniform(-1.0, 1.0))
            operation.params = new
        out.append(operation, instruction.qubits, instruction.clbits)
    out.global_phase = 0.7 * angles[0] - 0.2 if angles else 0.3
    return out


def random_pauli_op(num_qubits: int, seed: int) -> SparsePauliOp:
    """Random Hermitian Pauli sum that always contains X, Y and Z factors."""
    rng = np.random.default_rng(seed)
    labels = ["".join(rng.choice(list("IXYZ"), num_qubits)) for _ in range(5)]
    labels += [("XYZ" * num_qubits)[:num_qubits], ("ZYX" * num_qubits)[:num_qubits]]
    return SparsePauliOp(labels, coeffs=rng.normal(size=len(labels)))


# --- circuits from every builder ----------------------------------------------------------------


def _random(seed: int, operands: int) -> Callable[[], QuantumCircuit]:
    def build() -> QuantumCircuit:
        circuit = random_circuit(4, 5, max_operands=operands, seed=seed)
        circuit.global_phase = 0.4 + seed
        return circuit

    return build


def _random_parameterized(seed: int) -> Callable[[], QuantumCircuit]:
    return lambda: parameterize(random_circuit(4, 5, max_operands=3, seed=seed), seed)


def _composed() -> QuantumCircuit:
    """Angle encoding, CX ansatz, then rzz / cp / crz diagonals, swaps and a Toffoli."""
    circuit = angle_encoding(num_qubits=3, time_embedding=True)
    circuit.compose(hardware_efficient_ansatz(num_qubits=3, layers=2, entangler="cx"), inplace=True)
    phi = ParameterVector("phi", 4)
    circuit.rzz(phi[0], 0, 1)
    circuit.cp(2 * phi[1] + 0.3, 1, 2)
    circuit.crz(phi[2], 2, 0)
    circuit.swap(0, 2)
    circuit.ccx(0, 1, 2)
    circuit.cx(2, 1)
    circuit.rx(phi[3] - 0.5, 1)
    circuit.rzz(phi[0] + phi[3], 1, 2)
    return circuit


def _all_rotations() -> QuantumCircuit:
    """Every computed 1q kind plus parameterized gates expanded through their definitions."""
    x, w = ParameterVector("x", 4), ParameterVector("w", 12)
    circuit = QuantumCircuit(3, global_phase=0.5 * x[0] + w[0])
    circuit.h(0)
    circuit.sx(1)
    circuit.rx(x[0], 0)
    circuit.ry(w[1] - x[1], 1)
    circuit.rz(2 * x[2], 2)
    circuit.p(w[2], 0)
    circuit.u(w[3], x[3], 0.3, 1)
    circuit.r(w[4], x[0] + 0.2, 2)
    circuit.cx(0, 2)
    circuit.crx(w[5], 2, 1)
    circuit.cry(x[1], 0, 1)
    circuit.cu(w[6], w[7], x[2], w[8], 1, 0)
    circuit.rxx(w[9], 0, 2)
    circuit.ryy(x[3], 1, 2)
    circuit.rzx(w[10], 2, 0)
    circuit.append(XXPlusYYGate(w[11], x[0]), [0, 1])
    circuit.mcp(w[1] + w[2], [0, 1], 2)
    circuit.metadata = {"parameter_roles": {"x": "input", "w": "weight"}}
    return circuit


PURE_BUILDERS: dict[str, Callable[[], QuantumCircuit]] = {
    "reupload-chunks3-cx": lambda: reuploading_denoiser(
        num_qubits=3, chunks=3, layers=1, entangler="cx"
    ),
    "denoise-none-per_step-cz-hea": lambda: denoising_circuit(num_data_qubits=3, layers=2),
    "denoise-angle-time-cx-reupload-steps3": lambda: denoising_circuit(
        num_data_qubits=3,
        layers=1,
        steps=3,
        encoding="angle",
        conditioning="time_embedding",
        entangler="cx",
        reupload=True,
    ),
    "denoise-angle-per_step-linear-steps2": lambda: denoising_circuit(
        num_data_qubits=3, layers=2, steps=2, encoding="angle", entanglement="linear"
    ),
    "denoise-amplitude-sel": lambda: denoising_circuit(
        num_data_qubits=3, layers=2, encoding="amplitude", ansatz="strongly_entangling"
    ),
    "denoise-amplitude_complex-steps2": lambda: denoising_circuit(
        num_data_qubits=2, layers=1, steps=2, encoding="amplitude_complex"
    ),
    "denoise-sel-time-steps2": lambda: denoising_circuit(
        num_data_qubits=3,
        layers=1,
        steps=2,
        ansatz="strongly_entangling",
        conditioning="time_embedding",
    ),
    "denoise-ancilla-terminal-measure": lambda: denoising_circuit(
        num_data_qubits=2, num_ancillas=1, layers=2, encoding="angle", measure_data=True
    ),
    "hea-rx-ry-rz-cx-linear": lambda: hardware_efficient_ansatz(
        num_qubits=4, layers=2, rotations=("rx", "ry", "rz"), entangler="cx", entanglement="linear"
    ),
    "hea-1qubit": lambda: hardware_efficient_ansatz(num_qubits=1, layers=2),
    "angle_encoding-1qubit-time": lambda: angle_encoding(num_qubits=1, time_embedding=True),
    "hea-rx-cz-ring": lambda: hardware_efficient_ansatz(num_qubits=5, layers=2, rotations=("rx",)),
    "strongly_entangling": lambda: strongly_entangling_ansatz(num_qubits=4, layers=3),
    "strongly_entangling-ranges": lambda: strongly_entangling_ansatz(
        num_qubits=3, layers=2, ranges=[2, 1]
    ),
    "amplitude_encoding": lambda: amplitude_encoding(num_qubits=3),
    "amplitude_encoding-complex": lambda: amplitude_encoding(num_qubits=3, complex_amplitudes=True),
    "angle_encoding-ry": lambda: angle_encoding(num_qubits=4),
    "angle_encoding-rx-time": lambda: angle_encoding(
        num_qubits=3, rotation="rx", time_embedding=True
    ),
    "label_encoding": lambda: label_encoding(num_qubits=3),
    "scrambling_layer": lambda: scrambling_layer(num_qubits=4),
    "scrambling_circuit": lambda: scrambling_circuit(
        num_qubits=4, schedule=SCHEDULE, step=3, seed=11
    ),
    "reservoir-order1": lambda: reservoir_circuit(
        num_inputs=3, num_ancillas=1, trotter_steps=2, backward_coupling=0.3
    ),
    "reservoir-order2-periodic": lambda: reservoir_circuit(
        num_inputs=2, num_ancillas=2, trotter_steps=1, order=2, boundary="periodic"
    ),
    "composed-cx-rzz-cp-crz": _composed,
    "all-rotations-and-definitions": _all_rotations,
    **{f"random-{seed}-ops{ops}": _random(seed, ops) for seed, ops in [(1, 2), (2, 3), (3, 3)]},
    **{f"random-parameterized-{seed}": _random_parameterized(seed) for seed in (4, 5, 6)},
}


@DTYPES
@pytest.mark.parametrize("name", list(PURE_BUILDERS))
def test_states_match_statevector(name: str, dtype: torch.dtype) -> None:
    circuit = PURE_BUILDERS[name]()
    engine = compile_cpu(circuit, dtype)
    assert not engine.density
    weights, inputs = random_arguments(engine, seed=len(name))
    states = engine(weights, inputs)
    batch = BATCH if engine.num_inputs else 1
    assert states.shape == (batch, 2**circuit.num_qubits)
    assert states.dtype == dtype
    values = engine.parameter_values(weights, inputs)
    assert values.shape == (batch, circuit.num_parameters)
    for row, bound in enumerate(bound_rows(circuit, values)):
        assert_close(states[row], reference_state(bound), TOLERANCE[dtype])
    if engine.num_inputs:  # the inputs are per sample: the rows really differ
        assert not torch.allclose(states[0], states[1])


@pytest.mark.parametrize("seed", [7, 8])
def test_random_parameterized_circuit_with_chosen_inputs(seed: int) -> None:
    """``inputs=`` marks single parameters as per-sample; the rest stay shared weights."""
    circuit = parameterize(random_circuit(3, 6, max_operands=3, seed=seed), seed)
    chosen = [p.name for p in circuit.parameters][::2]
    engine = compile_cpu(circuit, inputs=chosen)
    assert engine.input_names == tuple(chosen)
    assert engine.num_weights + engine.num_inputs == circuit.num_parameters
    weights, inputs = random_arguments(engine, seed, batch=4)
    states = engine(weights, inputs)
    for row, bound in enumerate(bound_rows(circuit, engine.parameter_values(weights, inputs))):
        assert_close(states[row], Statevector(bound).data, 1e-10)


def test_parameter_values_follow_circuit_order() -> None:
    circuit = denoising_circuit(
        num_data_qubits=2, layers=1, steps=2, encoding="angle", conditioning="time_embedding"
    )
    engine = compile_cpu(circuit)
    assert {p.name.split("[")[0] for p in engine.input_parameters} == {"x", "tau"}
    assert {p.name.split("[")[0] for p in engine.weight_parameters} == {"theta"}
    weights, inputs = random_arguments(engine, seed=3)
    values = engine.parameter_values(weights, inputs)
    position = {p: i for i, p in enumerate(circuit.parameters)}
    for k, parameter in enumerate(engine.weight_parameters):
        np.testing.assert_array_equal(values[:, position[parameter]], weights[k].item())
    for k, parameter in enumerate(engine.input_parameters):
        np.testing.assert_array_equal(values[:, position[parameter]], inputs[:, k].numpy())


@DTYPES
def test_amplitude_encoding_reproduces_vectors(dtype: torch.dtype) -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(4, 8))
    engine = compile_cpu(amplitude_encoding(num_qubits=3), dtype)
    values = amplitude_encoding_values(real)
    states = engine(torch.zeros(0), torch.tensor(values.parameters))
    decoded = decode_amplitudes(states.numpy(), norm=values.norm)
    np.testing.assert_allclose(decoded, real, atol=10 * TOLERANCE[dtype] * values.norm.max())

    vectors = rng.normal(size=(4, 8)) + 1j * rng.normal(size=(4, 8))
    engine = compile_cpu(amplitude_encoding(num_qubits=3, complex_amplitudes=True), dtype)
    values = amplitude_encoding_values(vectors)
    states = engine(torch.zeros(0), torch.tensor(values.parameters))
    decoded = decode_amplitudes(states.numpy(), norm=values.norm, global_phase=values.global_phase)
    np.testing.assert_allclose(decoded, vectors, atol=10 * TOLERANCE[dtype] * values.norm.max())


def test_label_encoding_prepares_basis_states() -> None:
    engine = compile_cpu(label_encoding(num_qubits=3))
    labels = np.array([0, 5, 3, 7])
    states = engine(torch.zeros(0), torch.tensor(label_encoding_values(labels, num_qubits=3)))
    np.testing.assert_allclose(states.numpy(), np.eye(8)[labels], atol=1e-12)


# --- density mode -------------------------------------------------------------------------------


def _prepared(channel: QuantumCircuit, n: int) -> QuantumCircuit:
    """An angle-encoded, entangled state followed by a noise channel."""
    circuit = angle_encoding(num_qubits=n)
    circuit.compose(hardware_efficient_ansatz(num_qubits=n, layers=1), inplace=True)
    circuit.compose(channel, inplace=True)
    return circuit


def _mid_measurement_and_kraus() -> QuantumCircuit:
    """Measurement followed by gates on the same qubit, and a 2-qubit channel on qubits (2, 0)."""
    a = ParameterVector("a", 3)
    circuit = QuantumCircuit(3, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.ry(a[0], 2)
    circuit.measure(0, 0)
    circuit.ry(a[1], 0)
    circuit.cx(0, 2)
    channel = Kraus(random_quantum_channel(4, seed=3))
    circuit.append(channel.to_instruction(), [2, 0])
    circuit.measure(1, 1)
    circuit.rzz(a[2], 1, 2)
    circuit.reset(2)
    circuit.rx(a[0] + a[2], 2)
    circuit.cz(2, 1)
    circuit.metadata = {"parameter_roles": {"a": "input"}}
    return circuit


DENSITY_BUILDERS: dict[str, Callable[[], QuantumCircuit]] = {
    "denoise-ancilla-steps2": lambda: denoising_circuit(
        num_data_qubits=2, num_ancillas=1, layers=1, steps=2
    ),
    "denoise-ancillas2-angle-time-sel-steps3": lambda: denoising_circuit(
        num_data_qubits=2,
        num_ancillas=2,
        layers=1,
        steps=3,
        encoding="angle",
        conditioning="time_embedding",
        ansatz="strongly_entangling",
    ),
    "denoise-ancilla-cx-measure_data": lambda: denoising_circuit(
        num_data_qubits=2,
        num_ancillas=1,
        layers=1,
        steps=2,
        entangler="cx",
        encoding="angle",
        reupload=True,
        measure_data=True,
    ),
    "depolarizing-kraus": lambda: _prepared(
        depolarizing_circuit(num_qubits=2, schedule=SCHEDULE, step=2, realisation="kraus"), 2
    ),
    "amplitude_damping": lambda: _prepared(
        amplitude_damping_circuit(num_qubits=3, schedule=SCHEDULE, step=3), 3
    ),
    "amplitude_damping-1qubit": lambda: _prepared(
        amplitude_damping_circuit(num_qubits=1, schedule=SCHEDULE, step=2), 1
    ),
    "mid-measure-kraus-2q": _mid_measurement_and_kraus,
    "random-reset-measure-4": lambda: random_circuit(
        3, 4, max_operands=3, reset=True, measure=True, seed=4
    ),
    "random-parameterized-reset-measure-26": lambda: parameterize(
        random_circuit(3, 4, max_operands=3, reset=True, measure=True, seed=26), 26
    ),
}


@DTYPES
@pytest.mark.parametrize("name", list(DENSITY_BUILDERS))
def test_density_matrices_match_reference(name: str, dtype: torch.dtype) -> None:
    circuit = DENSITY_BUILDERS[name]()
    engine = compile_cpu(circuit, dtype, density=True)
    assert engine.density
    weights, inputs = random_arguments(engine, seed=len(name))
    rhos = engine(weights, inputs)
    batch = BATCH if engine.num_inputs else 1
    dim = 2**circuit.num_qubits
    assert rhos.shape == (batch, dim, dim)
    for row, bound in enumerate(bound_rows(circuit, engine.parameter_values(weights, inputs))):
        assert_close(rhos[row], reference_density(bound), TOLERANCE[dtype])
    if engine.num_inputs:
        assert not torch.allclose(rhos[0], rhos[1])


@pytest.mark.parametrize(
    "name",
    ["denoise-ancilla-steps2", "depolarizing-kraus", "amplitude_damping", "random-reset-measure-4"],
)
def test_density_mode_is_chosen_automatically(name: str) -> None:
    assert compile_cpu(DENSITY_BUILDERS[name]()).density


def test_statevector_mode_refused_for_reset() -> None:
    circuit = denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=1, steps=2)
    with pytest.raises(ConfigError, match="density"):
        compile_cpu(circuit, density=False)
    channel = depolarizing_circuit(num_qubits=2, schedule=SCHEDULE, step=1)
    with pytest.raises(ConfigError):
        compile_cpu(channel, density=False)


@pytest.mark.parametrize("name", ["denoise-sel-time-steps2", "composed-cx-rzz-cp-crz"])
def test_density_mode_of_pure_circuit_is_projector(name: str) -> None:
    circuit = PURE_BUILDERS[name]()
    pure = compile_cpu(circuit)
    mixed = compile_cpu(circuit, density=True)
    weights, inputs = random_arguments(pure, seed=5)
    psi = pure(weights, inputs)
    rho = mixed(weights, inputs)
    expected = psi[:, :, None] * psi[:, None, :].conj()
    torch.testing.assert_close(rho, expected, atol=1e-10, rtol=0)


def test_terminal_measurement_dropped_in_statevector_kept_in_density() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    psi = compile_cpu(circuit)(torch.zeros(0))
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    assert_close(psi[0], bell, 1e-12)
    rho = compile_cpu(circuit, density=True)(torch.zeros(0))
    assert_close(rho[0], np.diag([0.5, 0, 0, 0.5]), 1e-12)


# --- initial states -----------------------------------------------------------------------------


@DTYPES
def test_initial_state_statevector(dtype: torch.dtype) -> None:
    circuit = denoising_circuit(num_data_qubits=3, layers=2, encoding="angle")
    engine = compile_cpu(circuit, dtype)
    weights, inputs = random_arguments(engine, seed=1)
    initial = np.array([random_statevector(8, seed=s).data for s in range(BATCH)])
    states = engine(weights, inputs, initial_state=torch.tensor(initial))
    values = engine.parameter_values(weights, inputs)
    for row, bound in enumerate(bound_rows(circuit, values)):
        expected = Statevector(initial[row]).evolve(bound).data
        assert_close(states[row], expected, TOLERANCE[dtype])


def test_initial_state_sets_batch_without_inputs() -> None:
    circuit = hardware_efficient_ansatz(num_qubits=3, layers=2, entangler="cx")
    engine = compile_cpu(circuit)
    weights, _ = random_arguments(engine, seed=2)
    initial = np.array([random_statevector(8, seed=10 + s).data for s in range(4)])
    states = engine(weights, initial_state=torch.tensor(initial))
    assert states.shape == (4, 8)
    bound = circuit.assign_parameters(engine.parameter_values(weights, None)[0])
    for row in range(4):
        assert_close(states[row], Statevector(initial[row]).evolve(bound).data, 1e-10)


@DTYPES
def test_initial_state_density(dtype: torch.dtype) -> None:
    circuit = DENSITY_BUILDERS["denoise-ancillas2-angle-time-sel-steps3"]()
    engine = compile_cpu(circuit, dtype)
    weights, inputs = random_arguments(engine, seed=4)
    dim = 2**circuit.num_qubits
    initial = [random_density_matrix(dim, seed=20 + s) for s in range(BATCH)]
    rhos = engine(weights, inputs, initial_state=torch.tensor(np.array([r.data for r in initial])))
    values = engine.parameter_values(weights, inputs)
    for row, bound in enumerate(bound_rows(circuit, values)):
        assert_close(rhos[row], reference_density(bound, initial[row]), TOLERANCE[dtype])
    # pure initial states may be given as vectors
    vectors = np.array([random_statevector(dim, seed=30 + s).data for s in range(BATCH)])
    rhos = engine(weights, inputs, initial_state=torch.tensor(vectors))
    for row, bound in enumerate(bound_rows(circuit, values)):
        expected = reference_density(bound, DensityMatrix(Statevector(vectors[row])))
        assert_close(rhos[row], expected, TOLERANCE[dtype])


# --- errors -------------------------------------------------------------------------------------


def test_batch_size_mismatch_raises() -> None:
    engine = compile_cpu(denoising_circuit(num_data_qubits=2, layers=1, encoding="angle"))
    weights, inputs = random_arguments(engine, seed=0, batch=3)
    with pytest.raises(ConfigError, match="batch"):
        engine(weights, inputs, initial_state=torch.zeros(2, 4, dtype=torch.complex128))
    density = compile_cpu(DENSITY_BUILDERS["denoise-ancillas2-angle-time-sel-steps3"]())
    weights, inputs = random_arguments(density, seed=0, batch=3)
    with pytest.raises(ConfigError, match="batch"):
        density(weights, inputs, initial_state=torch.eye(16, dtype=torch.complex128)[None] / 16)


def test_wrong_shapes_raise() -> None:
    engine = compile_cpu(denoising_circuit(num_data_qubits=2, layers=1, encoding="angle"))
    weights, inputs = random_arguments(engine, seed=0)
    for bad in (weights[:-1], torch.cat([weights, weights[:1]]), weights[None], torch.tensor(0.0)):
        with pytest.raises(ConfigError, match="weights"):
            engine(bad, inputs)
    with pytest.raises(ConfigError, match="inputs"):
        engine(weights, None)
    for bad in (inputs[:, :1], inputs[0], inputs[None]):
        with pytest.raises(ConfigError, match="inputs"):
            engine(weights, bad)
    with pytest.raises(ConfigError, match="initial_state"):
        engine(weights, inputs, initial_state=torch.zeros(BATCH, 8, dtype=torch.complex128))
    ansatz = compile_cpu(hardware_efficient_ansatz(num_qubits=2, layers=1))
    with pytest.raises(ConfigError, match="no input"):
        ansatz(torch.zeros(ansatz.num_weights), torch.zeros(2, 3))
    density = compile_cpu(DENSITY_BUILDERS["denoise-ancilla-steps2"]())
    with pytest.raises(ConfigError, match="initial_state"):
        density(torch.zeros(density.num_weights), initial_state=torch.zeros(1, 8, 4))


def test_configuration_errors() -> None:
    circuit = hardware_efficient_ansatz(num_qubits=2, layers=1)
    with pytest.raises(ConfigError, match="unknown input"):
        compile_cpu(circuit, inputs=["nope"])
    with pytest.raises(ConfigError, match="dtype"):
        compile_cpu(circuit, torch.float64)


@pytest.mark.parametrize("expression", ["product", "square", "sin", "global_phase"])
def test_non_linear_angles_raise(expression: str) -> None:
    a, b = Parameter("a"), Parameter("b")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    if expression == "product":
        circuit.rx(a * b, 0)
    elif expression == "square":
        circuit.rzz(a * a + b, 0, 1)
    elif expression == "sin":
        circuit.cp(a.sin(), 0, 1)
    else:
        circuit.rx(a, 0)
        circuit.global_phase = a * b
    with pytest.raises(ConfigError, match="linear"):
        compile_cpu(circuit)


def test_noise_marker_circuit_raises() -> None:
    circuit = depolarizing_circuit(num_qubits=2, schedule=SCHEDULE, step=2, realisation="labels")
    with pytest.raises(ConfigError, match="noise-marker"):
        compile_cpu(circuit)
    with pytest.raises(ConfigError, match="noise-marker"):
        compile_cpu(circuit, density=True)


# --- gradients ----------------------------------------------------------------------------------


GRADIENT_BUILDERS: dict[str, Callable[[], QuantumCircuit]] = {
    "composed-cx-rzz-cp-crz": _composed,
    "denoise-angle-time-cx-reupload": lambda: denoising_circuit(
        num_data_qubits=2,
        layers=1,
        steps=2,
        encoding="angle",
        conditioning="time_embedding",
        entangler="cx",
        reupload=True,
    ),
    "density-denoise-ancilla-time": lambda: denoising_circuit(
        num_data_qubits=2,
        num_ancillas=1,
        layers=1,
        steps=2,
        encoding="angle",
        conditioning="time_embedding",
    ),
    "density-amplitude-damping": lambda: _prepared(
        amplitude_damping_circuit(num_qubits=2, schedule=SCHEDULE, step=2), 2
    ),
    "scrambling-then-sel": lambda: scrambling_layer(num_qubits=3).compose(
        strongly_entangling_ansatz(num_qubits=3, layers=1)
    ),
}


@pytest.mark.parametrize("loss_kind", ["expectation_z", "fidelity"])
@pytest.mark.parametrize("name", list(GRADIENT_BUILDERS))
def test_gradients_match_finite_differences(name: str, loss_kind: str) -> None:
    circuit = GRADIENT_BUILDERS[name]()
    engine = compile_cpu(circuit, torch.complex128)
    batch = 2
    weights, inputs = random_arguments(engine, seed=11, batch=batch)
    assert engine.num_weights and engine.num_inputs
    rng = np.random.default_rng(12)
    n = circuit.num_qubits
    coefficients = torch.tensor(rng.normal(size=(batch, n)))
    targets = torch.tensor(np.array([random_statevector(2**n, seed=40 + s).data for s in range(2)]))

    def loss(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        state = engine(w, x)
        if loss_kind == "expectation_z":
            return (expectation_z(state) * coefficients).sum()
        return (1 - fidelity(state, targets)).sum()

    w = weights.clone().requires_grad_(True)
    x = inputs.clone().requires_grad_(True)
    loss(w, x).backward()
    eps = 1e-6
    with torch.no_grad():
        numeric_w = torch.zeros_like(weights)
        for k in range(weights.numel()):
            step = torch.zeros_like(weights)
            step[k] = eps
            numeric_w[k] = (loss(weights + step, inputs) - loss(weights - step, inputs)) / (2 * eps)
        numeric_x = torch.zeros_like(inputs)
        for index in np.ndindex(*inputs.shape):
            step = torch.zeros_like(inputs)
            step[index] = eps
            numeric_x[index] = (loss(weights, inputs + step) - loss(weights, inputs - step)) / (
                2 * eps
            )
    torch.testing.assert_close(w.grad, numeric_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(x.grad, numeric_x, atol=1e-6, rtol=0)
    assert numeric_w.abs().max() > 1e-3 and numeric_x.abs().max() > 1e-3  # not trivially zero


def test_gradient_through_initial_state() -> None:
    engine = compile_cpu(hardware_efficient_ansatz(num_qubits=2, layers=1, entangler="cx"))
    weights = torch.tensor(np.random.default_rng(0).uniform(-1, 1, engine.num_weights))
    initial = torch.tensor(random_statevector(4, seed=1).data[None], requires_grad=True)
    observable = [SparsePauliOp(["XY", "ZZ"], coeffs=[0.3, -0.8])]
    expectation(engine(weights, initial_state=initial), observable).sum().backward()
    matrix = Operator(
        hardware_efficient_ansatz(num_qubits=2, layers=1, entangler="cx").assign_parameters(
            engine.parameter_values(weights, None)[0]
        )
    ).data
    h = observable[0].to_matrix()
    # d<psi|U^+ H U|psi>/d conj(psi) -> torch's gradient convention: 2 * U^+ H U psi
    expected = 2 * matrix.conj().T @ h @ matrix @ initial.detach().numpy()[0]
    np.testing.assert_allclose(initial.grad.numpy()[0], expected, atol=1e-10)


# --- readouts -----------------------------------------------------------------------------------


def _states(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    vectors = np.array([random_statevector(2**n, seed=seed + s).data for s in range(2)])
    rhos = np.array([random_density_matrix(2**n, seed=seed + s).data for s in range(2)])
    return torch.tensor(vectors), torch.tensor(rhos)


@pytest.mark.parametrize("n", [1, 3, 4])
def test_expectation_matches_quantum_info(n: int) -> None:
    vectors, rhos = _states(n, seed=n)
    observables = [random_pauli_op(n, seed=n + k) for k in range(3)]
    got_vectors = expectation(vectors, observables)
    got_rhos = expectation(rhos, observables)
    assert got_vectors.shape == (2, 3) and got_vectors.dtype == torch.float64
    for row in range(2):
        for k, observable in enumerate(observables):
            expected = Statevector(vectors[row].numpy()).expectation_value(observable)
            assert abs(got_vectors[row, k].item() - expected.real) < 1e-12
            expected = DensityMatrix(rhos[row].numpy()).expectation_value(observable)
            assert abs(got_rhos[row, k].item() - expected.real) < 1e-12


def test_expectation_z_probabilities_fidelity_match_quantum_info() -> None:
    n = 3
    vectors, rhos = _states(n, seed=50)
    targets, _ = _states(n, seed=60)
    for states in (vectors, rhos):
        z = expectation_z(states)
        z_some = expectation_z(states, [2, 0])
        probs = probabilities(states)
        fid = fidelity(states, targets)
        for row in range(2):
            state = (Statevector if states.dim() == 2 else DensityMatrix)(states[row].numpy())
            for q in range(n):
                zq = SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], n)
                assert abs(z[row, q].item() - state.expectation_value(zq).real) < 1e-12
            np.testing.assert_allclose(z_some[row].numpy(), z[row, [2, 0]].numpy(), atol=1e-14)
            np.testing.assert_allclose(probs[row].numpy(), state.probabilities(), atol=1e-12)
            expected = state_fidelity(state, Statevector(targets[row].numpy()))
            assert abs(fid[row].item() - expected) < 1e-12


def test_expectation_rejects_wrong_width() -> None:
    vectors, _ = _states(2, seed=0)
    with pytest.raises(ConfigError):
        expectation(vectors, [SparsePauliOp("ZZZ")])


@pytest.mark.parametrize("keep", [[0], [2], [0, 2], [1, 3], [0, 1, 3], [3, 1], [2, 0, 1]])
def test_reduced_density_matrix_matches_partial_trace(keep: list[int]) -> None:
    n = 4
    vectors, rhos = _states(n, seed=70)
    traced = [q for q in range(n) if q not in keep]
    order = sorted(keep)
    for states in (vectors, rhos):
        reduced = reduced_density_matrix(states, keep, n)
        assert reduced.shape == (2, 2 ** len(keep), 2 ** len(keep))
        for row in range(2):
            state = (Statevector if states.dim() == 2 else DensityMatrix)(states[row].numpy())
            expected = partial_trace(state, traced)  # kept qubits in ascending order
            if keep != order:  # reorder so that keep[0] is the low bit
                expected = expected.evolve(_qubit_permutation(order, keep))
            np.testing.assert_allclose(reduced[row].numpy(), expected.data, atol=1e-12)


def _qubit_permutation(order: list[int], keep: list[int]) -> Operator:
    """Operator sending qubit ``i`` (holding ``order[i]``) to position ``keep.index(order[i])``."""
    k = len(keep)
    destination = [keep.index(q) for q in order]
    matrix = np.zeros((2**k, 2**k))
    for index in range(2**k):
        bits = [(index >> i) & 1 for i in range(k)]
        target = sum(bit << destination[i] for i, bit in enumerate(bits))
        matrix[target, index] = 1.0
    return Operator(matrix)


# --- device, fusion, determinism ----------------------------------------------------------------


def test_device_argument() -> None:
    circuit = DENSITY_BUILDERS["denoise-ancillas2-angle-time-sel-steps3"]()
    engine = compile_cpu(circuit, torch.complex64)
    assert engine.device == torch.device("cpu")
    weights, inputs = random_arguments(engine, seed=0)
    rhos = engine(weights, inputs)
    assert rhos.device == engine.device
    assert expectation_z(rhos).device == engine.device
    if torch.cuda.is_available():
        gpu = CompiledCircuit(circuit, device="cuda", dtype=torch.complex64)
        assert gpu.device.type == "cuda"
        on_gpu = gpu(weights.cuda(), inputs.cuda())
        assert on_gpu.device.type == "cuda"
        torch.testing.assert_close(on_gpu.cpu(), rhos, atol=1e-5, rtol=0)


def test_fusion_reduces_sweeps() -> None:
    circuit = hardware_efficient_ansatz(num_qubits=5, layers=4)
    engine = compile_cpu(circuit)
    gates = circuit.size()
    assert engine.gate_count == gates
    assert 0 < engine.sweeps < gates
    circuit = strongly_entangling_ansatz(num_qubits=4, layers=3)
    assert compile_cpu(circuit).sweeps < circuit.size()


@pytest.mark.parametrize("name", ["composed-cx-rzz-cp-crz", "denoise-ancilla-steps2"])
def test_forward_is_deterministic(name: str) -> None:
    builders = {**PURE_BUILDERS, **DENSITY_BUILDERS}
    engine = compile_cpu(builders[name](), torch.complex64)
    weights, inputs = random_arguments(engine, seed=8)
    first = engine(weights, inputs)
    second = engine(weights.clone(), None if inputs is None else inputs.clone())
    assert torch.equal(first, second)
    again = compile_cpu(builders[name](), torch.complex64)(weights, inputs)
    assert torch.equal(first, again)


# --- edge cases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "density"),
    [
        (lambda: QuantumCircuit(2), False),
        (lambda: QuantumCircuit(2, global_phase=0.5), False),
        (lambda: depolarizing_circuit(num_qubits=2, schedule=SCHEDULE, step=0), True),
    ],
    ids=["empty", "global-phase-only", "depolarizing-step0-density"],
)
def test_circuit_without_operations_returns_zero_state(
    build: Callable[[], QuantumCircuit], density: bool
) -> None:
    """No operation (depolarizing step 0, a bare register) leaves |00> (times the phase)."""
    circuit = build()
    out = compile_cpu(circuit, density=density)(torch.zeros(0))
    assert isinstance(out, torch.Tensor)
    psi = Statevector(circuit).data
    expected = np.outer(psi, psi.conj()) if density else psi
    assert_close(out[0], expected, 1e-12)


@pytest.mark.parametrize("as_gate", [True, False], ids=["gate", "instruction"])
def test_custom_one_qubit_block_is_expanded(as_gate: bool) -> None:
    """A user block on one qubit (``to_gate``/``to_instruction``) has a definition but no matrix."""
    block = QuantumCircuit(1)
    block.h(0)
    block.t(0)
    circuit = QuantumCircuit(2)
    circuit.append(block.to_gate() if as_gate else block.to_instruction(), [0])
    circuit.cx(0, 1)
    psi = compile_cpu(circuit)(torch.zeros(0))
    assert_close(psi[0], Statevector(circuit).data, 1e-12)
