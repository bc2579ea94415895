"""Restricting a device and its ISA circuits to the active qubits, checked by ideal simulation.

The reduced circuit is compared with the *logical* circuit (small enough for a Statevector)
after placing the logical qubits where the transpiler's layout says they end up.
"""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit, Parameter
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeFez

from qdm_qiskit.circuits import TranspileOptions, isa_violations, transpile_isa
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.reduce import (
    ReducedBackend,
    active_qubits,
    reduce_backend,
    reduce_circuit,
    restrict_observable,
)

A, B, C = Parameter("a"), Parameter("b"), Parameter("c")
BINDINGS = [{A: 0.3, B: -1.1, C: 2.0}, {A: -2.4, B: 0.7, C: -0.5}]


def ring_circuit(measure: bool) -> QuantumCircuit:
    """A triangle of CX gates on logical qubits 0-2 (needs routing on heavy-hex); 3 is idle."""
    qc = QuantumCircuit(4, 3 if measure else 0, name="ring")
    qc.ry(A, 0)
    qc.h(1)
    qc.cx(0, 1)
    qc.rx(B, 2)
    qc.cx(1, 2)
    qc.cx(2, 0)
    qc.rz(C, 1)
    qc.ry(C, 2)
    if measure:
        qc.measure([0, 1, 2], [2, 0, 1])  # a permuted clbit order on purpose
    return qc


@pytest.fixture(scope="module")
def fez() -> FakeFez:
    return FakeFez()


@pytest.fixture(scope="module")
def isa(fez) -> QuantumCircuit:
    return transpile_isa(
        ring_circuit(False), target=fez, options=TranspileOptions(seed_transpiler=3)
    )


@pytest.fixture(scope="module")
def isa_measured(fez) -> QuantumCircuit:
    return transpile_isa(
        ring_circuit(True), target=fez, options=TranspileOptions(seed_transpiler=3)
    )


def touched(circuit: QuantumCircuit) -> set[int]:
    return {
        circuit.find_bit(q).index
        for instruction in circuit.data
        if instruction.operation.name != "barrier"
        for q in instruction.qubits
    }


def placed_logical(logical: QuantumCircuit, width: int, positions: list[int]) -> QuantumCircuit:
    """``logical`` acting on qubits ``positions`` of a ``width``-qubit register."""
    out = QuantumCircuit(width)
    out.compose(logical, qubits=positions, inplace=True)
    return out


def test_active_qubits_include_the_idle_logical_qubit(isa):
    final = isa.layout.final_index_layout()
    active = active_qubits(isa)
    assert isa.num_qubits == 156
    assert list(active) == sorted(set(active))
    # Every qubit an instruction touches, and where every logical qubit ends up.
    assert set(active) == touched(isa) | set(final)
    # Logical qubit 3 has no gate: its physical qubit is kept although nothing acts on it.
    assert final[3] in active and final[3] not in touched(isa)
    assert 4 <= len(active) < 10


def test_active_qubits_ignore_barriers_and_work_without_layout(isa):
    with_barrier = isa.copy()
    with_barrier.barrier()  # on all 156 qubits
    assert active_qubits(with_barrier) == active_qubits(isa)
    plain = QuantumCircuit(6)
    plain.h(1)
    plain.cx(1, 4)
    plain.barrier()
    assert active_qubits(plain) == (1, 4)


def test_reduce_circuit_keeps_gates_clbits_and_parameters(isa_measured):
    reduced = reduce_circuit(isa_measured)
    circuit = reduced.circuit
    assert reduced.physical_qubits == active_qubits(isa_measured)
    assert circuit.num_qubits == len(reduced.physical_qubits)
    assert circuit.count_ops() == isa_measured.count_ops()
    assert circuit.clbits == isa_measured.clbits
    assert [r.name for r in circuit.cregs] == [r.name for r in isa_measured.cregs]
    assert set(circuit.parameters) == set(isa_measured.parameters) == {A, B, C}
    assert circuit.global_phase == isa_measured.global_phase
    assert isa_violations(circuit, reduce_backend(FakeFez(), reduced.physical_qubits)) == []


