"""Experiment files (TOML/JSON), their validation, and the tasks they turn into."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from qdm_qiskit.circuits import TranspileOptions, angle_encoding
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.experiment import (
    DEFAULT_PRECISION,
    DEFAULT_SHOTS,
    CircuitTask,
    experiment_tasks,
    load_experiment,
    parse_experiment,
    parse_observables,
)

ANGLE = {"name": "enc", "builder": "angle_encoding", "arguments": {"num_qubits": 2}}
HEA = {
    "name": "hea",
    "builder": "hardware_efficient_ansatz",
    "arguments": {"num_qubits": 3, "layers": 1},
}


def config(**top):
    circuits = top.pop("circuits", [dict(ANGLE)])
    return parse_experiment({"circuits": circuits, **top})


# --- files -------------------------------------------------------------------------------------


def test_load_toml_with_defaults(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(
        textwrap.dedent(
            """
            [[circuits]]
            name = "enc"
            builder = "angle_encoding"
            arguments = { num_qubits = 2 }
            """
        )
    )
    cfg = load_experiment(path)
    assert cfg.name == "experiment"
    assert cfg.primitive == "sampler"
    assert (cfg.seed, cfg.shots, cfg.precision) == (0, DEFAULT_SHOTS, DEFAULT_PRECISION)
    assert (cfg.shots, cfg.precision) == (1024, 1 / 64)
    assert cfg.target is None and cfg.mitigation == "none" and cfg.chunk_size == 1024
    assert cfg.transpile == TranspileOptions()
    assert cfg.base_dir == str(tmp_path)
    (circuit,) = cfg.circuits
    assert (circuit.name, circuit.builder, dict(circuit.arguments)) == (
        "enc",
        "angle_encoding",
        {"num_qubits": 2},
    )
    assert circuit.bindings is None and circuit.values is None and circuit.observables == ()


def test_load_toml_and_json_agree(tmp_path):
    data = {
        "name": "demo",
        "primitive": "estimator",
        "seed": 7,
        "precision": 0.05,
        "target": "fake:FakeManilaV2",
        "mitigation": "zne",
        "chunk_size": 16,
        "transpile": {"optimization_level": 1, "seed_transpiler": 4},
        "circuits": [{**HEA, "bindings": 5, "observables": ["ZZI", "IXX"]}],
    }
    json_path = tmp_path / "exp.json"
    json_path.write_text(json.dumps(data))
    toml_path = tmp_path / "exp.toml"
    toml_path.write_text(
        textwrap.dedent(
            """
            name = "demo"
            primitive = "estimator"
            seed = 7
            precision = 0.05
            target = "fake:FakeManilaV2"
            mitigation = "zne"
            chunk_size = 16

            [transpile]
            optimization_level = 1
            seed_transpiler = 4

            [[circuits]]
            name = "hea"
            builder = "hardware_efficient_ansatz"
            arguments = { num_qubits = 3, layers = 1 }
            bindings = 5
            observables = ["ZZI", "IXX"]
            """
        )
    )
    from_json, from_toml = load_experiment(json_path), load_experiment(toml_path)
    assert from_json == from_toml
    assert from_json.transpile == TranspileOptions(optimization_level=1, seed_transpiler=4)
    assert (from_json.primitive, from_json.seed, from_json.mitigation) == ("estimator", 7, "zne")
    assert from_json.circuits[0].bindings == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('shot = 10\n[[circuits]]\nname = "a"\nbuilder = "angle_encoding"\n',
         r"unknown option 'shot' \(did you mean 'shots'\?\)"),
        ('[[circuits]]\nname = "a"\nbuilder = "angle_encoding"\nbinding = 3\n',
         r"circuits\[0\]: unknown option 'binding' \(did you mean 'bindings'\?\)"),
        ('[transpile]\noptimisation_level = 1\n'
         '[[circuits]]\nname = "a"\nbuilder = "angle_encoding"\n',
         r"transpile: unknown option 'optimisation_level'"),
        ('base_dir = "/"\n[[circuits]]\nname = "a"\nbuilder = "angle_encoding"\n',
         "'base_dir' is set from the file's location"),
        ("name = \n", "not a readable toml file"),
        ('name = "x"\n', r"at least one \[\[circuits\]\]"),
    ],
    ids=["typo-top", "typo-circuit", "typo-transpile", "base_dir", "bad-toml", "no-circuits"],
)  # fmt: skip
def test_load_rejects_bad_files_naming_the_field(tmp_path, text, message):
    path = tmp_path / "exp.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_experiment(path)
    assert str(path) in str(info.value)


def test_load_rejects_missing_file_and_other_suffixes(tmp_path):
    with pytest.raises(ConfigError, match="no such experiment file"):
        load_experiment(tmp_path / "missing.toml")
    other = tmp_path / "exp.yaml"
    other.write_text("name: x\n")
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        load_experiment(other)
    broken = tmp_path / "exp.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="not a readable json file"):
        load_experiment(broken)


def test_load_json_whose_top_level_is_not_a_table(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="top level"):
        load_experiment(path)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "message"),
    [
        ({"primitive": "sampler2"}, "primitive must be one of sampler, estimator"),
        ({"mitigation": "trex"}, "mitigation must be one of none, readout, zne, full"),
        ({"precision": 0.0}, r"precision must be a number in \(0, 1\]"),
        ({"precision": 1.5}, "precision"),
        ({"precision": "0.1"}, "precision"),
        ({"precision": True}, "precision"),
        ({"chunk_size": 0}, "chunk_size must be a positive integer"),
        ({"chunk_size": 2.0}, "chunk_size"),
        ({"chunk_size": True}, "chunk_size"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"seed": 1.5}, "seed"),
        ({"shots": 0}, "shots must be an integer >= 1"),
        ({"shots": False}, "shots"),
        ({"circuits": []}, "at least one"),
        ({"circuits": {"name": "a"}}, "list of tables"),
    ],
)
def test_parse_rejects_bad_top_level_values(top, message):
    with pytest.raises(ConfigError, match=message):
        config(**top)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**ANGLE, "bindings": 4, "values": "v.npy"}, "either bindings or values"),
        ({**ANGLE, "bindings": 0}, "bindings must be an integer"),
        ({**ANGLE, "bindings": 2.5}, "bindings must be an integer"),
        ({**ANGLE, "bindings": True}, "bindings must be an integer"),
        ({**ANGLE, "values": 3}, "values must be a path"),
        ({**ANGLE, "builder": "angle_encodin"}, "did you mean 'angle_encoding'"),
        ({**ANGLE, "name": "has space"}, "circuit name 'has space'"),
        ({**ANGLE, "arguments": [1, 2]}, "arguments must be a table"),
    ],
)
def test_parse_rejects_bad_circuit_entries(entry, message):
    with pytest.raises(ConfigError, match=message):
        config(circuits=[entry])


def test_duplicate_circuit_names_are_rejected():
    with pytest.raises(ConfigError, match="unique: enc"):
        config(circuits=[dict(ANGLE), dict(ANGLE)])


def test_json_source_is_named_in_errors(tmp_path):
    path = tmp_path / "exp.json"
    path.write_text(json.dumps({"circuits": [ANGLE], "shot": 3}))
    with pytest.raises(ConfigError, match=r"exp\.json.*did you mean 'shots'"):
        load_experiment(path)


# --- tasks -------------------------------------------------------------------------------------


def test_tasks_are_seeded_and_reproducible():
    entries = [{**ANGLE, "bindings": 6}, {**HEA, "bindings": 3}]
    first = experiment_tasks(config(circuits=entries, seed=11))
    again = experiment_tasks(config(circuits=entries, seed=11))
    other = experiment_tasks(config(circuits=entries, seed=12))
    assert [t.name for t in first] == ["enc", "hea"]
    assert [t.parameter_values.shape for t in first] == [(6, 2), (3, 6)]
    for a, b, c in zip(first, again, other, strict=True):
        np.testing.assert_array_equal(a.parameter_values, b.parameter_values)
        assert not np.allclose(a.parameter_values, c.parameter_values)
        assert np.all(a.parameter_values >= -np.pi) and np.all(a.parameter_values < np.pi)
    # the two circuits do not share draws
    assert not np.allclose(first[0].parameter_values[:3, :2], first[1].parameter_values[:, :2])


def test_default_is_one_binding():
    (task,) = experiment_tasks(config())
    assert task.parameter_values.shape == (1, 2)
    assert task.num_bindings == 1


def test_sampler_measures_circuits_without_clbits():
    (task,) = experiment_tasks(config())
    expected = angle_encoding(num_qubits=2)
    assert expected.num_clbits == 0
    assert task.circuit.num_clbits == 2
    assert task.circuit.count_ops().get("measure") == 2
    assert task.circuit.name == "enc"
    assert task.observables == ()


def test_sampler_keeps_existing_measurements():
    entry = {
        "name": "den",
        "builder": "denoising_circuit",
        "arguments": {"num_data_qubits": 2, "num_ancillas": 1, "layers": 1},
    }
    (task,) = experiment_tasks(config(circuits=[entry]))
    assert task.circuit.num_clbits == 1  # the ancilla's own register, no measure_all
    assert [r.name for r in task.circuit.cregs] != ["meas"]


def test_estimator_default_observables_are_single_qubit_z():
    (task,) = experiment_tasks(config(primitive="estimator", circuits=[dict(HEA)]))
    assert task.circuit.num_clbits == 0
    assert [name for name, _ in task.observables] == ["Z0", "Z1", "Z2"]
    expected = [SparsePauliOp("IIZ"), SparsePauliOp("IZI"), SparsePauliOp("ZII")]
    for (_, observable), wanted in zip(task.observables, expected, strict=True):
        assert observable.equiv(wanted)


def test_estimator_labels_and_tables():
    observables = [
        "XYZ",
        {"name": "zz01", "terms": [["ZZ", [0, 1], 0.5], ["X", [2], -1.0]]},
    ]
    (task,) = experiment_tasks(
        config(primitive="estimator", circuits=[{**HEA, "observables": observables}])
    )
    names = [name for name, _ in task.observables]
    assert names == ["XYZ", "zz01"]
    assert task.observables[0][1].equiv(SparsePauliOp("XYZ"))
    assert task.observables[1][1].equiv(SparsePauliOp(["IZZ", "XII"], [0.5, -1.0]))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["ZZ"], "'ZZ' has 2 letters for 3 qubits"),
        ([{"name": "a"}], "table with 'name' and 'terms'"),
        ([{"name": "a", "terms": [["Z", [0]]]}], r"observables\[0\]"),
        ([5], "expected a Pauli label"),
        (["ZZZ", {"name": "ZZZ", "terms": [["Z", [0], 1]]}], "names must be unique"),
        (["ZQZ"], r"observables\[0\]"),
        ([{"name": "far", "terms": [["Z", [7], 1.0]]}], r"observables\[0\]"),
    ],
    ids=["length", "no-terms", "short-term", "number", "duplicate", "bad-letter", "bad-index"],
)
def test_bad_observables_are_config_errors(entries, message):
    with pytest.raises(ConfigError, match=message):
        parse_observables(entries, 3, where="circuit 'hea'")


def test_wrong_label_length_in_an_experiment():
    cfg = config(primitive="estimator", circuits=[{**HEA, "observables": ["ZZ"]}])
    with pytest.raises(ConfigError, match=r"circuit 'hea'.*2 letters for 3 qubits"):
        experiment_tasks(cfg)


def test_observables_need_the_estimator():
    cfg = config(circuits=[{**HEA, "observables": ["ZZZ"]}])
    with pytest.raises(ConfigError, match="observables need primitive = 'estimator'"):
        experiment_tasks(cfg)


def test_builder_argument_errors_name_the_circuit():
    cfg = config(circuits=[{**ANGLE, "arguments": {"num_qubit": 2}}])
    with pytest.raises(ConfigError, match=r"circuit 'enc'.*did you mean 'num_qubits'"):
        experiment_tasks(cfg)


# --- values files ------------------------------------------------------------------------------


def write_experiment(tmp_path, values_name: str) -> object:
    path = tmp_path / "exp.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [[circuits]]
            name = "enc"
            builder = "angle_encoding"
            arguments = {{ num_qubits = 2 }}
            values = "{values_name}"
            """
        )
    )
    return path


