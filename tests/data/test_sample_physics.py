"""The shipped sample: made by the project's generator, and physically sane."""

from __future__ import annotations

from qdm_qiskit.data import GeneratorSettings, sample_path
from qdm_qiskit.options import options_to_dict
from tests.data.physics import assert_recipe_physics


def test_sample_is_small_and_records_how_it_was_made(sample):
    assert sample_path().stat().st_size < 5_000_000
    meta = sample.metadata["sources"][0]["metadata"]
    assert meta["format"] == "qdm-qiskit/qg-jets"
    assert meta["command"] == f"qdm data generate --jets {sample.n_jets} --seed {meta['seed']}"
    assert meta["settings"] == options_to_dict(GeneratorSettings())
    assert meta["n_jets"] == sample.n_jets >= 1000
    assert sum(meta["events_generated"].values()) > sample.n_jets


def test_sample_is_balanced(sample):
    assert abs(int(sample.y.sum()) - sample.n_jets / 2) <= 1


def test_sample_physics(sample):
    numbers = assert_recipe_physics(sample)
    # Published recipe, measured on the same kind of machine: ratio 1.58, AUC 0.84.
    assert 1.4 < numbers["multiplicity_ratio"] < 1.8
    assert 0.78 < numbers["multiplicity_auc"] < 0.9


def test_constituents_sorted_by_decreasing_pt(sample):
    pt = sample.X[:, :, 0]
    assert (pt[:, :-1] >= pt[:, 1:]).all()


def test_only_stable_visible_particles(sample):
    pids = {abs(int(p)) for p in sample.X[:, :, 3].ravel()} - {0}
    assert pids <= {11, 13, 22, 130, 211, 321, 2112, 2212}
    assert not pids & {12, 14, 16}  # no neutrinos