@pytest.mark.parametrize("binding", BINDINGS)
def test_reduced_statevector_is_the_logical_state_on_the_layout(isa, binding):
    reduced = reduce_circuit(isa)
    positions = [reduced.physical_qubits.index(p) for p in isa.layout.final_index_layout()]
    logical = ring_circuit(False).assign_parameters(binding)
    expected = Statevector(placed_logical(logical, reduced.circuit.num_qubits, positions))
    actual = Statevector(reduced.circuit.assign_parameters(binding))
    assert actual.equiv(expected)


@pytest.mark.parametrize("binding", BINDINGS)
def test_reduced_measurement_distribution_matches_the_logical_one(isa_measured, binding):
    reduced = reduce_circuit(isa_measured).circuit.assign_parameters(binding)
    source = {}
    for instruction in reduced.data:
        if instruction.operation.name == "measure":
            clbit = reduced.find_bit(instruction.clbits[0]).index
            source[clbit] = reduced.find_bit(instruction.qubits[0]).index
    assert sorted(source) == [0, 1, 2]
    state = Statevector(reduced.remove_final_measurements(inplace=False))
    actual = state.probabilities(qargs=[source[0], source[1], source[2]])
    logical = ring_circuit(False).assign_parameters(binding)
    # clbit 0 <- logical qubit 1, clbit 1 <- logical 2, clbit 2 <- logical 0
    expected = Statevector(logical).probabilities(qargs=[1, 2, 0])
    np.testing.assert_allclose(actual, expected, atol=1e-9)


def test_reduced_measured_circuit_gives_the_ideal_counts(fez):
    logical = QuantumCircuit(3, 2)
    logical.x(0)
    logical.cx(0, 1)
    logical.x(1)  # qubit 0 ends in |1>, qubit 1 in |0>
    logical.measure([0, 1], [1, 0])  # clbit 1 <- qubit 0, clbit 0 <- qubit 1
    isa = transpile_isa(logical, target=fez)
    reduced = reduce_circuit(isa)
    counts = AerSimulator().run(reduced.circuit, shots=64, seed_simulator=1).result().get_counts()
    assert counts == {"10": 64}


@pytest.mark.parametrize("binding", BINDINGS)
def test_restricted_observable_has_the_logical_expectation_value(isa, binding):
    observable = SparsePauliOp(["ZZII", "IXIY", "IIZZ", "XZXI", "ZIIZ"], [0.5, -1.2, 0.8, 0.3, 2])
    physical = observable.apply_layout(isa.layout)
    assert physical.num_qubits == 156
    reduced = reduce_circuit(isa)
    restricted = restrict_observable(physical, reduced.physical_qubits)
    assert restricted == reduced.observable(physical)
    assert restricted.num_qubits == reduced.circuit.num_qubits
    actual = Statevector(reduced.circuit.assign_parameters(binding)).expectation_value(restricted)
    expected = Statevector(ring_circuit(False).assign_parameters(binding)).expectation_value(
        observable
    )
    assert actual == pytest.approx(expected, abs=1e-9)


def test_explicit_unsorted_qubits_give_consistent_circuit_and_observable(isa):
    """The same ``qubits`` argument must index circuit and observable the same way."""
    observable = SparsePauliOp(["ZIIX", "IZZI", "YIZI"], [1.0, 0.5, -0.7])
    physical = observable.apply_layout(isa.layout)
    qubits = list(reversed(active_qubits(isa)))
    circuit = reduce_circuit(isa, qubits).circuit.assign_parameters(BINDINGS[0])
    restricted = restrict_observable(physical, qubits)
    expected = Statevector(ring_circuit(False).assign_parameters(BINDINGS[0])).expectation_value(
        observable
    )
    assert Statevector(circuit).expectation_value(restricted) == pytest.approx(expected, abs=1e-9)


def test_reduce_circuit_keeps_clbit_order_with_loose_bits():
    loose = Clbit()
    register = ClassicalRegister(2, "c")
    qc = QuantumCircuit(QuantumRegister(3, "q"), [loose], register)
    qc.x(0)
    qc.measure(0, loose)
    qc.measure(1, register[0])
    qc.measure(2, register[1])
    reduced = reduce_circuit(qc).circuit
    assert reduced.clbits == qc.clbits
    for before, after in zip(qc.data, reduced.data, strict=True):
        assert [qc.find_bit(c).index for c in before.clbits] == [
            reduced.find_bit(c).index for c in after.clbits
        ]