def test_values_are_loaded_relative_to_the_file(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    values = np.arange(10.0).reshape(5, 2) / 10
    np.save(tmp_path / "data" / "v.npy", values)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (task,) = experiment_tasks(load_experiment(write_experiment(tmp_path, "data/v.npy")))
    np.testing.assert_array_equal(task.parameter_values, values)


def test_one_row_of_values_may_be_one_dimensional(tmp_path):
    np.save(tmp_path / "v.npy", np.array([0.1, 0.2]))
    (task,) = experiment_tasks(load_experiment(write_experiment(tmp_path, "v.npy")))
    np.testing.assert_array_equal(task.parameter_values, [[0.1, 0.2]])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.zeros((4, 3)), r"shape \(N, 2\), got \(4, 3\)"),
        (np.array([[0.1, np.nan]]), "NaN or inf"),
        (np.array([[0.1, np.inf], [0.0, 0.0]]), "NaN or inf"),
        (np.zeros((2, 2, 2)), r"shape \(N, 2\)"),
    ],
)
def test_bad_values_files(tmp_path, values, message):
    np.save(tmp_path / "v.npy", values)
    with pytest.raises(ConfigError, match=message):
        experiment_tasks(load_experiment(write_experiment(tmp_path, "v.npy")))


def test_unreadable_values_file(tmp_path):
    (tmp_path / "v.npy").write_text("not numpy")
    with pytest.raises(ConfigError, match="cannot read values"):
        experiment_tasks(load_experiment(write_experiment(tmp_path, "v.npy")))
    with pytest.raises(ConfigError, match="cannot read values"):
        experiment_tasks(load_experiment(write_experiment(tmp_path, "missing.npy")))


