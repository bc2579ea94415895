"""Fresh generation with Pythia 8 + FastJet: determinism, selection, metadata, bad settings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qdm_qiskit.data import (
    GeneratorSettings,
    generate_jets,
    jet_observables,
    load_jets,
    load_sample,
    pythia_seeds,
    save_jets,
)
from qdm_qiskit.data.generate import MAX_SEED
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.options import options_from_dict
from tests.data.physics import assert_recipe_physics


def test_same_seed_gives_byte_identical_file_whatever_the_batch_size(tiny_generated, tmp_path):
    again = generate_jets(8, seed=5, batch_size=7)
    np.testing.assert_array_equal(again.X, tiny_generated.X)
    np.testing.assert_array_equal(again.y, tiny_generated.y)
    first, second = (
        save_jets(tmp_path / "a.npz", tiny_generated),
        save_jets(tmp_path / "b.npz", again),
    )
    assert first.read_bytes() == second.read_bytes()


def test_other_seed_gives_other_jets(tiny_generated):
    other = generate_jets(8, seed=6)
    assert other.X.shape != tiny_generated.X.shape or not np.array_equal(other.X, tiny_generated.X)


def test_generated_jets_pass_the_selection(tiny_generated):
    obs = jet_observables(tiny_generated.X)
    assert obs["pt"].between(500 - 1e-6, 550 + 1e-6).all()
    assert (obs["rapidity"].abs() < 1.7).all()
    assert np.all(np.abs(tiny_generated.X[:, :, 0].sum(axis=1) / obs["pt"] - 1) < 0.02)
    assert int(tiny_generated.y.sum()) == 4


def test_particle_phi_within_pi_of_fastjet_jet_phi(tiny_generated):
    obs = jet_observables(tiny_generated.X)
    jet_phi = np.mod(obs["phi"].to_numpy(), 2 * np.pi)[:, None]  # FastJet convention [0, 2 pi)
    pt, phi = tiny_generated.X[:, :, 0], tiny_generated.X[:, :, 2]
    offset = np.where(pt > 0, phi - jet_phi, 0.0)
    assert np.all((offset >= -np.pi) & (offset < np.pi))


def test_metadata_records_settings_seed_and_versions(tiny_generated):
    meta = tiny_generated.metadata
    assert meta["seed"] == 5
    assert meta["pythia_seeds"] == pythia_seeds(5) == {"quark": 11, "gluon": 12}
    assert meta["settings"]["jet_radius"] == 0.4
    assert meta["versions"]["pythia8mc"] == "8.317.2"
    assert meta["versions"]["qdm-qiskit"]
    assert meta["events_generated"]["quark"] >= 4


def test_odd_count_gives_the_extra_jet_to_quarks():
    jets = generate_jets(3, seed=1)
    assert (int(jets.y.sum()), jets.n_jets) == (2, 3)


def test_generated_metadata_survives_a_file_round_trip(tiny_generated, tmp_path):
    path = save_jets(tmp_path / "copy.npz", tiny_generated)
    reloaded = load_jets(path)
    np.testing.assert_array_equal(reloaded.X, tiny_generated.X)
    assert reloaded.metadata["sources"][0]["metadata"] == tiny_generated.metadata


def test_settings_validate_on_direct_construction():
    """The CLI builds settings directly: errors must be ConfigError (exit 2), not ValueError."""
    for bad in ({"pthat_min_gev": float("nan")}, {"jet_radius": float("inf")},
                {"pthat_min_gev": 800.0}):  # fmt: skip
        with pytest.raises(ConfigError):
            GeneratorSettings(**bad)


@pytest.mark.parametrize(
    "command", ["Random:seed = 5", "random:setSeed = off", "WeakBosonAndParton:all = on",
                "Beams:eCM = 13000", "PhaseSpace:pTHatMin = 10", "23:onMode = on"],
)  # fmt: skip
def test_commands_that_would_falsify_the_record_are_refused(command):
    with pytest.raises(ConfigError, match="may not set"):
        GeneratorSettings(pythia_commands=(command,))


def test_generation_stops_when_no_jet_can_pass(monkeypatch):
    from qdm_qiskit.data import generate as generate_module

    monkeypatch.setattr(generate_module, "_ACCEPTANCE_CHECK_EVENTS", 200)
    settings = GeneratorSettings(pthat_min_gev=10.0, pthat_max_gev=20.0)
    with pytest.raises(ConfigError, match="passed the selection in"):
        generate_jets(2, seed=0, settings=settings)


@pytest.mark.parametrize(
    ("n_jets", "seed"), [(0, 1), (-3, 1), (2, -1), (2, MAX_SEED + 1), (2.5, 1), (True, 1)]
)
def test_invalid_counts_and_seeds_are_refused(n_jets, seed):
    with pytest.raises(ConfigError):
        generate_jets(n_jets, seed=seed)


def test_pythia_rejects_an_unknown_setting():
    settings = GeneratorSettings(pythia_commands=("NotA:setting = 3",))
    with pytest.raises(ConfigError, match="Pythia rejected the setting 'NotA:setting = 3'"):
        generate_jets(2, seed=1, settings=settings)


@pytest.mark.parametrize(
    "values",
    [
        {"jet_radius": -0.4},
        {"jet_pt_min_gev": 600.0},
        {"pthat_min_gev": 800.0},
        {"light_quarks_only": "yes"},
        {"pythia_commands": [3]},
    ],
)
def test_settings_reject_invalid_values(values):
    with pytest.raises(ConfigError):
        options_from_dict(GeneratorSettings, values)


def test_settings_reject_unknown_fields_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'jet_radius'"):
        options_from_dict(GeneratorSettings, {"jet_radus": 0.5})


def test_settings_round_trip():
    settings = GeneratorSettings(pthat_min_gev=450.0, pythia_commands=("Tune:pp = 14",))
    as_dict = dataclasses.asdict(settings)
    assert options_from_dict(GeneratorSettings, as_dict) == settings


@pytest.mark.slow
def test_fresh_thousand_jets_are_physically_sane():
    jets = generate_jets(1000, seed=20261121)
    assert_recipe_physics(jets)


@pytest.mark.slow
def test_shipped_sample_is_reproduced_exactly_by_its_recorded_command():
    shipped = load_sample()
    meta = shipped.metadata["sources"][0]["metadata"]
    again = generate_jets(meta["n_jets"], seed=meta["seed"])
    np.testing.assert_array_equal(again.X, shipped.X)
    np.testing.assert_array_equal(again.y, shipped.y)
    assert again.metadata["events_generated"] == meta["events_generated"]
