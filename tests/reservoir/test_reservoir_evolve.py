"""The reservoir evolution against hand-built Hamiltonians, partial traces and circuits."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from functools import reduce
from itertools import pairwise

import numpy as np
import pytest
from qiskit.quantum_info import Operator, Statevector, partial_trace
from scipy.linalg import expm

from qdm_qiskit.circuits.reservoir import reservoir_circuit
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.reservoir import EngineConfig, InputsConfig, ReservoirConfig, input_states
from qdm_qiskit.reservoir.evolve import (
    ancilla_vector,
    evolve_exact,
    evolve_trotter,
    initial_states,
    reduce_to_inputs,
    reservoir_measurement_circuit,
    trotter_circuit,
)

I2 = np.eye(2, dtype=complex)
PAULI = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}
EXACT = EngineConfig(name="exact")


# --- hand-built physics ---------------------------------------------------------------------


def on_qubits(ops: dict[int, np.ndarray], total: int) -> np.ndarray:
    """Tensor product with ``ops[q]`` on qubit ``q``; qubit 0 is the rightmost factor."""
    return reduce(np.kron, [ops.get(q, I2) for q in reversed(range(total))])


def bond(a: int, b: int, delta: float, total: int) -> np.ndarray:
    """``X_a X_b + Y_a Y_b + Delta Z_a Z_b``."""
    return sum(
        coeff * on_qubits({a: PAULI[p], b: PAULI[p]}, total)
        for p, coeff in (("X", 1.0), ("Y", 1.0), ("Z", delta))
    )


def chain_bonds(size: int, offset: int, periodic: bool) -> list[tuple[int, int]]:
    bonds = [(offset + i, offset + i + 1) for i in range(size - 1)]
    if periodic and size > 2:
        bonds.append((offset + size - 1, offset))
    return bonds


def hand_hamiltonian(
    n: int, m: int, delta: float, coupling: float, periodic: bool = False
) -> np.ndarray:
    """``H0 (x) I + I (x) H0 + lambda H_int`` with inputs 0..n-1 and ancillas n..n+m-1."""
    total = n + m
    h = np.zeros((2**total, 2**total), dtype=complex)
    for a, b in chain_bonds(n, 0, periodic) + chain_bonds(m, n, periodic):
        h += bond(a, b, delta, total)
    if m:
        h += coupling * bond(n - 1, n, delta, total)
    return h


def hand_ancillas(state: str, m: int) -> np.ndarray:
    """Ancilla ``j`` in ``|0>``, ``|1>``, ``|+>`` or ``|j mod 2>`` (Neel)."""
    single = {
        "zero": lambda j: np.array([1.0, 0.0]),
        "one": lambda j: np.array([0.0, 1.0]),
        "plus": lambda j: np.array([1.0, 1.0]) / np.sqrt(2),
        "neel": lambda j: np.eye(2)[j % 2],
    }[state]
    return reduce(np.kron, [single(j) for j in reversed(range(m))], np.ones(1)).astype(complex)


def reduced_density(full: np.ndarray, n: int, m: int) -> np.ndarray:
    """``Tr_ancillas |full><full|`` by explicit index sums: full index = a * 2^n + x."""
    rho = np.zeros((2**n, 2**n), dtype=complex)
    for a in range(2**m):
        block = full[a * 2**n : (a + 1) * 2**n]
        rho += np.outer(block, block.conj())
    return rho


def hand_evolution(psi: np.ndarray, res: ReservoirConfig) -> tuple[np.ndarray, float]:
    """The input register's distribution and fidelity after forward and backward evolution."""
    n = int(np.log2(len(psi)))
    m = res.num_ancillas
    periodic = res.boundary == "periodic"
    h = hand_hamiltonian(n, m, res.delta, res.coupling, periodic)
    back_coupling = res.coupling if res.backward == "full" else 0.0
    h_back = hand_hamiltonian(n, m, res.delta, back_coupling, periodic)
    full = np.kron(hand_ancillas(res.ancilla_state, m), psi)
    full = expm(1j * h_back * res.tau_b) @ (expm(-1j * h * res.t_f) @ full)
    rho = reduced_density(full, n, m)
    return np.real(np.diag(rho)), float(np.real(psi.conj() @ rho @ psi))