# --- CircuitTask -------------------------------------------------------------------------------


def two_parameter_circuit() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.ry(Parameter("a"), 0)
    qc.rx(Parameter("b"), 1)
    return qc


def test_task_promotes_one_row_and_freezes_values():
    task = CircuitTask("t", two_parameter_circuit(), [0.5, -0.5])
    assert task.parameter_values.shape == (1, 2)
    assert task.num_bindings == 1
    assert task.parameter_values.dtype == np.float64
    with pytest.raises(ValueError, match="read-only"):
        task.parameter_values[0, 0] = 1.0


def test_task_does_not_freeze_or_alias_the_callers_array():
    values = np.zeros((3, 2))
    task = CircuitTask("t", two_parameter_circuit(), values)
    values[0, 0] = 1.0  # the caller keeps using its own buffer
    assert task.parameter_values[0, 0] == 0.0


def test_task_without_parameters():
    qc = QuantumCircuit(1)
    qc.h(0)
    task = CircuitTask("h", qc, np.zeros((1, 0)))
    assert task.parameter_values.shape == (1, 0)
    assert CircuitTask("h", qc, np.zeros(0)).parameter_values.shape == (1, 0)


@pytest.mark.parametrize(
    ("values", "observables", "message"),
    [
        (np.zeros((3, 3)), (), r"shape \(N, 2\), got \(3, 3\)"),
        (np.zeros(3), (), r"got \(3,\)"),
        (np.zeros((0, 2)), (), "at least one parameter set"),
        (np.array([[0.0, np.nan]]), (), "NaN"),
        (np.zeros((1, 2)), (("z", SparsePauliOp("ZZZ")),), "'z' has 3 qubits, the circuit 2"),
    ],
)
def test_task_validation(values, observables, message):
    with pytest.raises(ConfigError, match=message):
        CircuitTask("t", two_parameter_circuit(), values, observables)


@pytest.mark.parametrize("name", ["", "a b", "-x", 3])
def test_task_names(name):
    with pytest.raises(ConfigError, match="task name"):
        CircuitTask(name, two_parameter_circuit(), np.zeros((1, 2)))
