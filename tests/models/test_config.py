"""Run configs: sections, unknown fields, size consistency, ranges, TOML/JSON, round trips."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models import (
    QUICK_RUN,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    load_run_config,
    run_config_from_dict,
)

TOML = """
[data]
npix = 4
max_jets = 250
label = "quark"
split_seed = 3

[model]
family = "angle"
num_qubits = 2
layers = 2
steps = 3
schedule = "cosine"
entangler = "cx"
prediction = "noise"

[train]
epochs = 2
batch_size = 16
learning_rate = 0.01
lr_schedule = "constant"
patience = 1
seed = 9
dtype = "complex128"
"""


def test_defaults_are_consistent() -> None:
    config = RunConfig()
    assert config.model.family == "state"
    assert config.data.npix**2 == 2**config.model.num_qubits
    assert QUICK_RUN.model.family == "angle"
    assert QUICK_RUN.data.npix**2 % QUICK_RUN.model.num_qubits == 0
    assert (QUICK_RUN.model.schedule, QUICK_RUN.model.prediction) == ("cosine", "v")
    assert QUICK_RUN.model.standardise


def test_empty_mapping_gives_the_defaults() -> None:
    assert run_config_from_dict({}) == RunConfig()


# -- unknown names ---------------------------------------------------------------------------


def test_unknown_section_is_rejected_with_the_known_sections() -> None:
    with pytest.raises(ConfigError, match=r"unknown section 'trian'.*data, model, train"):
        run_config_from_dict({"trian": {"epochs": 2}})


@pytest.mark.parametrize(
    ("section", "key", "suggestion"),
    [
        ("data", "npixx", "npix"),
        ("model", "num_qubit", "num_qubits"),
        ("model", "layer", "layers"),
        ("train", "learning_rte", "learning_rate"),
        ("train", "epoch", "epochs"),
    ],
)
def test_unknown_field_is_rejected_with_a_suggestion(
    section: str, key: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as info:
        run_config_from_dict({section: {key: 1}}, context="cfg.toml")
    message = str(info.value)
    assert f"unknown option {key!r}" in message
    assert f"did you mean {suggestion!r}" in message
    assert f"[{section}]" in message and "cfg.toml" in message
    assert "\n" not in message


@pytest.mark.parametrize("data", [[], "data", 3, None])
def test_top_level_must_be_a_table(data: object) -> None:
    with pytest.raises(ConfigError, match="expected a table"):
        run_config_from_dict(data)


def test_section_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"\[model\].*expected a table"):
        run_config_from_dict({"model": 4})


# -- consistency of sizes --------------------------------------------------------------------


@pytest.mark.parametrize(("npix", "num_qubits"), [(4, 3), (4, 5), (8, 4), (3, 3)])
def test_state_model_needs_npix_squared_equal_to_two_to_the_qubits(
    npix: int, num_qubits: int
) -> None:
    with pytest.raises(ConfigError, match="2\\*\\*num_qubits"):
        RunConfig(
            data=DataConfig(npix=npix), model=ModelConfig(family="state", num_qubits=num_qubits)
        )


@pytest.mark.parametrize(("npix", "num_qubits"), [(2, 2), (4, 4), (8, 6)])
def test_state_model_accepts_matching_sizes(npix: int, num_qubits: int) -> None:
    config = RunConfig(
        data=DataConfig(npix=npix), model=ModelConfig(family="state", num_qubits=num_qubits)
    )
    assert config.data.npix**2 == 2**config.model.num_qubits


@pytest.mark.parametrize(("npix", "num_qubits"), [(2, 5), (3, 10), (2, 16)])
def test_angle_model_refuses_patches_wider_than_the_image(npix: int, num_qubits: int) -> None:
    with pytest.raises(ConfigError, match="more than the"):
        RunConfig(
            data=DataConfig(npix=npix), model=ModelConfig(family="angle", num_qubits=num_qubits)
        )


@pytest.mark.parametrize(
    ("npix", "num_qubits"),
    [(4, 1), (4, 2), (4, 8), (4, 16), (3, 3), (6, 4), (4, 3), (4, 5), (8, 6), (3, 2), (5, 4)],
)
def test_angle_model_accepts_any_patch_width_up_to_the_image(npix: int, num_qubits: int) -> None:
    RunConfig(data=DataConfig(npix=npix), model=ModelConfig(family="angle", num_qubits=num_qubits))


def test_size_mismatch_from_a_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="2\\*\\*num_qubits"):
        run_config_from_dict({"data": {"npix": 8}, "model": {"num_qubits": 4}})


# -- ranges and types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("data", "npix", 1),
        ("data", "npix", 65),
        ("data", "npix", 4.0),
        ("data", "npix", True),
        ("data", "npix", "4"),
        ("data", "label", "top"),
        ("data", "max_jets", -1),
        ("data", "split_seed", -1),
        ("data", "split_seed", 2**32),
        ("data", "source", ""),
        ("model", "family", "quddpm"),
        ("model", "num_qubits", 0),
        ("model", "num_qubits", 17),
        ("model", "layers", 0),
        ("model", "steps", 0),
        ("model", "steps", 1001),
        ("model", "schedule", "exponential"),
        ("model", "beta_start", 0.0),
        ("model", "beta_start", -0.1),
        ("model", "beta_end", 1.0),
        ("model", "beta_end", 2),
        ("model", "beta_end", math.nan),
        ("model", "beta_start", math.inf),
        ("model", "beta_start", True),
        ("model", "entangler", "swap"),
        ("model", "complex_noise", 1),
        ("model", "complex_noise", "yes"),
        ("model", "prediction", "eps"),
        ("model", "context", "global"),
        ("model", "standardise", "yes"),
        ("model", "standardise", 1),
        ("train", "epochs", 0),
        ("train", "epochs", 1.5),
        ("train", "batch_size", 0),
        ("train", "learning_rate", 0),
        ("train", "learning_rate", -0.01),
        ("train", "learning_rate", math.nan),
        ("train", "learning_rate", math.inf),
        ("train", "learning_rate", "0.1"),
        ("train", "lr_schedule", "step"),
        ("train", "patience", -1),
        ("train", "seed", -1),
        ("train", "seed", 2**32),
        ("train", "dtype", "float32"),
    ],
)
def test_out_of_range_values_are_rejected(section: str, key: str, value: object) -> None:
    base = {"data": {"npix": 4}, "model": {"family": "angle", "num_qubits": 4}, "train": {}}
    base[section] = {**base[section], key: value}
    with pytest.raises(ConfigError) as info:
        run_config_from_dict(base)
    assert f"{section}.{key}" in str(info.value) or key in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "build",
    [
        lambda: DataConfig(npix=0),
        lambda: ModelConfig(layers=-2),
        lambda: TrainConfig(batch_size=False),
        lambda: TrainConfig(learning_rate=-1.0),
    ],
)
def test_dataclasses_validate_directly(build) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        build()


def test_boundaries_are_accepted() -> None:
    RunConfig(
        data=DataConfig(npix=2, max_jets=0, split_seed=2**32 - 1),
        model=ModelConfig(family="state", num_qubits=2, layers=1, steps=1, beta_end=0.999),
        train=TrainConfig(epochs=1, batch_size=1, patience=0, seed=2**32 - 1),
    )


# -- files -----------------------------------------------------------------------------------


def test_toml_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(TOML)
    config = load_run_config(path)
    assert config.data == DataConfig(npix=4, max_jets=250, label="quark", split_seed=3)
    assert config.model == ModelConfig(
        family="angle",
        num_qubits=2,
        layers=2,
        steps=3,
        schedule="cosine",
        entangler="cx",
        prediction="noise",
    )
    assert config.train == TrainConfig(
        epochs=2,
        batch_size=16,
        learning_rate=0.01,
        lr_schedule="constant",
        patience=1,
        seed=9,
        dtype="complex128",
    )


def test_json_file_is_loaded_and_equals_the_toml(tmp_path: Path) -> None:
    toml_path = tmp_path / "cfg.toml"
    toml_path.write_text(TOML)
    from_toml = load_run_config(toml_path)
    json_path = tmp_path / "cfg.json"
    json_path.write_text(json.dumps(from_toml.to_dict()))
    assert load_run_config(json_path) == from_toml


def test_partial_file_keeps_the_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text('[model]\nfamily = "angle"\nlayers = 2\n')
    config = load_run_config(path)
    assert config.model == ModelConfig(family="angle", layers=2)
    assert config.data == DataConfig()
    assert config.train == TrainConfig()


def test_unknown_field_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text("[train]\nepoch = 3\n")
    with pytest.raises(ConfigError, match=r"typo\.toml \[train\]: unknown option 'epoch'"):
        load_run_config(path)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("missing.toml", None, "no such config file"),
        ("cfg.yaml", "data: {}", r"\.toml or \.json"),
        ("bad.toml", "[data\nnpix = 4", "not a readable toml file"),
        ("bad.json", "{data: 1", "not a readable json file"),
        ("list.json", "[1, 2]", "expected a table"),
    ],
)
def test_bad_files_are_config_errors(
    tmp_path: Path, name: str, text: str | None, match: str
) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_run_config(path)


# -- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        RunConfig(),
        QUICK_RUN,
        RunConfig(
            data=DataConfig(source="jets.npz", npix=8, label="gluon", max_jets=10, split_seed=4),
            model=ModelConfig(
                family="state",
                num_qubits=6,
                layers=3,
                steps=7,
                schedule="cosine",
                beta_start=0.01,
                beta_end=0.2,
                entangler="cx",
                complex_noise=False,
            ),
            train=TrainConfig(
                epochs=3,
                batch_size=5,
                learning_rate=0.2,
                lr_schedule="constant",
                patience=2,
                seed=11,
                dtype="complex128",
            ),
        ),
    ],
)
def test_to_dict_round_trips(config: RunConfig) -> None:
    data = config.to_dict()
    assert set(data) == {"data", "model", "train"}
    assert run_config_from_dict(data) == config
    # and through JSON text, as stored in checkpoints and info.json
    assert run_config_from_dict(json.loads(json.dumps(data))) == config


def test_with_seed_changes_only_the_seed() -> None:
    seeded = QUICK_RUN.with_seed(42)
    assert seeded.train.seed == 42
    assert seeded == replace(QUICK_RUN, train=replace(QUICK_RUN.train, seed=42))
    assert QUICK_RUN.train.seed == 0