def haar(k: int, n: int, seed: int) -> np.ndarray:
    return input_states(InputsConfig(source="haar", num_qubits=n, count=k, seed=seed)).states


# --- building blocks ------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["zero", "one", "plus", "neel"])
@pytest.mark.parametrize("m", [0, 1, 2, 3])
def test_ancilla_vector(state, m):
    np.testing.assert_allclose(
        ancilla_vector(state, m), hand_ancillas(state, m), rtol=0, atol=1e-15
    )


def test_neel_state_is_0101_on_the_ancillas():
    # ancilla 0 in |0>, ancilla 1 in |1>, ancilla 2 in |0>: index 0b010
    vector = ancilla_vector("neel", 3)
    assert np.argmax(np.abs(vector)) == 2
    assert abs(vector[2]) == pytest.approx(1.0)


def test_initial_states_are_ancillas_kron_inputs():
    psi = haar(3, 2, seed=1)
    res = ReservoirConfig(num_ancillas=2, ancilla_state="plus")
    start = initial_states(psi, res)
    expected = np.array([np.kron(hand_ancillas("plus", 2), p) for p in psi])
    np.testing.assert_allclose(start, expected, rtol=0, atol=1e-15)


def test_reduce_to_inputs_is_the_partial_trace():
    rng = np.random.default_rng(4)
    n, m = 2, 2
    final = rng.normal(size=(3, 16)) + 1j * rng.normal(size=(3, 16))
    final /= np.linalg.norm(final, axis=1, keepdims=True)
    psi = haar(3, n, seed=2)
    reduced = reduce_to_inputs(final, psi)
    for k in range(3):
        rho = reduced_density(final[k], n, m)
        # Qiskit's partial trace over qubits 2, 3 (the ancillas) agrees with the hand one
        qiskit_rho = partial_trace(Statevector(final[k]), [2, 3]).data
        np.testing.assert_allclose(rho, qiskit_rho, rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            reduced.distributions[k], np.real(np.diag(rho)), rtol=0, atol=1e-12
        )
        fidelity = np.real(psi[k].conj() @ rho @ psi[k])
        assert reduced.fidelities[k] == pytest.approx(fidelity, abs=1e-12)


# --- the exact engine against scipy ---------------------------------------------------------

EXACT_CASES = [
    dict(num_ancillas=2, delta=1.0, coupling=0.7, t_f=1.5, tau_b=0.4),
    dict(num_ancillas=2, delta=0.3, coupling=1.3, t_f=0.8, tau_b=0.8, backward="full"),
    dict(num_ancillas=1, delta=-0.5, coupling=0.9, t_f=2.0, tau_b=1.1, ancilla_state="one"),
    dict(num_ancillas=2, delta=1.5, coupling=0.4, t_f=1.0, tau_b=2.0, ancilla_state="plus"),
    dict(
        num_ancillas=2, delta=0.7, coupling=0.6, t_f=1.2, tau_b=0.3, ancilla_state="neel",
        backward="full",
    ),
    dict(num_ancillas=0, delta=1.0, coupling=0.7, t_f=1.0, tau_b=0.2),
]  # fmt: skip


@pytest.mark.parametrize("boundary", ["open", "periodic"])
@pytest.mark.parametrize("case", EXACT_CASES)
def test_evolve_exact_matches_scipy_expm(case, boundary):
    res = ReservoirConfig(**case, boundary=boundary)
    psi = haar(3, 3, seed=11)
    reduced = evolve_exact(psi, res, EXACT)
    for k in range(3):
        distribution, fidelity = hand_evolution(psi[k], res)
        np.testing.assert_allclose(reduced.distributions[k], distribution, rtol=0, atol=1e-10)
        assert reduced.fidelities[k] == pytest.approx(fidelity, abs=1e-10)


def test_exact_evolution_is_not_trivial():
    # guards the cross-checks above: the settings really move the state
    res = ReservoirConfig(num_ancillas=2, coupling=0.7, t_f=1.5, tau_b=0.4)
    psi = haar(3, 3, seed=11)
    reduced = evolve_exact(psi, res, EXACT)
    assert np.abs(reduced.distributions - np.abs(psi) ** 2).max() > 0.05
    assert reduced.fidelities.max() < 0.99


