"""Measurements of :mod:`qdm_qiskit.scaling.measure`, checked against independent derivations.

Shot counts are checked by sampling, DDPM FLOPs by torch's own FLOP counter and the layer
shapes, circuit sizes by counting the gates the builders document; no expected value is
copied from the code under test.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch
from qiskit import QuantumCircuit
from torch.utils.flop_counter import FlopCounterMode

from qdm_qiskit.baseline import MLPDenoiser
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.plan import rep_delay_seconds
from qdm_qiskit.jobs.targets import resolve_target
from qdm_qiskit.results.metrics import wootters_distance
from qdm_qiskit.scaling import (
    FAMILIES,
    Measurements,
    ScalingConfig,
    ddpm_flops,
    family_circuit,
    shots_for_precision,
)
from qdm_qiskit.scaling.measure import (
    AMPLITUDE_BYTES,
    MAX_AMPLITUDE_QUBITS,
    data_dimension,
    largest_simulable_qubits,
    machine_memory,
    measure_classical,
    measure_device,
    measure_shots,
    measure_simulation,
    reverse_steps,
)

# --- shots for a Wootters precision -----------------------------------------------------------


@pytest.mark.parametrize("precision", [0.05, 0.1])
@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_shots_give_the_requested_mean_wootters_distance(n: int, precision: float) -> None:
    """Sampling with that many shots lands, on average, ``precision`` away from the truth."""
    shots = shots_for_precision(n, precision)
    rng = np.random.default_rng(1000 * n + int(100 * precision))
    distances = []
    for _ in range(3):  # a few random distributions over 2^n outcomes
        truth = rng.dirichlet(np.ones(2**n))
        for counts in rng.multinomial(shots, truth, size=150):
            distances.append(wootters_distance(counts, truth))
    mean = float(np.mean(distances))
    # The expected distance, not a bound: close to the precision from both sides.
    assert mean == pytest.approx(precision, rel=0.2), (shots, mean)


def test_shots_closed_form() -> None:
    # E[d] ~ sqrt((2^n - 1) / (4 N)) = precision  =>  N = (2^n - 1) / (4 precision^2).
    assert shots_for_precision(4, 0.05) == 1500
    assert shots_for_precision(1, 0.05) == 100
    assert shots_for_precision(2, 0.1) == 75
    assert shots_for_precision(3, 0.03) == math.ceil(7 / (4 * 0.03**2))


def test_shots_at_least_one() -> None:
    assert shots_for_precision(1, 10.0) == 1
    assert shots_for_precision(1, 1e9) == 1


def test_shots_monotonic_in_n_and_inverse_precision() -> None:
    precisions = [0.2, 0.1, 0.05, 0.02, 0.01]
    for n in range(1, 20):
        row = [shots_for_precision(n, p) for p in precisions]
        assert row == sorted(row) and len(set(row)) == len(row)
        assert shots_for_precision(n + 1, 0.05) > shots_for_precision(n, 0.05)
    # Doubling the outcomes about doubles the shots; halving the precision quadruples them.
    assert shots_for_precision(20, 0.05) / shots_for_precision(19, 0.05) == pytest.approx(2, 1e-5)
    assert shots_for_precision(10, 0.025) / shots_for_precision(10, 0.05) == pytest.approx(4, 1e-3)


# --- classical DDPM FLOPs ---------------------------------------------------------------------


def _flops_from_shapes(dim: int, hidden: int, depth: int, time_features: int, steps: int) -> int:
    """2 * sum(in * out) of the documented MLP: (dim+tf)->h, (depth-1) x h->h, h->dim."""
    shapes = [(dim + time_features, hidden)] + [(hidden, hidden)] * (depth - 1) + [(hidden, dim)]
    return 2 * sum(a * b for a, b in shapes) * steps


@pytest.mark.parametrize(
    ("dim", "hidden", "depth", "time_features", "steps"),
    [(1, 128, 3, 16, 10), (4, 128, 3, 16, 1), (64, 128, 3, 16, 10), (5, 8, 1, 4, 7),
     (256, 32, 2, 16, 100)],
)  # fmt: skip
def test_ddpm_flops_from_layer_shapes(
    dim: int, hidden: int, depth: int, time_features: int, steps: int
) -> None:
    network = MLPDenoiser(dim, hidden=hidden, depth=depth, time_features=time_features, steps=10)
    expected = _flops_from_shapes(dim, hidden, depth, time_features, steps)
    assert ddpm_flops(network, steps) == expected
    assert isinstance(ddpm_flops(network, steps), int)


@pytest.mark.parametrize("dim", [3, 16, 64])
def test_ddpm_flops_match_torch_flop_counter(dim: int) -> None:
    """One network call on one sample, counted by torch, times the steps."""
    network = MLPDenoiser(dim, steps=10).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        network(torch.zeros(1, dim), torch.ones(1, dtype=torch.long))
    assert ddpm_flops(network, 10) == 10 * counter.get_total_flops()


# --- memory bound -----------------------------------------------------------------------------


@pytest.mark.parametrize("memory", [2**20, 10**9, 12 * 2**30, 5 * 10**11, 2**40 + 12345])
@pytest.mark.parametrize("batch", [1, 3, 32])
@pytest.mark.parametrize("overhead", [1.0, 8.0, 2.5])
def test_largest_simulable_qubits_respects_memory(memory: int, batch: int, overhead: float) -> None:
    n = largest_simulable_qubits(memory, batch, overhead=overhead)

    def need(qubits: int) -> float:
        return 2**qubits * AMPLITUDE_BYTES * batch * overhead

    assert need(n) <= memory
    assert need(n + 1) > memory


def test_largest_simulable_qubits_default_overhead_is_eight() -> None:
    memory = 2**20 * AMPLITUDE_BYTES * 4 * 8  # exactly 20 qubits at batch 4, overhead 8
    assert largest_simulable_qubits(memory, 4) == 20
    assert largest_simulable_qubits(memory - 1, 4) == 19


@pytest.mark.parametrize("memory", [0, 127])
def test_largest_simulable_qubits_when_not_even_one_qubit_fits(memory: int) -> None:
    """Below 2 amplitudes x 8 bytes x overhead 8 = 128 bytes, not even one qubit fits.

    (``machine_memory()`` returns 0 when the platform does not say; ``measure_simulation`` then
    treats every size as too large.)
    """
    n = largest_simulable_qubits(memory, 1)
    assert 2**n * AMPLITUDE_BYTES * 1 * 8.0 <= memory or n == 0, n


def test_machine_memory_is_positive() -> None:
    memory = machine_memory()
    assert isinstance(memory, int)
    assert memory > 2**26


# --- the circuits each family runs ------------------------------------------------------------


def _parameter_vectors(circuit: QuantumCircuit) -> set[str]:
    return {getattr(p, "vector", p).name for p in circuit.parameters}


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 7, 8])
@pytest.mark.parametrize("entanglement", ["linear", "ring"])
def test_state_circuit_gate_counts(n: int, entanglement: str) -> None:
    """Amplitude encoding: 2^n - 2 CNOTs, 2^n - 1 RY; PQC: layers x pairs CZs, 2 x layers x n."""
    layers = 3
    config = ScalingConfig(layers=layers, entanglement=entanglement)
    pairs = n - 1 if entanglement == "linear" or n == 2 else n
    hardware = family_circuit("state", n, config, hardware=True)
    engine = family_circuit("state", n, config, hardware=False)
    assert hardware.num_qubits == engine.num_qubits == n
    ops_hw, ops_engine = hardware.count_ops(), engine.count_ops()
    assert ops_hw.get("cx", 0) == 2**n - 2
    assert ops_hw["cz"] == ops_engine["cz"] == layers * pairs
    assert "cx" not in ops_engine
    assert ops_hw["ry"] == (2**n - 1) + layers * n
    assert ops_engine["ry"] == layers * n
    # Two-qubit gates of the logical circuit: 2^n - 2 + layers * pairs.
    two_qubit = sum(1 for inst in hardware.data if inst.operation.num_qubits == 2)
    assert two_qubit == 2**n - 2 + layers * pairs


@pytest.mark.parametrize("n", [2, 3, 5])
def test_state_hardware_circuit_has_amplitude_parameters(n: int) -> None:
    config = ScalingConfig()
    hardware = family_circuit("state", n, config, hardware=True)
    engine = family_circuit("state", n, config, hardware=False)
    amp = [p for p in hardware.parameters if p.name.startswith("amp_")]
    assert len(amp) == 2**n - 1
    assert _parameter_vectors(hardware) == {"amp_y", "tau", "theta"}
    assert _parameter_vectors(engine) == {"tau", "theta"}
    assert not any(p.name.startswith("amp_") for p in engine.parameters)
    # Same PQC weights on both: 2 rotations x layers x n.
    weights = 2 * config.layers * n
    assert sum(p.name.startswith("theta") for p in engine.parameters) == weights
    assert sum(p.name.startswith("theta") for p in hardware.parameters) == weights


@pytest.mark.parametrize("n", [2, 4, 7])
@pytest.mark.parametrize("hardware", [True, False])
def test_angle_circuit(n: int, hardware: bool) -> None:
    config = ScalingConfig(layers=4)
    circuit = family_circuit("angle", n, config, hardware=hardware)
    assert circuit.num_qubits == n
    assert _parameter_vectors(circuit) == {"x", "tau", "theta"}
    assert sum(p.name.startswith("x[") for p in circuit.parameters) == n
    assert circuit.count_ops()["cz"] == 4 * (n - 1)  # linear entanglement
    assert "cx" not in circuit.count_ops()


@pytest.mark.parametrize("n", [2, 3, 6])
@pytest.mark.parametrize("ancillas", [0, 1, 2, 3])
@pytest.mark.parametrize("hardware", [True, False])
def test_reservoir_circuit(n: int, ancillas: int, hardware: bool) -> None:
    config = ScalingConfig(ancillas=ancillas)
    circuit = family_circuit("reservoir", n, config, hardware=hardware)
    assert circuit.num_qubits == n + ancillas
    assert _parameter_vectors(circuit) == {"t_f", "tau_b"}
    # One Trotter step each way, an RXX, RYY and RZZ per bond. Forward: both chains and the
    # input-ancilla bond; backward (coupling 0): the two chains only.
    chains = (n - 1) + max(ancillas - 1, 0)
    bonds = (chains + (1 if ancillas else 0)) + chains
    ops = circuit.count_ops()
    assert ops["rxx"] == ops["ryy"] == ops["rzz"] == bonds
    assert set(ops) == {"rxx", "ryy", "rzz"}


def test_data_dimension_and_reverse_steps() -> None:
    config = ScalingConfig(steps=7)
    assert data_dimension("angle", 5) == 5
    assert data_dimension("state", 5) == 32
    assert data_dimension("reservoir", 5) == 32
    assert reverse_steps("angle", config) == reverse_steps("state", config) == 7
    assert reverse_steps("reservoir", config) == 1


# --- configuration ----------------------------------------------------------------------------


def test_default_config_is_valid() -> None:
    config = ScalingConfig()
    assert config.families == FAMILIES == ("angle", "state", "reservoir")
    assert config.entanglement == "linear"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"families": ("nope",)}, "scaling family must be one of"),
        ({"families": ("angle", "State")}, "'State'"),
        ({"families": ()}, "at least one family"),
        ({"sim_qubits": (2, 0)}, "scaling qubits"),
        ({"sim_qubits": (-3,)}, "scaling qubits"),
        ({"device_qubits": (0,)}, "scaling qubits"),
        ({"device_qubits": (4, -1)}, "scaling qubits"),
        ({"sim_qubits": (1001,)}, "scaling qubits"),
        ({"sim_qubits": (2.5,)}, "scaling qubits"),
        ({"sim_qubits": (True,)}, "scaling qubits"),
        ({"precision": 0}, "scaling.precision"),
        ({"precision": -0.05}, "scaling.precision"),
        ({"precision": float("nan")}, "scaling.precision"),
        ({"precision": float("inf")}, "scaling.precision"),
        ({"precision": "0.05"}, "scaling.precision"),
        ({"entanglement": "full"}, "scaling.entanglement"),
        ({"entanglement": "Linear"}, "scaling.entanglement"),
        ({"layers": 0}, "scaling.layers"),
        ({"steps": 0}, "scaling.steps"),
        ({"batch": 0}, "scaling.batch"),
        ({"samples": -1}, "scaling.samples"),
        ({"repeats": 0}, "scaling.repeats"),
        ({"ancillas": -1}, "scaling.ancillas"),
        ({"optimization_level": 4}, "scaling.optimization_level"),
        ({"seed": -1}, "scaling.seed"),
    ],
)
def test_config_validation(changes: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        ScalingConfig(**changes)


# --- measurements -----------------------------------------------------------------------------


def test_measurements_frame_is_tidy() -> None:
    out = Measurements()
    assert list(out.frame().columns) == ["family", "n", "target", "quantity", "value"]
    assert out.frame().empty
    out.add("angle", 3, "engine", "state_bytes", 64)
    out.add("state", 4, "-", "shots", np.int64(1500))
    frame = out.frame()
    assert list(frame.columns) == ["family", "n", "target", "quantity", "value"]
    assert frame["value"].tolist() == [64.0, 1500.0]
    assert all(isinstance(v, float) for v in (r["value"] for r in out.rows))


def test_measure_shots_rows() -> None:
    config = ScalingConfig(families=("angle", "reservoir"), sim_qubits=(2, 3),
                           device_qubits=(3, 8, 40), precision=0.1)  # fmt: skip
    out = Measurements()
    measure_shots(config, out)
    frame = out.frame()
    assert set(frame["target"]) == {"-"}
    assert set(frame["quantity"]) == {"shots"}
    for family in ("angle", "reservoir"):
        rows = frame[frame["family"] == family].sort_values("n")
        assert rows["n"].tolist() == [2, 3, 8]  # n = 40 has no meaningful shot count
        expected = [math.ceil((2**n - 1) / (4 * 0.1**2)) for n in (2, 3, 8)]
        assert rows["value"].tolist() == expected


@pytest.fixture(scope="module")
def simulated() -> tuple[ScalingConfig, pd.DataFrame, list[str]]:
    config = ScalingConfig(sim_qubits=(2, 3), layers=2, steps=3, batch=2, repeats=1, ancillas=1)
    out = Measurements()
    measure_simulation(config, out)
    measure_classical(config, out)
    return config, out.frame(), out.notes


def test_measure_simulation_values(
    simulated: tuple[ScalingConfig, pd.DataFrame, list[str]],
) -> None:
    config, frame, notes = simulated
    assert notes == []
    engine = frame[frame["target"] == "engine"]
    for family in FAMILIES:
        for n in (2, 3):
            rows = engine[(engine["family"] == family) & (engine["n"] == n)]
            values = dict(zip(rows["quantity"], rows["value"], strict=True))
            qubits = n + (1 if family == "reservoir" else 0)
            assert values["state_bytes"] == 8 * 2**qubits
            weights = 0 if family == "reservoir" else 2 * config.layers * n
            assert values["quantum_parameters"] == weights
            assert np.isfinite(values["sim_seconds"]) and values["sim_seconds"] > 0
            if family == "reservoir":  # no weights, no training step
                assert "train_step_seconds" not in values
            else:
                assert np.isfinite(values["train_step_seconds"])
                assert values["train_step_seconds"] > 0


def test_measure_classical_values(simulated: tuple[ScalingConfig, pd.DataFrame, list[str]]) -> None:
    config, frame, _ = simulated
    cpu = frame[frame["target"] == "cpu"]
    assert set(cpu["quantity"]) == {"ddpm_seconds", "ddpm_flops", "ddpm_parameters"}
    for family in FAMILIES:
        for n in (2, 3):
            rows = cpu[(cpu["family"] == family) & (cpu["n"] == n)]
            values = dict(zip(rows["quantity"], rows["value"], strict=True))
            dim = n if family == "angle" else 2**n
            assert values["ddpm_flops"] == _flops_from_shapes(dim, 128, 3, 16, config.steps)
            # Weights and biases of the same layers.
            weights = (dim + 16) * 128 + 2 * 128 * 128 + 128 * dim
            assert values["ddpm_parameters"] == weights + 3 * 128 + dim
            assert np.isfinite(values["ddpm_seconds"]) and values["ddpm_seconds"] > 0
    # state and reservoir see the same 2^n features: the same DDPM.
    state = cpu[cpu["family"] == "state"].reset_index(drop=True)
    reservoir = cpu[cpu["family"] == "reservoir"].reset_index(drop=True)
    pd.testing.assert_series_equal(state["value"], reservoir["value"])


def test_measure_simulation_skips_what_does_not_fit() -> None:
    config = ScalingConfig(families=("reservoir",), sim_qubits=(2, 60), batch=2, repeats=1)
    out = Measurements()
    measure_simulation(config, out)
    frame = out.frame()
    assert set(frame["n"]) == {2}
    assert len(out.notes) == 1
    assert "reservoir: n = 60 skipped" in out.notes[0]


def test_measure_classical_skips_what_does_not_fit() -> None:
    """Sizes the engine skips as too large must not build a 2^n-input DDPM either.

    Here n = 50: the state family's DDPM would need 2^50 x 128 weights (about 5.8e17 bytes),
    which ``measure_classical`` tries to allocate; it should skip (or note) the size instead.
    """
    config = ScalingConfig(families=("state",), sim_qubits=(2, 50), batch=2, repeats=1, steps=2)
    out = Measurements()
    measure_simulation(config, out)
    assert any("n = 50 skipped" in note for note in out.notes)
    measure_classical(config, out)
    frame = out.frame()
    assert 50 not in set(frame[frame["target"] == "cpu"]["n"])


def test_measure_device_rows_and_qpu_seconds() -> None:
    """On a 5-qubit device: widths beyond it are skipped; QPU seconds follow from the parts."""
    config = ScalingConfig(families=("angle", "reservoir"), device_qubits=(2, 3, 4),
                           targets=("fake:FakeManilaV2",), samples=7, steps=5,
                           precision=0.1, ancillas=2)  # fmt: skip
    out = Measurements()
    measure_device(config, out)
    frame = out.frame()
    assert set(frame["target"]) == {"fake:FakeManilaV2"}
    assert set(frame["quantity"]) == {"depth", "two_qubit_gates", "duration_s", "qpu_seconds"}
    assert sorted(set(frame[frame["family"] == "angle"]["n"])) == [2, 3, 4]
    assert sorted(set(frame[frame["family"] == "reservoir"]["n"])) == [2, 3]  # 4 + 2 > 5
    delay = rep_delay_seconds(resolve_target("fake:FakeManilaV2"))
    for (family, n), rows in frame.groupby(["family", "n"]):
        values = dict(zip(rows["quantity"], rows["value"], strict=True))
        assert values["depth"] >= 1 and values["two_qubit_gates"] >= 1
        assert 0 < values["duration_s"] < 1e-3
        executions = 7 * (1 if family == "reservoir" else 5)
        shots = math.ceil((2**n - 1) / (4 * 0.1**2))
        expected = executions * shots * (values["duration_s"] + delay)
        assert values["qpu_seconds"] == pytest.approx(expected, rel=1e-12)
    assert out.notes == []


def test_measure_device_caps_the_state_family() -> None:
    config = ScalingConfig(families=("state",), device_qubits=(2, MAX_AMPLITUDE_QUBITS + 2))
    out = Measurements()
    measure_device(config, out)
    frame = out.frame()
    assert set(frame["n"]) == {2}
    assert any(f"up to n = {MAX_AMPLITUDE_QUBITS}" in note for note in out.notes)


def test_measure_device_unknown_target() -> None:
    config = ScalingConfig(families=("angle",), device_qubits=(2,), targets=("fake:NoSuchDevice",))
    with pytest.raises(ConfigError, match="NoSuchDevice"):
        measure_device(config, Measurements())
