"""A run's data section: the pythia source and its cache, glob sources, too few jets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qdm_qiskit.data import cache, jet_images, save_jets
from qdm_qiskit.data.cache import MAX_CACHE_SEED, JetCache
from qdm_qiskit.errors import ConfigError, DataError
from qdm_qiskit.models.config import GENERATED_JETS, DataConfig, run_config_from_dict
from qdm_qiskit.models.data import MIN_JETS, load_image_data, source_paths
from tests.data.synthetic_shards import (
    expected_jets,
    make_shard,
    refuse_generation,
    write_shard,
)

# --- DataConfig -------------------------------------------------------------------------------


def test_pythia_source_takes_jets_and_generator_seed():
    config = DataConfig(source="pythia", jets=2500, generator_seed=7, npix=8)
    assert (config.jets, config.generator_seed) == (2500, 7)
    default = DataConfig(source="pythia")
    assert (default.jets, default.generator_seed) == (GENERATED_JETS, 0)
    assert DataConfig(source="pythia", jets=2_000_000, generator_seed=MAX_CACHE_SEED).jets


@pytest.mark.parametrize(
    "options",
    [{"jets": 0}, {"jets": 2_000_001}, {"jets": True}, {"jets": 10.0}],
)
def test_pythia_source_refuses_bad_jet_counts(options):
    with pytest.raises(ConfigError, match=r"data\.jets"):
        DataConfig(source="pythia", **options)


@pytest.mark.parametrize("seed", [-1, MAX_CACHE_SEED + 1, True, 1.5])
def test_pythia_source_refuses_bad_generator_seeds(seed):
    with pytest.raises(ConfigError, match=r"data\.generator_seed"):
        DataConfig(source="pythia", generator_seed=seed)


@pytest.mark.parametrize("source", ["sample", "jets/*.npz", "QG_jets.npz"])
@pytest.mark.parametrize("options", [{"jets": 100}, {"generator_seed": 3}], ids=str)
def test_jets_and_generator_seed_are_refused_for_other_sources(source, options):
    with pytest.raises(ConfigError, match="source") as raised:
        DataConfig(source=source, **options)
    assert repr(source) in str(raised.value)
    with pytest.raises(ConfigError, match="pythia"):
        run_config_from_dict({"data": {"source": source, **options}})


# --- source = "pythia" ----------------------------------------------------------------------------


def test_pythia_source_reads_a_filled_cache_without_generating(sample, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "generate_jets", refuse_generation)
    store = JetCache(tmp_path / "jets")  # load_image_data keeps the cache in <data_dir>/jets
    for k in range(2):
        write_shard(store, sample, 0, k)
    notices: list[str] = []
    config = DataConfig(source="pythia", jets=2500, npix=8)
    data = load_image_data(config, data_dir=tmp_path, notice=notices.append)
    assert notices == []
    X, y = expected_jets(sample, 0, 2500)
    assert data.images.shape == (2500, 8, 8)
    np.testing.assert_allclose(data.images, jet_images(X, npix=8))
    np.testing.assert_array_equal(data.labels, y)
    splits = data.splits
    assert sorted(np.concatenate([splits.train, splits.validation, splits.test])) == list(
        range(2500)
    )


def test_pythia_source_defaults_to_the_data_dir_of_the_environment(sample, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "generate_jets", refuse_generation)
    monkeypatch.setenv("QDM_DATA_DIR", str(tmp_path))
    write_shard(JetCache(tmp_path / "jets"), sample, 4, 0)
    config = DataConfig(source="pythia", jets=300, generator_seed=4, label="quark")
    data = load_image_data(config)
    _, y = expected_jets(sample, 4, 300)
    assert data.images.shape == (int(y.sum()), 4, 4)
    assert (data.labels == 1).all()


def test_pythia_source_generates_missing_shards_with_notice(sample, tmp_path, monkeypatch):
    calls: list[int] = []

    def fake_generate(n_jets, *, seed, progress=None):
        calls.append(seed)
        if progress is not None:
            progress(n_jets)
        return make_shard(sample, seed)

    monkeypatch.setattr(cache, "generate_jets", fake_generate)
    notices: list[str] = []
    progress: list[int] = []
    config = DataConfig(source="pythia", jets=100, generator_seed=2)
    data = load_image_data(
        config, data_dir=tmp_path, notice=notices.append, progress=progress.append
    )
    assert calls == [cache.shard_seed(2, 0)]
    assert len(notices) == 1 and "not cached yet" in notices[0]
    assert progress == [cache.SHARD_JETS]
    assert data.images.shape == (100, 4, 4)
    assert JetCache(tmp_path / "jets").shard_path(2, 0).is_file()


# --- file and glob sources ------------------------------------------------------------------------


@pytest.fixture
def two_files(sample, tmp_path) -> list[Path]:
    # Written in reverse name order: the glob must sort, not follow creation order.
    b = save_jets(tmp_path / "b.npz", sample.subset(range(40, 70)))
    a = save_jets(tmp_path / "a.npz", sample.subset(range(0, 40)))
    (tmp_path / "notes.txt").write_text("not a jet file\n")
    return [a, b]


def test_glob_source_loads_every_match_in_sorted_order(sample, tmp_path, two_files):
    pattern = str(tmp_path / "*.npz")
    assert source_paths(pattern) == two_files
    data = load_image_data(DataConfig(source=pattern))
    assert data.images.shape == (70, 4, 4)
    np.testing.assert_array_equal(data.labels, sample.y[:70])
    np.testing.assert_allclose(data.images, jet_images(sample.X[:70], npix=4))


def test_glob_source_with_max_jets_reads_the_first_jets(sample, tmp_path, two_files):
    data = load_image_data(DataConfig(source=str(tmp_path / "?.npz"), max_jets=50))
    np.testing.assert_array_equal(data.labels, sample.y[:50])


def test_plain_path_source_is_not_globbed(tmp_path, two_files):
    assert source_paths(str(two_files[0])) == [two_files[0]]
    data = load_image_data(DataConfig(source=str(two_files[1])))
    assert data.images.shape[0] == 30


def test_glob_matching_nothing_names_the_pattern(tmp_path):
    pattern = str(tmp_path / "nothing-*.npz")
    with pytest.raises(DataError, match="no file matches") as raised:
        load_image_data(DataConfig(source=pattern))
    assert pattern in str(raised.value)
    with pytest.raises(DataError, match="no file matches"):
        source_paths(pattern)


def test_missing_plain_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_image_data(DataConfig(source=str(tmp_path / "absent.npz")))


# --- too few jets ---------------------------------------------------------------------------------


def test_fewer_jets_than_the_split_needs(sample, tmp_path):
    path = save_jets(tmp_path / "few.npz", sample.subset(range(MIN_JETS - 1)))
    with pytest.raises(DataError, match="split") as raised:
        load_image_data(DataConfig(source=str(path)))
    assert f"only {MIN_JETS - 1} jets" in str(raised.value)
    assert str(path) in str(raised.value)
    # Exactly MIN_JETS is enough.
    enough = save_jets(tmp_path / "enough.npz", sample.subset(range(MIN_JETS)))
    assert load_image_data(DataConfig(source=str(enough))).images.shape[0] == MIN_JETS


def test_label_filter_can_leave_too_few_jets(sample, tmp_path):
    quarks = np.flatnonzero(sample.y == 1)
    gluons = np.flatnonzero(sample.y == 0)
    jets = sample.subset(np.sort(np.concatenate([quarks[:30], gluons[:3]])))
    path = save_jets(tmp_path / "mostly-quarks.npz", jets)
    assert load_image_data(DataConfig(source=str(path), label="quark")).images.shape[0] == 30
    with pytest.raises(DataError, match="only 3 jets selected"):
        load_image_data(DataConfig(source=str(path), label="gluon"))


def test_max_jets_below_the_minimum_is_refused():
    with pytest.raises(DataError, match="split"):
        load_image_data(DataConfig(max_jets=MIN_JETS - 1))


def test_sample_source_ignores_data_dir(tmp_path):
    data = load_image_data(DataConfig(max_jets=20), data_dir=tmp_path / "unused")
    assert data.images.shape == (20, 4, 4)
    assert not (tmp_path / "unused").exists()