# --- trivial cases --------------------------------------------------------------------------

TRIVIAL = [
    dict(coupling=0.0, t_f=2.0, tau_b=2.0),  # no coupling, full time back with H0
    dict(coupling=0.0, t_f=1.3, tau_b=1.3, ancilla_state="plus", boundary="periodic"),
    dict(coupling=0.8, t_f=1.7, tau_b=1.7, backward="full"),  # exact reversal for any lambda
    dict(coupling=2.5, t_f=0.9, tau_b=0.9, backward="full", ancilla_state="neel"),
]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("case", TRIVIAL)
def test_trivial_cases_give_the_input_back(case, order):
    res = ReservoirConfig(num_ancillas=2, **case)
    psi = haar(4, 3, seed=5)
    for engine in (EXACT, EngineConfig(name="trotter", trotter_steps=3, order=order)):
        evolve = evolve_exact if engine.name == "exact" else evolve_trotter
        reduced = evolve(psi, res, engine)
        np.testing.assert_allclose(reduced.distributions, np.abs(psi) ** 2, rtol=0, atol=1e-12)
        np.testing.assert_allclose(reduced.fidelities, 1.0, rtol=0, atol=1e-9)


def test_coupling_breaks_the_trivial_case():
    # the input is not recovered with lambda > 0 and the uncoupled backward Hamiltonian
    res = ReservoirConfig(num_ancillas=2, coupling=0.8, t_f=1.7, tau_b=1.7)
    psi = haar(4, 3, seed=5)
    reduced = evolve_exact(psi, res, EXACT)
    assert reduced.fidelities.min() < 0.95


# --- Trotter engine -------------------------------------------------------------------------


def trotter_errors(order: int, steps: list[int]) -> list[float]:
    res = ReservoirConfig(num_ancillas=2, delta=0.6, coupling=0.7, t_f=2.0, tau_b=1.0)
    psi = haar(3, 3, seed=8)
    exact = evolve_exact(psi, res, EXACT).distributions
    return [
        float(np.abs(evolve_trotter(psi, res, EngineConfig(name="trotter", trotter_steps=s,
                                                           order=order)).distributions
                     - exact).max())
        for s in steps
    ]  # fmt: skip


def test_trotter_converges_to_exact():
    steps = [4, 8, 16, 32]
    first = trotter_errors(1, steps)
    second = trotter_errors(2, steps)
    assert all(b < a for a, b in pairwise(first)), first
    assert all(b < a for a, b in pairwise(second)), second
    # order 2 beats order 1 at the same number of steps
    assert all(s < f for f, s in zip(first, second, strict=True)), (first, second)
    # error ~ 1/steps (order 1), ~ 1/steps^2 (order 2): 8x more steps, >= 4x and >= 20x smaller
    assert first[-1] < first[0] / 4
    assert second[-1] < second[0] / 20
    assert second[-1] < 5e-3


def test_trotter_fidelities_agree_with_the_state():
    res = ReservoirConfig(num_ancillas=1, coupling=0.5, t_f=1.0, tau_b=0.5)
    psi = haar(2, 2, seed=3)
    engine = EngineConfig(name="trotter", trotter_steps=6, order=1)
    reduced = evolve_trotter(psi, res, engine)
    circuit = trotter_circuit(2, res, engine).assign_parameters({"t_f": 1.0, "tau_b": 0.5})
    unitary = Operator(circuit).data
    for k in range(2):
        full = unitary @ np.kron(hand_ancillas("zero", 1), psi[k])
        rho = reduced_density(full, 2, 1)
        np.testing.assert_allclose(
            reduced.distributions[k], np.real(np.diag(rho)), rtol=0, atol=1e-12
        )
        assert reduced.fidelities[k] == pytest.approx(np.real(psi[k].conj() @ rho @ psi[k]))


