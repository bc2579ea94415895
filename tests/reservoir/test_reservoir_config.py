"""Validation of reservoir experiment configs: sections, fields, values, files."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.reservoir import (
    EngineConfig,
    InputsConfig,
    ReservoirConfig,
    ReservoirRunConfig,
    load_reservoir_config,
    reservoir_config_from_dict,
)
from qdm_qiskit.reservoir.config import TALK_SETTING

# --- defaults -------------------------------------------------------------------------------


def test_talk_setting_is_the_default_of_every_section():
    # seed 000's talk: t_f = 15, Delta = 1, tau_b = 0.1, lambda = 0.7
    res = TALK_SETTING.reservoir
    assert (res.t_f, res.delta, res.tau_b, res.coupling) == (15.0, 1.0, 0.1, 0.7)
    assert res.backward == "inputs"
    assert res.reading == "duration"
    assert ReservoirRunConfig() == TALK_SETTING
    assert TALK_SETTING.engine.name == "exact"
    assert TALK_SETTING.num_qubits == TALK_SETTING.inputs.num_qubits + res.num_ancillas


def test_empty_mapping_gives_the_defaults():
    assert reservoir_config_from_dict({}) == ReservoirRunConfig()


# --- unknown sections and fields ------------------------------------------------------------


def test_unknown_section_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match="unknown section 'reservior'") as info:
        reservoir_config_from_dict({"reservior": {"coupling": 0.5}})
    assert "did you mean 'reservoir'" in str(info.value)


@pytest.mark.parametrize(
    ("section", "key", "suggestion"),
    [
        ("reservoir", "couplng", "coupling"),
        ("reservoir", "tau", "tau_b"),
        ("inputs", "num_qubit", "num_qubits"),
        ("engine", "trotter_step", "trotter_steps"),
    ],
)
def test_unknown_field_is_refused_with_a_suggestion(section, key, suggestion):
    with pytest.raises(ConfigError, match=f"unknown option '{key}'") as info:
        reservoir_config_from_dict({section: {key: 1}})
    message = str(info.value)
    assert f"did you mean '{suggestion}'" in message
    assert f"[{section}]" in message


def test_a_section_that_is_not_a_table_is_refused():
    with pytest.raises(ConfigError, match=r"\[engine\]"):
        reservoir_config_from_dict({"engine": "exact"})
    with pytest.raises(ConfigError):
        reservoir_config_from_dict(["inputs"])


# --- bad values -----------------------------------------------------------------------------

BAD_RESERVOIR = [
    ("num_ancillas", -1),
    ("num_ancillas", 13),
    ("num_ancillas", 1.5),
    ("num_ancillas", True),
    ("delta", math.nan),
    ("delta", math.inf),
    ("delta", "1"),
    ("coupling", math.inf),
    ("coupling", None),
    ("t_f", -1.0),
    ("t_f", math.nan),
    ("tau_b", -0.1),
    ("tau_b", True),
    ("backward", "none"),
    ("reading", "steps"),
    ("ancilla_state", "minus"),
    ("boundary", "closed"),
]


@pytest.mark.parametrize(("name", "value"), BAD_RESERVOIR)
def test_bad_reservoir_values_are_refused(name, value):
    with pytest.raises(ConfigError, match=re.escape(f"reservoir.{name}")):
        reservoir_config_from_dict({"reservoir": {name: value}})


BAD_INPUTS = [
    ("source", "qcd"),
    ("features", "pixels"),
    ("encoding", "basis"),
    ("label", "top"),
    ("num_qubits", 0),
    ("num_qubits", 13),
    ("count", 0),
    ("scale", 0.0),
    ("scale", -1.0),
    ("seed", -1),
    ("seed", 2**32),
    ("path", ""),
    ("observables", ["girth", "not_an_observable"]),
]


@pytest.mark.parametrize(("name", "value"), BAD_INPUTS)
def test_bad_inputs_values_are_refused(name, value):
    with pytest.raises(ConfigError, match=re.escape(f"inputs.{name}")):
        reservoir_config_from_dict({"inputs": {name: value}})


BAD_ENGINE = [
    ("trotter_steps", 0),
    ("trotter_steps", 2.0),
    ("order", 3),
    ("order", True),
    ("shots", 0),
    ("mitigation", "magic"),
    ("seed", -1),
]


@pytest.mark.parametrize(("name", "value"), BAD_ENGINE)
def test_bad_engine_values_are_refused(name, value):
    with pytest.raises(ConfigError, match=re.escape(f"engine.{name}")):
        reservoir_config_from_dict({"engine": {name: value}})


# --- encodings ------------------------------------------------------------------------------


def test_amplitude_encoded_observables_are_refused():
    with pytest.raises(ConfigError, match="angle-encoded"):
        InputsConfig(source="jets", features="observables", encoding="amplitude", num_qubits=3)


@pytest.mark.parametrize("num_qubits", [1, 3])
def test_images_on_an_odd_number_of_qubits_are_refused(num_qubits):
    with pytest.raises(ConfigError, match="even number of qubits"):
        InputsConfig(source="jets", features="image", encoding="amplitude", num_qubits=num_qubits)


def test_images_must_be_amplitude_encoded():
    with pytest.raises(ConfigError, match="amplitude-encoded"):
        InputsConfig(source="jets", features="image", encoding="angle", num_qubits=4)


def test_images_on_an_even_number_of_qubits_are_accepted():
    config = InputsConfig(source="jets", features="image", encoding="amplitude", num_qubits=2)
    assert config.num_qubits == 2


def test_jet_observables_need_one_name_per_qubit():
    with pytest.raises(ConfigError, match="3 qubits need 3 observables"):
        InputsConfig(source="jets", num_qubits=3, observables=("ptd", "girth"))
    config = InputsConfig(source="jets", num_qubits=2, observables=("mass", "pt"))
    assert config.observable_names == ("mass", "pt")


def test_default_observable_names():
    assert len(InputsConfig(source="jets", num_qubits=3).observable_names) == 3
    assert len(InputsConfig(source="jets", num_qubits=5).observable_names) == 5
    # histograms: one state per observable, four by default whatever the number of qubits
    assert len(InputsConfig(source="histogram", num_qubits=3).observable_names) == 4


def test_encoding_rules_only_apply_to_jets():
    # a histogram on 3 qubits is amplitude-encoded whatever the jets-only fields say
    config = InputsConfig(source="histogram", num_qubits=3, features="image", encoding="angle")
    assert config.source == "histogram"


# --- engines --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "is_target"),
    [
        ("exact", False),
        ("trotter", False),
        ("aer", True),
        ("aer:FakeManilaV2", True),
        ("fake:FakeManilaV2", True),
        ("ibm:ibm_fez", True),
    ],
)
def test_engine_names(name, is_target):
    assert EngineConfig(name=name).is_target is is_target


@pytest.mark.parametrize("name", ["exakt", "torch", "gpu", "ibm:", "fake:", ""])
def test_engine_name_that_is_neither_local_nor_a_target_is_refused(name):
    with pytest.raises(ConfigError, match=r"engine\.name"):
        EngineConfig(name=name)


def test_engine_name_must_be_a_string():
    with pytest.raises(ConfigError, match=r"engine\.name"):
        EngineConfig(name=3)  # type: ignore[arg-type]


# --- readings -------------------------------------------------------------------------------


def test_time_step_reading_needs_a_positive_tau_b():
    with pytest.raises(ConfigError, match="tau_b"):
        ReservoirConfig(reading="time_step", tau_b=0.0)
    # the duration reading allows no backward evolution at all
    assert ReservoirConfig(reading="duration", tau_b=0.0).backward_time == 0.0


def test_time_step_reading_refuses_too_many_steps():
    with pytest.raises(ConfigError, match="steps"):
        ReservoirConfig(reading="time_step", t_f=15.0, tau_b=1e-5)


@pytest.mark.parametrize(
    ("t_f", "tau_b", "steps"),
    [(15.0, 0.1, 150), (1.0, 0.3, 3), (1.0, 0.28, 4), (1.0, 5.0, 1), (2.0, 2.0, 1)],
)
def test_backward_steps_is_t_f_over_tau_b_rounded(t_f, tau_b, steps):
    config = ReservoirConfig(reading="time_step", t_f=t_f, tau_b=tau_b)
    assert config.backward_steps == steps
    assert config.backward_time == t_f


def test_backward_time_and_coupling():
    duration = ReservoirConfig(t_f=3.0, tau_b=0.5, coupling=0.4)
    assert duration.backward_time == 0.5
    assert duration.backward_coupling == 0.0
    full = replace(duration, backward="full")
    assert full.backward_coupling == 0.4
    assert replace(full, reading="time_step").backward_time == 3.0


# --- files ----------------------------------------------------------------------------------

TOML = """
[inputs]
source = "jets"
features = "observables"
observables = ["girth", "ptd", "mass"]
num_qubits = 3
count = 12
label = "quark"
seed = 4