def test_barriers_are_restricted_to_kept_qubits(isa):
    with_barrier = isa.copy()
    with_barrier.barrier()
    reduced = reduce_circuit(with_barrier)
    barriers = [i for i in reduced.circuit.data if i.operation.name == "barrier"]
    assert len(barriers) == 1 and len(barriers[0].qubits) == reduced.circuit.num_qubits


def test_reduce_circuit_refuses_a_dropped_active_qubit(isa):
    acted_on = sorted(touched(isa))
    kept = [q for q in active_qubits(isa) if q != acted_on[0]]
    with pytest.raises(ConfigError, match=rf"\[{acted_on[0]}\] outside the kept set"):
        reduce_circuit(isa, kept)


def test_restrict_observable_refuses_terms_outside_and_allows_identity(isa):
    qubits = active_qubits(isa)
    outside = next(q for q in range(156) if q not in qubits)
    bad = SparsePauliOp.from_sparse_list([("ZX", [qubits[0], outside], 1.0)], 156)
    with pytest.raises(ConfigError, match=rf"\[{outside}\]"):
        restrict_observable(bad, qubits)
    good = SparsePauliOp.from_sparse_list([("Z", [qubits[1]], 2.0), ("", [], 0.5)], 156)
    restricted = restrict_observable(good, qubits)
    assert restricted == SparsePauliOp.from_sparse_list(
        [("Z", [1], 2.0), ("", [], 0.5)], len(qubits)
    )


KEPT = (5, 4, 3, 16, 23)


@pytest.fixture(scope="module")
def reduced_fez(fez) -> ReducedBackend:
    return reduce_backend(fez, KEPT)


def test_reduce_backend_width_and_order(reduced_fez):
    assert reduced_fez.num_qubits == len(KEPT)
    assert reduced_fez.target.num_qubits == len(KEPT)
    assert reduced_fez.physical_qubits == tuple(sorted(KEPT))
    assert "if_else" in reduced_fez.target.operation_names


@pytest.mark.parametrize("name", ["cz", "sx", "x", "rz", "measure"])
def test_reduce_backend_keeps_instruction_properties(fez, reduced_fez, name):
    physical = reduced_fez.physical_qubits
    full = fez.target[name]
    inside = {qargs: props for qargs, props in full.items() if set(qargs) <= set(physical)}
    assert inside, "the kept set should exercise this instruction"
    mine = reduced_fez.target[name]
    assert len(mine) == len(inside)
    for qargs, props in mine.items():
        original = full[tuple(physical[i] for i in qargs)]
        if original is None:
            assert props is None
        else:
            assert (props.error, props.duration) == (original.error, original.duration)
    if name == "cz":
        assert len(inside) >= 2  # at least one coupled pair, both directions


def test_reduce_backend_keeps_t1_t2(fez, reduced_fez):
    for i, q in enumerate(reduced_fez.physical_qubits):
        mine, theirs = reduced_fez.qubit_properties(i), fez.qubit_properties(q)
        assert (mine.t1, mine.t2) == (theirs.t1, theirs.t2)
    assert reduced_fez.target.dt == fez.target.dt


def test_reduced_backend_cannot_run(reduced_fez):
    with pytest.raises(NotImplementedError):
        reduced_fez.run(QuantumCircuit(1))


@pytest.mark.parametrize("qubits", [[0, 156], [-1, 3]])
def test_reduce_backend_refuses_qubits_outside_the_device(fez, qubits):
    with pytest.raises(ConfigError, match="has no qubit"):
        reduce_backend(fez, qubits)


def test_aer_from_reduced_backend_simulates_device_noise(fez):
    logical = QuantumCircuit(3, 2)  # logical qubit 2 idle
    logical.x(0)
    logical.cx(0, 1)
    logical.measure([0, 1], [0, 1])
    isa = transpile_isa(logical, target=fez)
    reduced = reduce_circuit(isa)
    assert len(reduced.physical_qubits) == 3
    backend = reduce_backend(fez, reduced.physical_qubits)
    shots = 4000
    ideal = AerSimulator().run(reduced.circuit, shots=shots, seed_simulator=5).result()
    assert ideal.get_counts() == {"11": shots}
    noisy = AerSimulator.from_backend(backend)
    counts = noisy.run(reduced.circuit, shots=shots, seed_simulator=5).result().get_counts()
    assert sum(counts.values()) == shots
    assert 0.8 * shots < counts.get("11", 0) < shots