def test_trotter_engine_binds_times_in_double_precision():
    # 0.7 and 0.3 are not single-precision numbers: the engine must bind them as float64
    res = ReservoirConfig(num_ancillas=1, coupling=0.7, t_f=0.7, tau_b=0.3)
    psi = haar(2, 2, seed=3)
    engine = EngineConfig(name="trotter", trotter_steps=4, order=2)
    reduced = evolve_trotter(psi, res, engine)
    circuit = trotter_circuit(2, res, engine).assign_parameters({"t_f": 0.7, "tau_b": 0.3})
    unitary = Operator(circuit).data
    for k in range(2):
        full = unitary @ np.kron(hand_ancillas("zero", 1), psi[k])
        rho = reduced_density(full, 2, 1)
        np.testing.assert_allclose(
            reduced.distributions[k], np.real(np.diag(rho)), rtol=0, atol=1e-12
        )


def test_time_step_exact_engine_is_exact_to_round_off():
    # t_f = 0.7 is not a single-precision number; the backward product must still be exact
    res = ReservoirConfig(num_ancillas=1, coupling=0.6, t_f=0.7, tau_b=0.35, reading="time_step")
    psi = haar(2, 2, seed=4)
    reduced = evolve_exact(psi, res, EngineConfig(name="exact", order=1))
    unitary = backward_product(2, res, 1, 2) @ expm(-1j * hand_hamiltonian(2, 1, 1.0, 0.6) * 0.7)
    for k in range(2):
        full = unitary @ np.kron(hand_ancillas("zero", 1), psi[k])
        rho = reduced_density(full, 2, 1)
        np.testing.assert_allclose(
            reduced.distributions[k], np.real(np.diag(rho)), rtol=0, atol=1e-12
        )


# --- the measurement circuit ----------------------------------------------------------------

MEASURED = [
    ("gaussian", dict(num_ancillas=2, coupling=0.7, t_f=1.0, tau_b=0.6, ancilla_state="zero")),
    ("haar", dict(num_ancillas=2, coupling=0.5, t_f=0.8, tau_b=0.8, ancilla_state="neel")),
    ("circle", dict(num_ancillas=1, coupling=0.9, t_f=1.0, tau_b=0.3, ancilla_state="one")),
    ("cluster", dict(num_ancillas=2, coupling=0.6, t_f=0.7, tau_b=0.5, ancilla_state="plus",
                     backward="full")),
    ("exponential", dict(num_ancillas=1, coupling=0.4, t_f=1.0, tau_b=0.25,
                         reading="time_step")),
]  # fmt: skip


@pytest.mark.parametrize(("source", "case"), MEASURED)
def test_measurement_circuit_prepares_the_trotter_state(source, case):
    inputs = input_states(InputsConfig(source=source, num_qubits=2, count=3, seed=2))
    res = ReservoirConfig(**case)
    engine = EngineConfig(name="aer", trotter_steps=4, order=2)
    circuit = reservoir_measurement_circuit(inputs.circuit, res, engine)
    n = 2
    assert circuit.num_qubits == n + res.num_ancillas
    assert [creg.name for creg in circuit.cregs] == ["meas"]
    assert circuit.count_ops()["measure"] == n
    assert set(circuit.parameters) == set(inputs.circuit.parameters)
    expected = evolve_trotter(inputs.states, res, replace(engine, name="trotter"))
    for k, values in enumerate(inputs.values):
        bound = circuit.assign_parameters(values).remove_final_measurements(inplace=False)
        probabilities = Statevector(bound).probabilities(qargs=list(range(n)))
        # 1e-7, not round-off: evolve_trotter binds t_f and tau_b in single precision (see
        # test_trotter_engine_binds_times_in_double_precision); any wiring error is far larger
        np.testing.assert_allclose(probabilities, expected.distributions[k], rtol=0, atol=1e-7)


def test_measurement_circuit_measures_input_qubit_i_into_bit_i():
    inputs = input_states(InputsConfig(source="gaussian", num_qubits=2, count=1))
    circuit = reservoir_measurement_circuit(inputs.circuit, ReservoirConfig(num_ancillas=1),
                                            EngineConfig(name="aer", trotter_steps=1))  # fmt: skip
    measured = [
        (circuit.find_bit(i.qubits[0]).index, circuit.find_bit(i.clbits[0]).index)
        for i in circuit.data
        if i.operation.name == "measure"
    ]
    assert sorted(measured) == [(0, 0), (1, 1)]


