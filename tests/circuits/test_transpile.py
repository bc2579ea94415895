"""ISA transpilation: target support, logical equivalence, cache, hashes, summaries."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeFez, FakeManilaV2, FakeTorino
from qiskit_ibm_runtime.utils.utils import is_isa_circuit

from qdm_qiskit.circuits import (
    TranspileCache,
    TranspileOptions,
    amplitude_encoding,
    angle_encoding,
    circuit_summary,
    denoising_circuit,
    depolarizing_circuit,
    isa_violations,
    layout_observable,
    reservoir_circuit,
    scrambling_layer,
    structure_hash,
    target_fingerprint,
    transpile_isa,
)
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError

MANILA, FEZ = FakeManilaV2(), FakeFez()


def builders() -> dict[str, QuantumCircuit]:
    return {
        "denoiser+anc": denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=2, steps=2,
                                          measure_data=True),
        "angle": angle_encoding(num_qubits=3, time_embedding=True),
        "amplitude": amplitude_encoding(num_qubits=3, complex_amplitudes=True),
        "reservoir": reservoir_circuit(num_inputs=2, num_ancillas=2, trotter_steps=2),
        "scrambling": scrambling_layer(num_qubits=3),
    }  # fmt: skip


@pytest.mark.parametrize("backend", [MANILA, FEZ, AerSimulator.from_backend(MANILA)],
                         ids=["manila", "fez", "aer-manila"])  # fmt: skip
@pytest.mark.parametrize("name", list(builders()))
def test_transpiled_circuits_are_isa_for_the_target(backend, name):
    isa = transpile_isa(builders()[name], target=backend)
    assert isa_violations(isa, backend) == []
    assert is_isa_circuit(isa, backend.target) == ""  # Runtime's own check agrees
    assert set(isa.parameters) and {p.name for p in isa.parameters} == {
        p.name for p in builders()[name].parameters
    }


def test_isa_violations_detect_logical_gates_and_width():
    logical = QuantumCircuit(2)
    logical.h(0)
    logical.cx(0, 1)
    problems = isa_violations(logical, FEZ)
    assert any(p.startswith("h on qubits (0,)") for p in problems)
    assert any(p.startswith("cx on qubits (0, 1)") for p in problems)
    assert "6 qubits > target's 5" in isa_violations(QuantumCircuit(6), MANILA)


def _logical_probabilities(isa: QuantumCircuit, n_logical: int) -> np.ndarray:
    """Probabilities of the logical qubits, read through the ISA circuit's final layout."""
    physical = isa.layout.final_index_layout()[:n_logical]
    probabilities = Statevector(isa.remove_final_measurements(inplace=False)).probabilities(
        physical
    )
    return probabilities


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_transpiled_circuit_computes_the_same_state(level):
    circuit = denoising_circuit(num_data_qubits=3, layers=2, encoding="angle")
    values = np.random.default_rng(level).uniform(-np.pi, np.pi, circuit.num_parameters)
    isa = transpile_isa(circuit, target=MANILA, options=TranspileOptions(optimization_level=level))
    expected = Statevector(circuit.assign_parameters(values)).probabilities()
    got = _logical_probabilities(isa.assign_parameters(dict(zip(circuit.parameters, values,
                                                                 strict=True))), 3)  # fmt: skip
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_layout_observable_gives_the_logical_expectation():
    circuit = denoising_circuit(num_data_qubits=3, layers=2, encoding="angle")
    values = np.random.default_rng(4).uniform(-np.pi, np.pi, circuit.num_parameters)
    isa = transpile_isa(circuit, target=MANILA, options=TranspileOptions(optimization_level=3))
    observable = SparsePauliOp.from_list([("IIZ", 0.5), ("ZXI", -1.0), ("YYY", 0.3)])
    expected = Statevector(circuit.assign_parameters(values)).expectation_value(observable).real
    mapped = layout_observable(observable, isa)
    assert mapped.num_qubits == MANILA.num_qubits
    result = StatevectorEstimator().run([(isa, mapped, values)]).result()[0]
    assert float(result.data.evs) == pytest.approx(expected, abs=1e-10)


def test_cache_transpiles_each_structure_once():
    cache = TranspileCache()
    a = denoising_circuit(num_data_qubits=2, layers=3)
    b = denoising_circuit(num_data_qubits=2, layers=3)
    b.name = "second"
    first = transpile_isa(a, target=FEZ, cache=cache)
    second = transpile_isa(b, target=FEZ, cache=cache)
    assert (cache.hits, cache.misses) == (1, 1)
    # The hit carries the caller's own parameter objects, name and metadata ...
    assert set(second.parameters) == set(b.parameters)
    assert second.name == "second" and second.metadata["builder"] == "denoising_circuit"
    values = np.random.default_rng(0).uniform(size=b.num_parameters)
    bound = second.assign_parameters(dict(zip(b.parameters, values, strict=True)))
    reference = first.assign_parameters(dict(zip(a.parameters, values, strict=True)))
    # ... and is the same ISA circuit.
    assert bound == reference
    transpile_isa(denoising_circuit(num_data_qubits=2, layers=3), target=FEZ, cache=cache,
                  options=TranspileOptions(optimization_level=1))  # fmt: skip
    transpile_isa(denoising_circuit(num_data_qubits=2, layers=3), target=MANILA, cache=cache)
    transpile_isa(denoising_circuit(num_data_qubits=2, layers=4), target=FEZ, cache=cache)
    assert (cache.hits, cache.misses) == (1, 4)


