"""Mitigation presets, readout calibration and M3 correction, checked on synthetic counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from qiskit_ibm_runtime.options_models import EstimatorOptions, SamplerOptions

from qdm_qiskit.circuits import isa_violations
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.mitigation import (
    CALIBRATION_PUBS,
    CALIBRATION_REGISTER,
    PRESETS,
    assignment_matrices,
    calibration_circuits,
    check_preset,
    estimator_options,
    is_dynamic,
    measured_qubits,
    readout_corrected,
    sampler_options,
    uses_readout_calibration,
)

# --- check_preset ------------------------------------------------------------------------------

ALLOWED = [
    ("none", "sampler", True),
    ("readout", "sampler", True),
    ("full", "sampler", True),
    ("none", "estimator", True),
    ("readout", "estimator", True),
    ("zne", "estimator", True),
    ("full", "estimator", True),
    ("none", "sampler", False),
    ("readout", "sampler", False),
    ("none", "estimator", False),
]


@pytest.mark.parametrize(("preset", "primitive", "runtime"), ALLOWED)
def test_check_preset_accepts(preset, primitive, runtime):
    assert check_preset(preset, primitive=primitive, runtime=runtime) == preset


@pytest.mark.parametrize(
    ("preset", "primitive", "runtime", "message"),
    [
        ("zne", "sampler", True, "needs the estimator"),
        ("zne", "sampler", False, "needs the estimator"),
        ("readout", "estimator", False, "fake:<backend>"),
        ("zne", "estimator", False, "fake:<backend>"),
        ("full", "estimator", False, "fake:<backend>"),
        ("full", "sampler", False, "fake:<backend>"),
        ("trex", "estimator", True, "unknown mitigation 'trex'"),
        ("", "sampler", False, "unknown mitigation"),
    ],
)
def test_check_preset_refuses(preset, primitive, runtime, message):
    with pytest.raises(ConfigError, match=message):
        check_preset(preset, primitive=primitive, runtime=runtime)


# --- Runtime options ---------------------------------------------------------------------------


@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("preset", PRESETS)
def test_estimator_options_are_valid_runtime_options(preset, dynamic):
    options = EstimatorOptions(**estimator_options(preset, dynamic=dynamic))
    level = {"none": 0, "readout": 1, "zne": 2, "full": 2}[preset]
    assert options.resilience_level == level
    mitigated = preset != "none"
    assert bool(options.resilience.measure_mitigation) is mitigated
    assert options.twirling.enable_measure is mitigated
    assert options.twirling.enable_gates is (preset == "full")
    zne = preset in ("zne", "full")
    assert bool(options.resilience.zne_mitigation) is zne
    if zne:
        assert list(options.resilience.zne.noise_factors) == [1, 3, 5]
        assert options.resilience.zne.amplifier == "gate_folding"
        assert list(options.resilience.zne.extrapolator) == ["exponential", "linear"]
    if preset == "full":
        assert options.dynamical_decoupling.enable is (not dynamic)
        assert options.dynamical_decoupling.sequence_type == "XY4"
    else:
        assert not options.dynamical_decoupling.enable


@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize("preset", ["none", "readout", "full"])
def test_sampler_options_are_valid_runtime_options(preset, dynamic):
    raw = sampler_options(preset, dynamic=dynamic)
    options = SamplerOptions(**raw)
    if preset == "full":
        assert options.twirling.enable_gates is True
        assert options.twirling.enable_measure is True
        assert options.dynamical_decoupling.enable is (not dynamic)
        assert options.dynamical_decoupling.sequence_type == "XY4"
    else:
        assert raw == {}


def test_readout_calibration_only_for_sampler_readout_and_full():
    assert [uses_readout_calibration(p, primitive="sampler") for p in PRESETS] == [
        False,
        True,
        False,
        True,
    ]
    assert not any(uses_readout_calibration(p, primitive="estimator") for p in PRESETS)


# --- is_dynamic --------------------------------------------------------------------------------


def final_only() -> QuantumCircuit:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()  # barrier, then one measurement per qubit
    return qc


def measured_early() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.cx(0, 1)
    qc.measure(1, 1)
    return qc


def measured_twice() -> QuantumCircuit:
    qc = QuantumCircuit(1, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.measure(0, 1)
    return qc


def with_reset() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.reset(1)
    qc.measure([0, 1], [0, 1])
    return qc


def with_if_test() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    return qc


def other_qubit_after_measure() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.measure(0, 0)
    qc.h(1)  # a gate after the measurement, but on another qubit
    qc.barrier()
    qc.measure(1, 1)
    return qc


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (final_only, False),
        (other_qubit_after_measure, False),
        (lambda: QuantumCircuit(2), False),
        (measured_early, True),
        (measured_twice, True),
        (with_reset, True),
        (with_if_test, True),
    ],
    ids=["final", "other-qubit", "empty", "mid-circuit", "twice", "reset", "if_test"],
)
def test_is_dynamic(build, expected):
    assert is_dynamic(build()) is expected


# --- calibration circuits and assignment matrices ----------------------------------------------


def test_calibration_circuits_prepare_zeros_then_ones():
    qubits = [3, 1, 4]
    circuits = calibration_circuits(5, qubits)
    assert [c.name for c in circuits] == list(CALIBRATION_PUBS)
    simulator = AerSimulator()
    for circuit, expected in zip(circuits, ("000", "111"), strict=True):
        assert circuit.num_qubits == 5
        assert [r.name for r in circuit.cregs] == [CALIBRATION_REGISTER]
        assert circuit.cregs[0].size == len(qubits)
        assert measured_qubits(circuit, CALIBRATION_REGISTER) == qubits
        assert set(circuit.count_ops()) <= {"x", "measure"}
        assert isa_violations(circuit, FakeManilaV2()) == []
        counts = simulator.run(circuit, shots=32, seed_simulator=3).result().get_counts()
        assert counts == {expected: 32}
    flipped = sorted(
        circuits[1].find_bit(i.qubits[0]).index for i in circuits[1].data if i.name == "x"
    )
    assert flipped == sorted(qubits)


def test_calibration_needs_qubits():
    with pytest.raises(ConfigError, match="at least one"):
        calibration_circuits(3, [])


def test_assignment_matrices_from_known_flip_rates():
    # bit 0 (rightmost character) reads 1 for 10% of prepared 0; bit 1 reads 0 for 20% of 1.
    counts0 = {"00": 900, "01": 100}
    counts1 = {"11": 800, "01": 200}
    a0, a1 = assignment_matrices(counts0, counts1, 2)
    np.testing.assert_allclose(a0, [[0.9, 0.0], [0.1, 1.0]])
    np.testing.assert_allclose(a1, [[1.0, 0.2], [0.0, 0.8]])
    for matrix in (a0, a1):
        np.testing.assert_allclose(matrix.sum(axis=0), [1.0, 1.0])


def test_assignment_matrices_refuse_empty_counts():
    with pytest.raises(ConfigError, match="empty"):
        assignment_matrices({}, {"1": 10}, 1)


def test_measured_qubits_per_register():
    qc = QuantumCircuit(
        QuantumRegister(4, "q"), ClassicalRegister(2, "a"), ClassicalRegister(2, "b")
    )
    a, b = qc.cregs
    qc.measure(2, a[0])
    qc.measure(0, a[1])
    qc.measure(3, b[0])
    qc.measure(1, b[1])
    qc.measure(0, b[0])  # the last measurement into a bit counts
    assert measured_qubits(qc, "a") == [2, 0]
    assert measured_qubits(qc, "b") == [0, 1]
    with pytest.raises(ConfigError, match="no classical register 'c'"):
        measured_qubits(qc, "c")
    partial = QuantumCircuit(2, 2)
    partial.measure(1, 0)
    with pytest.raises(ConfigError, match=r"bits \[1\] are never measured"):
        measured_qubits(partial, "c")


# --- M3 correction -----------------------------------------------------------------------------


def noisy_counts(ideal: dict[str, float], matrices: list[np.ndarray], shots: int) -> dict[str, int]:
    """Expected counts of ``ideal`` read out through per-bit ``matrices`` (bit 0 first)."""
    n = len(matrices)
    vector = np.zeros(2**n)
    for key, p in ideal.items():
        vector[int(key, 2)] = p
    full = np.array([[1.0]])
    for matrix in matrices:  # kron(A_{n-1}, ..., A_0): bit 0 is the least significant
        full = np.kron(matrix, full)
    measured = full @ vector
    return {
        format(i, f"0{n}b"): round(shots * p) for i, p in enumerate(measured) if round(shots * p)
    }


A_Q3 = np.array([[0.92, 0.15], [0.08, 0.85]])
A_Q1 = np.array([[0.97, 0.06], [0.03, 0.94]])
A_Q0 = np.array([[0.88, 0.1], [0.12, 0.9]])


def test_readout_corrected_recovers_the_ideal_distributions():
    ideals = [
        {"00": 0.5, "11": 0.3, "01": 0.2},
        {"10": 0.7, "01": 0.3},
        {"11": 1.0},
    ]
    # register bit 0 is qubit 3, bit 1 is qubit 1 (qubit 0 is calibrated but not used here)
    matrices = {0: A_Q0, 1: A_Q1, 3: A_Q3}
    shots = 200_000
    counts = [noisy_counts(ideal, [A_Q3, A_Q1], shots) for ideal in ideals]
    assert counts[2] != {"11": shots}  # the readout noise is visible
    corrected = readout_corrected(counts, [3, 1], matrices)
    assert len(corrected) == len(ideals)
    for quasi, ideal in zip(corrected, ideals, strict=True):
        assert sum(quasi.values()) == pytest.approx(1.0, abs=1e-6)
        for key in ("".join(b) for b in itertools.product("01", repeat=2)):
            assert quasi.get(key, 0.0) == pytest.approx(ideal.get(key, 0.0), abs=1e-2)


def test_readout_corrected_single_binding_and_one_qubit():
    counts = noisy_counts({"0": 0.25, "1": 0.75}, [A_Q0], 100_000)
    (quasi,) = readout_corrected([counts], [0], {0: A_Q0})
    assert quasi["1"] == pytest.approx(0.75, abs=1e-2)
    assert quasi["0"] == pytest.approx(0.25, abs=1e-2)


def test_readout_corrected_needs_every_qubit_calibrated():
    with pytest.raises(ConfigError, match=r"qubit\(s\) \[2\]"):
        readout_corrected([{"00": 10}], [0, 2], {0: A_Q0})