# --- the time_step reading ------------------------------------------------------------------


def backward_product(n: int, res: ReservoirConfig, order: int, steps: int) -> np.ndarray:
    """The builder's backward block alone: forward time 0, backward ``t_f`` in ``steps``."""
    circuit = reservoir_circuit(
        num_inputs=n, num_ancillas=res.num_ancillas, delta=res.delta, coupling=res.coupling,
        trotter_steps=1, order=order, boundary=res.boundary,
        backward_coupling=res.backward_coupling, backward_steps=steps,
    )  # fmt: skip
    return Operator(circuit.assign_parameters({"t_f": 0.0, "tau_b": res.t_f})).data


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize(("tau_b", "steps"), [(0.3, 3), (0.28, 4)])
def test_time_step_exact_engine_is_exact_forward_then_rounded_trotter_backward(order, tau_b, steps):
    res = ReservoirConfig(num_ancillas=1, coupling=0.7, delta=0.8, t_f=1.0, tau_b=tau_b,
                          reading="time_step", backward="full")  # fmt: skip
    assert res.backward_steps == steps  # round(t_f / tau_b): 3.33 -> 3, 3.57 -> 4
    psi = haar(3, 3, seed=6)
    engine = EngineConfig(name="exact", order=order, trotter_steps=50)
    reduced = evolve_exact(psi, res, engine)
    forward = expm(-1j * hand_hamiltonian(3, 1, 0.8, 0.7) * 1.0)

    def distributions(k_steps: int) -> np.ndarray:
        unitary = backward_product(3, res, order, k_steps) @ forward
        full = [unitary @ np.kron(hand_ancillas("zero", 1), p) for p in psi]
        return np.array([np.real(np.diag(reduced_density(f, 3, 1))) for f in full])

    np.testing.assert_allclose(reduced.distributions, distributions(steps), rtol=0, atol=1e-10)
    # neither floor nor ceil: one step more or fewer is a different Trotter product
    for other in (steps - 1, steps + 1):
        assert np.abs(reduced.distributions - distributions(other)).max() > 1e-4
    # with backward = full the exact reversal would give the input back; the digital step does not
    assert np.abs(reduced.distributions - np.abs(psi) ** 2).max() > 1e-4


