"""The ``jets`` task: amplitude-encoded jet images generated from Haar noise (issue 16, item 1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.config import DataConfig, load_any_config
from qdm_qiskit.models.data import load_image_data
from qdm_qiskit.models.ensemble import (
    EnsembleDataConfig,
    EnsembleModelConfig,
    EnsembleRunConfig,
    EnsembleTrainConfig,
    build_ensemble_model,
    ensemble_data,
    train_ensemble,
)
from qdm_qiskit.models.ensemble.config import ensemble_config_from_dict
from qdm_qiskit.models.ensemble.distances import mmd
from qdm_qiskit.models.ensemble.jets import evaluate_jets, generated_jets, shot_images
from qdm_qiskit.models.ensemble.tasks import jet_amplitudes, jet_images
from qdm_qiskit.models.ensemble.workflow import train_ensemble_to_directory

#: 4x4 jets on 4 data qubits and 2 ancillas, T = 8: seconds to train. (With 1 ancilla, or in
#: T = 2 steps, the same budget leaves the generated ensemble where the untrained one is.)
JETS = EnsembleRunConfig(
    data=EnsembleDataConfig(task="jets", npix=4, train_size=120, test_size=60, seed=0),
    model=EnsembleModelConfig(num_qubits=4, ancillas=2, layers=4, steps=8),
    train=EnsembleTrainConfig(iterations=30, learning_rate=0.05, seed=1, dtype="complex128"),
)


@pytest.fixture(scope="module")
def trained():
    data = ensemble_data(JETS)
    return train_ensemble(JETS, data=data).model, data


def test_amplitudes_and_images_are_inverse() -> None:
    images = np.random.default_rng(0).random((5, 4, 4))
    images /= images.sum(axis=(1, 2), keepdims=True)
    states = jet_amplitudes(images)
    np.testing.assert_allclose(np.linalg.norm(states, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(jet_images(states, 4), images, atol=1e-12)
    phased = states * np.exp(1j * np.random.default_rng(1).uniform(0, 6, states.shape))
    np.testing.assert_allclose(jet_images(phased, 4), images, atol=1e-12)  # phases are not read


def test_task_states_are_the_split_jets_in_order() -> None:
    data = ensemble_data(JETS)
    jets = load_image_data(DataConfig(npix=4, split_seed=0))
    train = jets.splits.train[:120]
    np.testing.assert_allclose(jet_images(data.train, 4), jets.images[train], atol=1e-12)
    np.testing.assert_array_equal(data.train_labels, jets.labels[train])
    np.testing.assert_allclose(jet_images(data.test, 4), jets.images[jets.splits.test[:60]],
                               atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(data.diffused[0].numpy(), data.train)
    assert len(data.diffused) == JETS.model.steps + 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": {"num_qubits": 3}}, "needs 2\\*\\*num_qubits = 16; got num_qubits = 3"),
        ({"data": {"task": "cluster", "npix": 8}}, "apply to the jets task only"),
        ({"data": {"task": "circle", "source": "pythia"}}, "apply to the jets task only"),
        ({"data": {"scale": 0.2}}, "applies to the cluster task only"),
        ({"data": {"npix": 1}}, "data.npix"),
    ],
)
def test_inconsistent_jet_configs_are_refused(change: dict, message: str) -> None:
    base = {"data": {"task": "jets", "npix": 4}, "model": {"family": "ensemble", "num_qubits": 4}}
    for section, fields in change.items():
        base[section] = {**base[section], **fields}
    with pytest.raises(ConfigError, match=message) as info:
        ensemble_config_from_dict(base)
    assert "\n" not in str(info.value)


def test_more_jets_than_the_split_holds_is_refused() -> None:
    config = EnsembleRunConfig(
        data=EnsembleDataConfig(task="jets", npix=4, train_size=99_999),
        model=EnsembleModelConfig(num_qubits=4),
    )
    with pytest.raises(ConfigError, match=r"data\.train_size = 99999, but the train split"):
        ensemble_data(config)


def test_shot_images_are_histograms_that_converge_to_the_exact_image() -> None:
    exact = np.random.default_rng(2).random((3, 4, 4)) ** 4
    exact /= exact.sum(axis=(1, 2), keepdims=True)
    few = shot_images(exact, 10, seed=0)
    np.testing.assert_allclose(few.sum(axis=(1, 2)), 1.0)
    np.testing.assert_allclose(few * 10, np.round(few * 10), atol=1e-12)  # counts / shots
    np.testing.assert_array_equal(few, shot_images(exact, 10, seed=0))
    many = shot_images(exact, 400_000, seed=1)
    np.testing.assert_allclose(many, exact, atol=5 * np.sqrt(0.25 / 400_000))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="shots must be a positive integer"):
            shot_images(exact, bad, seed=0)  # type: ignore[arg-type]


def test_training_moves_generated_jets_towards_the_data(trained) -> None:
    model, data = trained
    untrained = build_ensemble_model(JETS)
    test = model.as_states(data.test)
    distances = {}
    for name, which in (("trained", model), ("untrained", untrained)):
        images = generated_jets(which, 60, seed=3)  # the images only: phases are not read
        distances[name] = float(mmd(model.as_states(jet_amplitudes(images)), test))
    floor = float(mmd(model.as_states(data.train[:60]), test))
    assert floor < distances["trained"] < 0.7 * distances["untrained"]


def test_generated_jets_are_valid_images_and_seeded(trained) -> None:
    model, _ = trained
    images = generated_jets(model, 7, seed=4)
    assert images.shape == (7, 4, 4) and (images >= 0).all()
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, atol=1e-12)
    np.testing.assert_array_equal(images, generated_jets(model, 7, seed=4))
    assert not np.allclose(images, generated_jets(model, 7, seed=5))


def test_jet_evaluation_rejects_the_haar_prior(trained) -> None:
    model, data = trained
    sets, evaluation = evaluate_jets(model, build_ensemble_model(JETS), data, count=60,
                                     shots=100, seed=0, bootstrap=2)  # fmt: skip
    names = [s.name for s in sets]
    assert names == ["quantum ensemble, exact", "quantum ensemble, 100 shots",
                     "quantum ensemble untrained, exact", "Haar prior"]  # fmt: skip
    table = evaluation.table.set_index(["set", "metric"])
    assert table.loc[("Haar prior", "classifier_auc"), "value"] > 0.9
    assert table.loc[("Haar prior", "classifier_auc"), "floor"] < 0.75


def test_the_training_directory_reports_generated_jets(tmp_path: Path) -> None:
    config = EnsembleRunConfig(
        data=JETS.data, model=JETS.model,
        train=EnsembleTrainConfig(iterations=2, seed=0, dtype="complex128"),
    )  # fmt: skip
    directory, _, _ = train_ensemble_to_directory(config, results_dir=tmp_path)
    report = (directory / "report.md").read_text()
    assert "## Generated jets" in report and "Haar prior" in report
    assert (directory / "samples.png").read_bytes().startswith(b"\x89PNG")
    jets = pd.read_csv(directory / "jets.csv")
    assert {"set", "metric", "value", "floor"} <= set(jets.columns)
    assert "quantum ensemble, 1000 shots" in set(jets["set"])
    assert np.isfinite(jets[jets["metric"] == "classifier_auc"]["value"]).all()


def test_the_shipped_jets_example_is_the_benchmarks_outcome_mmd_setting() -> None:
    example = Path(__file__).resolve().parents[3] / "examples" / "quantum-jets8.toml"
    config = load_any_config(example)
    assert isinstance(config, EnsembleRunConfig)
    assert (config.data.task, config.data.npix, config.model.num_qubits) == ("jets", 8, 6)
    assert (config.model.ancillas, config.model.layers, config.model.steps) == (2, 10, 10)
    assert (config.train.loss, config.train.iterations) == ("outcome_mmd", 200)
    data = ensemble_data(config)
    assert data.train.shape == (500, 64) and data.test.shape == (300, 64)