[reservoir]
num_ancillas = 1
delta = 0.5
coupling = 0.3
t_f = 2.0
tau_b = 0.25
backward = "full"
reading = "time_step"
ancilla_state = "neel"
boundary = "periodic"

[engine]
name = "trotter"
trotter_steps = 12
order = 1
"""


def test_load_from_toml(tmp_path):
    path = tmp_path / "reservoir.toml"
    path.write_text(TOML)
    config = load_reservoir_config(path)
    assert config.inputs == InputsConfig(
        source="jets",
        features="observables",
        observables=("girth", "ptd", "mass"),
        num_qubits=3,
        count=12,
        label="quark",
        seed=4,
    )
    assert config.reservoir == ReservoirConfig(
        num_ancillas=1,
        delta=0.5,
        coupling=0.3,
        t_f=2.0,
        tau_b=0.25,
        backward="full",
        reading="time_step",
        ancilla_state="neel",
        boundary="periodic",
    )
    assert config.engine == EngineConfig(name="trotter", trotter_steps=12, order=1)
    assert config.reservoir.backward_steps == 8
    assert config.num_qubits == 4


def test_json_round_trip_of_to_dict(tmp_path):
    path = tmp_path / "reservoir.toml"
    path.write_text(TOML)
    config = load_reservoir_config(path)
    as_json = tmp_path / "again.json"
    as_json.write_text(json.dumps(config.to_dict()))
    assert load_reservoir_config(as_json) == config
    assert set(config.to_dict()) == {"inputs", "reservoir", "engine"}


def test_load_names_the_file_in_errors(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[reservoir]\ncoupling = 'strong'\n")
    with pytest.raises(ConfigError, match=r"bad\.toml") as info:
        load_reservoir_config(path)
    assert "reservoir.coupling" in str(info.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [("broken.toml", "[reservoir\ncoupling = 0.1\n"), ("config.yaml", "reservoir: {}\n")],
)
def test_unreadable_files_are_refused(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_reservoir_config(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        load_reservoir_config(Path(tmp_path) / "missing.toml")


def test_with_seed_changes_both_seeds_only():
    config = ReservoirRunConfig(
        inputs=InputsConfig(source="gaussian", count=3, seed=1),
        engine=EngineConfig(name="aer", seed=2, shots=100),
    )
    seeded = config.with_seed(9)
    assert seeded.inputs.seed == 9
    assert seeded.engine.seed == 9
    assert replace(seeded.inputs, seed=1) == config.inputs
    assert replace(seeded.engine, seed=2) == config.engine
    assert seeded.reservoir == config.reservoir
    with pytest.raises(ConfigError, match="seed"):
        config.with_seed(-3)