def test_time_step_error_shrinks_with_the_step():
    psi = haar(3, 3, seed=6)
    errors = []
    for tau_b in (0.5, 0.25, 0.125):
        res = ReservoirConfig(num_ancillas=1, coupling=0.7, t_f=1.0, tau_b=tau_b,
                              reading="time_step", backward="full")  # fmt: skip
        reduced = evolve_exact(psi, res, EngineConfig(name="exact", order=2))
        errors.append(np.abs(reduced.distributions - np.abs(psi) ** 2).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < errors[0] / 8  # second order: about 1/16 for 4x smaller steps


def test_time_step_circuit_metadata_and_gate_count():
    res = ReservoirConfig(num_ancillas=1, coupling=0.7, t_f=1.0, tau_b=0.28, reading="time_step")
    engine = EngineConfig(name="trotter", trotter_steps=7, order=1)
    circuit = trotter_circuit(3, res, engine)
    arguments = circuit.metadata["arguments"]
    assert arguments["trotter_steps"] == 7
    assert arguments["backward_steps"] == 4
    assert arguments["backward_coupling"] == 0.0
    # order 1: 3 rotations per bond per step; forward bonds (2 + 0 + 1 coupling), backward 2
    counts = Counter(i.operation.name for i in circuit.data)
    assert counts == {"rxx": 3 * 7 + 2 * 4, "ryy": 3 * 7 + 2 * 4, "rzz": 3 * 7 + 2 * 4}
    duration = trotter_circuit(3, replace(res, reading="duration"), engine)
    assert duration.metadata["arguments"]["backward_steps"] == 7


def test_time_step_trotter_engine_with_equal_steps_is_exact_reversal():
    # trotter_steps = round(t_f / tau_b): the backward product undoes the forward one exactly
    res = ReservoirConfig(num_ancillas=2, coupling=0.9, t_f=1.0, tau_b=0.2, reading="time_step",
                          backward="full")  # fmt: skip
    psi = haar(3, 2, seed=9)
    same = evolve_trotter(psi, res, EngineConfig(name="trotter", trotter_steps=5, order=2))
    np.testing.assert_allclose(same.fidelities, 1.0, rtol=0, atol=1e-9)
    other = evolve_trotter(psi, res, EngineConfig(name="trotter", trotter_steps=7, order=2))
    assert other.fidelities.min() < 1 - 1e-6


# --- the builder's backward_steps -----------------------------------------------------------


def own_lie_trotter(terms: list[tuple[np.ndarray, float]], time: float, steps: int) -> np.ndarray:
    """``(prod_j exp(-i c_j P_j time/steps))^steps``, first term applied first."""
    dim = terms[0][0].shape[0]
    step = np.eye(dim, dtype=complex)
    for matrix, coeff in terms:
        step = expm(-1j * coeff * matrix * time / steps) @ step
    return np.linalg.matrix_power(step, steps)


def test_backward_block_is_the_adjoint_of_a_lie_trotter_product():
    n, m, delta, coupling, tau_b = 2, 1, 0.6, 0.8, 0.9
    # terms in the builder's order: input chain, ancilla chain (none for m = 1), coupling bond
    terms = [
        (on_qubits({a: PAULI[p], b: PAULI[p]}, n + m), scale * coeff)
        for (a, b), scale in (((0, 1), 1.0), ((1, 2), coupling))
        for p, coeff in (("X", 1.0), ("Y", 1.0), ("Z", delta))
    ]
    for steps in (1, 2, 5):
        circuit = reservoir_circuit(
            num_inputs=n, num_ancillas=m, delta=delta, coupling=coupling, trotter_steps=3,
            order=1, backward_coupling=coupling, backward_steps=steps,
        )  # fmt: skip
        unitary = Operator(circuit.assign_parameters({"t_f": 0.0, "tau_b": tau_b})).data
        expected = own_lie_trotter(terms, tau_b, steps).conj().T
        # equal up to a global phase
        overlap = abs(np.trace(expected.conj().T @ unitary)) / 8
        assert overlap == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_backward_steps_converge_to_the_exact_backward_evolution(order):
    n, m, delta, coupling, tau_b = 2, 2, 1.0, 0.7, 1.2
    exact = expm(1j * hand_hamiltonian(n, m, delta, coupling) * tau_b)
    errors = []
    for steps in (2, 4, 8):
        circuit = reservoir_circuit(
            num_inputs=n, num_ancillas=m, delta=delta, coupling=coupling, trotter_steps=1,
            order=order, backward_coupling=coupling, backward_steps=steps,
        )  # fmt: skip
        unitary = Operator(circuit.assign_parameters({"t_f": 0.0, "tau_b": tau_b})).data
        errors.append(np.linalg.norm(unitary - exact, 2))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < errors[0] / (3 if order == 1 else 12)


def test_backward_steps_default_and_gate_counts():
    common = dict(num_inputs=3, num_ancillas=2, coupling=0.7, order=1)
    default = reservoir_circuit(**common, trotter_steps=3, backward_coupling=0.7)
    assert default.metadata["arguments"]["backward_steps"] == 3
    # 4 bonds x 3 Pauli pairs per step: forward 3 steps, backward 5 steps
    counted = reservoir_circuit(**common, trotter_steps=3, backward_coupling=0.7,
                                backward_steps=5)  # fmt: skip
    assert sum(counted.count_ops().values()) == 12 * 3 + 12 * 5
    assert counted.metadata["arguments"]["backward_steps"] == 5
    # without backward coupling the backward product has 3 bonds
    uncoupled = reservoir_circuit(**common, trotter_steps=3, backward_steps=2)
    assert sum(uncoupled.count_ops().values()) == 12 * 3 + 9 * 2


@pytest.mark.parametrize("steps", [0, -1, 1.5, True])
def test_bad_backward_steps_are_refused(steps):
    with pytest.raises(ConfigError, match="backward_steps"):
        reservoir_circuit(num_inputs=2, num_ancillas=1, backward_steps=steps)