def test_disk_cache_is_shared_across_instances(tmp_path):
    circuit = denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=2, measure_data=True)
    writer = TranspileCache(directory=tmp_path)
    isa = transpile_isa(circuit, target=FEZ, cache=writer)
    assert len(list(tmp_path.glob("*.qpy"))) == 1
    reader = TranspileCache(directory=str(tmp_path))  # a plain string works too
    rebuilt = denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=2, measure_data=True)
    again = transpile_isa(rebuilt, target=FEZ, cache=reader)
    assert (reader.hits, reader.misses) == (1, 0)
    assert again.layout.final_index_layout() == isa.layout.final_index_layout()
    assert set(again.parameters) == set(rebuilt.parameters)
    assert structure_hash(again) == structure_hash(isa)


def test_corrupt_disk_entry_is_a_miss_and_is_replaced(tmp_path):
    circuit = denoising_circuit(num_data_qubits=2, layers=1)
    transpile_isa(circuit, target=MANILA, cache=TranspileCache(directory=tmp_path))
    (entry,) = tmp_path.glob("*.qpy")
    entry.write_bytes(b"QISKIT garbage")
    cache = TranspileCache(directory=tmp_path)
    isa = transpile_isa(circuit, target=MANILA, cache=cache)
    assert (cache.hits, cache.misses) == (0, 1)
    assert isa_violations(isa, MANILA) == []
    assert entry.read_bytes() != b"QISKIT garbage"  # rewritten with a good entry


def test_deferred_cache_writes_only_on_flush(tmp_path):
    cache = TranspileCache(directory=tmp_path, autoflush=False)
    transpile_isa(denoising_circuit(num_data_qubits=2, layers=1), target=MANILA, cache=cache)
    assert not list(tmp_path.glob("*.qpy"))
    cache.flush()
    assert len(list(tmp_path.glob("*.qpy"))) == 1


def test_structure_hash_is_stable_for_custom_instructions():
    """Kraus channels and unitaries get random names in QPY; the hash must not depend on them."""
    schedule = NoiseSchedule(steps=3)
    hashes = {
        structure_hash(depolarizing_circuit(num_qubits=2, schedule=schedule, step=3))
        for _ in range(6)
    }
    assert len(hashes) == 1
    other = depolarizing_circuit(num_qubits=2, schedule=NoiseSchedule(steps=3, end=0.5), step=3)
    assert structure_hash(other) not in hashes


def test_isa_check_looks_inside_control_flow():
    circuit = QuantumCircuit(2, 1)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.h(1)
    problems = isa_violations(circuit, FEZ)
    assert "h on qubits (1,)" in problems
    assert is_isa_circuit(circuit, FEZ.target) != ""  # Runtime agrees
    assert circuit_summary(circuit).two_qubit_gates == 0  # if_else is not a two-qubit gate


def test_noise_markers_are_refused():
    markers = depolarizing_circuit(num_qubits=1, schedule=NoiseSchedule(steps=2), step=2,
                                   realisation="labels")  # fmt: skip
    with pytest.raises(ConfigError, match="simulator-only noise markers"):
        transpile_isa(markers, target=FEZ)


def test_structure_hash_ignores_uuids_names_and_metadata_only():
    a = denoising_circuit(num_data_qubits=2, layers=2)
    b = denoising_circuit(num_data_qubits=2, layers=2)
    b.name, b.metadata = "renamed", {"other": 1}
    assert structure_hash(a) == structure_hash(b)
    assert structure_hash(a) != structure_hash(denoising_circuit(num_data_qubits=2, layers=3))
    c = denoising_circuit(num_data_qubits=2, layers=2, entangler="cx")
    assert structure_hash(a) != structure_hash(c)


def test_target_fingerprint_distinguishes_devices():
    assert target_fingerprint(FakeFez().target) == target_fingerprint(FEZ.target)
    assert target_fingerprint(FakeTorino().target) != target_fingerprint(FEZ.target)


def test_summary_counts_and_duration():
    circuit = denoising_circuit(num_data_qubits=3, num_ancillas=1, layers=2, measure_data=True)
    isa = transpile_isa(circuit, target=FEZ)
    summary = circuit_summary(isa, target=FEZ)
    ops = isa.count_ops()
    assert summary.two_qubit_gates == ops.get("cz", 0)
    assert summary.width == 156 and summary.active_qubits == 4
    assert summary.parameters == circuit.num_parameters
    assert summary.duration_us is not None and summary.duration_us > 0
    assert circuit_summary(circuit).duration_us is None


def test_invalid_transpile_requests():
    with pytest.raises(ConfigError, match="optimization_level"):
        TranspileOptions(optimization_level=4)
    with pytest.raises(ConfigError, match="seed_transpiler"):
        TranspileOptions(seed_transpiler=-1)
    with pytest.raises(ConfigError, match="layout_method must be one of"):
        TranspileOptions(layout_method="bogus")
    with pytest.raises(ConfigError, match="routing_method must be one of"):
        TranspileOptions(routing_method=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs 6 qubits but the target has 5"):
        transpile_isa(denoising_circuit(num_data_qubits=6, layers=1), target=MANILA)
    schedule = NoiseSchedule(steps=2)
    kraus = depolarizing_circuit(num_qubits=1, schedule=schedule, step=2)
    with pytest.raises(ConfigError, match="cannot be transpiled"):
        transpile_isa(kraus, target=FEZ)
    with pytest.raises(ConfigError, match="Target or a BackendV2"):
        transpile_isa(kraus, target="fake:FakeFez")  # names are resolved by qdm_qiskit.jobs
