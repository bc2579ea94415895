"""QPY + JSON store, the builder registry and build configs."""

from __future__ import annotations

import json

import pytest
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qdm_qiskit.circuits import (
    BUILDERS,
    build_circuit,
    denoising_circuit,
    load_circuit,
    save_circuit,
    structure_hash,
    transpile_isa,
)
from qdm_qiskit.circuits.config import load_build_config, parse_build_config
from qdm_qiskit.errors import ConfigError, DataError

MINIMAL_ARGUMENTS = {
    "angle_encoding": {"num_qubits": 2},
    "amplitude_encoding": {"num_qubits": 2},
    "label_encoding": {"num_qubits": 1},
    "hardware_efficient_ansatz": {"num_qubits": 2, "layers": 1},
    "strongly_entangling_ansatz": {"num_qubits": 2, "layers": 1},
    "denoising_circuit": {"num_data_qubits": 2, "layers": 1},
    "reuploading_denoiser": {"num_qubits": 2, "chunks": 2, "layers": 1},
    "depolarizing_circuit": {"num_qubits": 1, "schedule": {"steps": 3}, "step": 2},
    "amplitude_damping_circuit": {"num_qubits": 1, "schedule": {"steps": 3}, "step": 2},
    "scrambling_layer": {"num_qubits": 2},
    "scrambling_circuit": {"num_qubits": 2, "schedule": {"kind": "cosine"}, "step": 3, "seed": 1},
    "reservoir_circuit": {"num_inputs": 2, "num_ancillas": 1},
}


def test_every_builder_is_buildable_from_a_config_table():
    assert set(MINIMAL_ARGUMENTS) == set(BUILDERS)
    for name, arguments in MINIMAL_ARGUMENTS.items():
        circuit = build_circuit(name, arguments)
        assert circuit.metadata["builder"] == name


@pytest.mark.parametrize(
    ("builder", "arguments", "message"),
    [
        ("denoiser", {}, "unknown builder 'denoiser' (did you mean 'denoising_circuit'?)"),
        ("denoising_circuit", {"num_data_qubits": 2, "layer": 1}, "did you mean 'layers'?"),
        ("denoising_circuit", {"num_data_qubits": 2}, "missing argument(s) layers"),
        ("denoising_circuit", {"num_data_qubits": -2, "layers": 1}, "num_data_qubits must be"),
        ("depolarizing_circuit", {"num_qubits": 1, "schedule": {"start": 1.5}, "step": 1},
         "schedule start must lie in [0, 1]"),
        ("depolarizing_circuit", {"num_qubits": 1, "schedule": {"steps": 2}, "step": 5},
         "diffusion step must lie in [0, 2]"),
        ("reservoir_circuit", {"num_inputs": 2, "num_ancillas": 1, "order": 3}, "order must be"),
    ],
)  # fmt: skip
def test_registry_reports_bad_arguments_by_name(builder, arguments, message):
    with pytest.raises(ConfigError) as info:
        build_circuit(builder, arguments)
    assert message in str(info.value)


def test_save_and_load_round_trip(tmp_path):
    circuit = denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=2, encoding="angle")
    path = save_circuit(circuit, tmp_path / "model.v1", extra={"note": "x"})
    assert path.name == "model.v1.qpy" and (tmp_path / "model.v1.json").exists()
    loaded, record = load_circuit(path)
    assert structure_hash(loaded) == structure_hash(circuit)
    assert [p.name for p in loaded.parameters] == [p.name for p in circuit.parameters]
    assert loaded.metadata["parameter_roles"] == circuit.metadata["parameter_roles"]
    assert record["builder"] == "denoising_circuit" and record["note"] == "x"
    assert record["num_weights"] == circuit.metadata["num_weights"]
    assert record["versions"]["qiskit"]


def test_isa_layout_survives_the_store(tmp_path):
    isa = transpile_isa(denoising_circuit(num_data_qubits=3, layers=1), target=FakeManilaV2())
    loaded, _ = load_circuit(save_circuit(isa, tmp_path / "isa"))
    assert loaded.layout.final_index_layout() == isa.layout.final_index_layout()


def test_tampered_or_incomplete_files_are_refused(tmp_path):
    path = save_circuit(denoising_circuit(num_data_qubits=2, layers=1), tmp_path / "c")
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"does not match c\.json"):
        load_circuit(path)
    (tmp_path / "c.json").unlink()
    with pytest.raises(DataError, match=r"c\.json: no such file"):
        load_circuit(path)
    (tmp_path / "d.json").write_text("{not json")
    (tmp_path / "d.qpy").write_bytes(b"")
    with pytest.raises(DataError, match="not a readable circuit record"):
        load_circuit(tmp_path / "d.qpy")


def _config(**overrides):
    base = {"circuits": [{"name": "a", "builder": "angle_encoding",
                          "arguments": {"num_qubits": 2}}]}  # fmt: skip
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_config(circuits=[]), "at least one [[circuits]]"),
        (_config(extra=1), "unknown section 'extra'"),
        (_config(target=3), "target must be a string"),
        (_config(transpile={"optimisation_level": 1}), "did you mean 'optimization_level'"),
        (_config(transpile={"optimization_level": 7}), "optimization_level must be"),
        (_config(circuits=[{"name": "a b", "builder": "angle_encoding"}]), "must be letters"),
        (_config(circuits=[{"name": "a", "builder": "angles"}]), "unknown builder 'angles'"),
        (_config(circuits=[{"name": "a", "builder": "angle_encoding", "args": {}}]),
         "did you mean 'arguments'"),
        (_config(circuits=[{"name": "a", "builder": "angle_encoding"}] * 2), "must be unique: a"),
    ],
)  # fmt: skip
def test_parse_build_config_rejects_malformed_configs(data, message):
    with pytest.raises(ConfigError) as info:
        parse_build_config(data, source="c.toml")
    assert message in str(info.value) and str(info.value).startswith("c.toml")


def test_load_build_config_reads_toml_and_json(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('target = "aer"\n[[circuits]]\nname = "a"\nbuilder = "angle_encoding"\n'
                    "[circuits.arguments]\nnum_qubits = 2\n")  # fmt: skip
    as_json = tmp_path / "c.json"
    as_json.write_text(json.dumps(_config(target="aer")))
    assert load_build_config(toml) == load_build_config(as_json)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[circuits]\nname = ")
    with pytest.raises(ConfigError, match=r"bad\.toml: not a readable toml file"):
        load_build_config(bad)
    with pytest.raises(ConfigError, match="no such config file"):
        load_build_config(tmp_path / "missing.toml")
