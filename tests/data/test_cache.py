"""The generated-jet cache: shard reuse, validation of cached shards, request bounds.

The fast tests use synthetic shards (the shipped sample's jets with a shard's generator record,
see ``tests/data/synthetic_shards.py``) and a fake generator; only the slow test runs Pythia.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from qdm_qiskit.data import (
    cache,
    generate_jets,
    load_jets,
    load_sample,
    pythia_seeds,
    save_jets,
)
from qdm_qiskit.data.cache import (
    MAX_CACHE_SEED,
    MAX_SHARDS,
    SHARD_JETS,
    JetCache,
    check_request,
    default_data_dir,
    shard_seed,
)
from qdm_qiskit.data.generate import MAX_SEED, GeneratorSettings
from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.provenance import distribution_version
from tests.data.synthetic_shards import (
    FakeGenerator,
    assert_same_jets,
    expected_jets,
    make_shard,
    write_shard,
)

SEED = 3


@pytest.fixture
def store(tmp_path: Path) -> JetCache:
    return JetCache(tmp_path / "jets")


@pytest.fixture
def fake(sample, monkeypatch) -> FakeGenerator:
    generator = FakeGenerator(sample)
    monkeypatch.setattr(cache, "generate_jets", generator)
    return generator


#: Bytes of the synthetic shards written so far, by (seed, index): writing is deterministic,
#: so later tests copy the bytes instead of compressing 2000 jets again.
_SHARD_BYTES: dict[tuple[int, int], bytes] = {}


def fill(store: JetCache, sample, seed: int, shards: int) -> list[Path]:
    paths = []
    for k in range(shards):
        path = store.shard_path(seed, k)
        if (seed, k) in _SHARD_BYTES:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_SHARD_BYTES[seed, k])
        else:
            _SHARD_BYTES[seed, k] = write_shard(store, sample, seed, k).read_bytes()
        paths.append(path)
    return paths


# --- reuse of a complete cache ----------------------------------------------------------------


def test_complete_cache_is_reused_and_serves_the_first_jets_in_shard_order(sample, store, fake):
    paths = fill(store, sample, SEED, 2)
    notices: list[str] = []
    jets = store.load(3500, seed=SEED, notice=notices.append)
    assert fake.calls == []
    assert notices == []
    assert jets.n_jets == 3500
    assert_same_jets(jets, *expected_jets(sample, SEED, 3500))
    meta = jets.metadata
    assert meta["source"] == "pythia"
    assert meta["seed"] == SEED
    assert meta["n_jets"] == 3500
    assert meta["shard_jets"] == SHARD_JETS
    assert meta["settings"] == options_to_dict(GeneratorSettings())
    assert meta["versions"]["pythia8mc"] == distribution_version("pythia8mc")
    assert [shard["file"] for shard in meta["shards"]] == [str(p) for p in paths]
    assert [shard["seed"] for shard in meta["shards"]] == [
        shard_seed(SEED, 0),
        shard_seed(SEED, 1),
    ]
    assert [shard["sha256"] for shard in meta["shards"]] == [
        hashlib.sha256(p.read_bytes()).hexdigest() for p in paths
    ]


def test_only_the_shards_a_request_needs_are_read(sample, store, fake):
    fill(store, sample, SEED, 1)  # shard 1 absent: a request within shard 0 must not need it
    for n_jets in (1, 1999, 2000):
        jets = store.load(n_jets, seed=SEED)
        assert jets.n_jets == n_jets
        assert_same_jets(jets, *expected_jets(sample, SEED, n_jets))
        assert len(jets.metadata["shards"]) == 1
    assert fake.calls == []


def test_shard_paths_and_counts(tmp_path):
    store = JetCache(tmp_path)
    assert store.shard_path(7, 12) == tmp_path / "pythia-s7" / "shard-0012.npz"
    assert [store.shards_needed(n) for n in (1, 2000, 2001, 3500, 2_000_000)] == [1, 1, 2, 2, 1000]


def test_missing_lists_absent_and_unusable_shards(sample, store):
    fill(store, sample, SEED, 3)
    store.shard_path(SEED, 1).unlink()
    damaged = store.shard_path(SEED, 2)
    damaged.write_bytes(damaged.read_bytes()[:1000])
    assert store.missing(2000, seed=SEED) == []
    assert store.missing(6000, seed=SEED) == [1, 2]
    assert store.missing(9000, seed=SEED) == [1, 2, 3, 4]
    assert store.missing(2000, seed=SEED + 1) == [0]  # another dataset seed has its own shards
    with pytest.raises(ConfigError):
        store.missing(0, seed=SEED)


# --- shards that must not be reused ---------------------------------------------------------


def _truncate(path: Path, sample) -> str:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return "damaged"


def _garbage(path: Path, sample) -> str:
    path.write_text("not an npz file\n")
    return "damaged"


def _rewrite(reason: str, **kwargs):
    def spoil(path: Path, sample) -> str:
        options = dict(kwargs)
        # Reversed jet order: were this file reused, the jets would differ from the expected.
        indices = options.pop("indices", np.arange(SHARD_JETS)[::-1])
        generator_seed = options.pop("generator_seed", shard_seed(SEED, 1))
        save_jets(path, make_shard(sample, generator_seed, indices=indices, **options))
        return reason

    return spoil


UNUSABLE = {
    "truncated": _truncate,
    "not-an-npz": _garbage,
    "other-seed": _rewrite("seed =", generator_seed=shard_seed(SEED + 1, 1)),
    "other-n-jets": _rewrite("n_jets =", n_jets=1000, indices=np.arange(1000)),
    "other-settings": _rewrite(
        "settings =", settings=GeneratorSettings(pythia_commands=("Tune:pp = 14",))
    ),
    "other-radius": _rewrite("settings =", settings=GeneratorSettings(jet_radius=0.8)),
    "other-format": _rewrite("format =", format="someone-else/jets"),
    "other-format-version": _rewrite("format_version =", format_version=2),
    "other-pythia": _rewrite("pythia8mc 8.0.0", versions={"pythia8mc": "8.0.0"}),
    "no-pythia-record": _rewrite("pythia8mc None", versions={"pythia8mc": None}),
    "too-few-jets": _rewrite("holds 1999 jets", indices=np.arange(1999)),
}


@pytest.mark.parametrize("spoil", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_unusable_shard_is_regenerated_with_one_notice(sample, store, fake, spoil):
    paths = fill(store, sample, SEED, 2)
    reason = spoil(paths[1], sample)
    assert store.missing(3500, seed=SEED) == [1]
    notices: list[str] = []
    progress: list[int] = []
    jets = store.load(3500, seed=SEED, notice=notices.append, progress=progress.append)
    assert fake.calls == [shard_seed(SEED, 1)]
    assert progress == [SHARD_JETS]
    assert len(notices) == 1
    (line,) = notices
    assert "\n" not in line
    assert reason in line
    assert "shard 2/2" in line
    assert f"generator seed {shard_seed(SEED, 1)}" in line
    assert str(paths[1]) in line
    assert_same_jets(jets, *expected_jets(sample, SEED, 3500))
    # The regenerated shard replaced the bad file and is reused from now on.
    assert store.missing(3500, seed=SEED) == []
    again = store.load(3500, seed=SEED, notice=notices.append)
    assert fake.calls == [shard_seed(SEED, 1)]
    assert len(notices) == 1
    np.testing.assert_array_equal(again.X, jets.X)


def test_a_shard_without_metadata_is_not_reused(sample, store, fake):
    paths = fill(store, sample, SEED, 1)
    bare = make_shard(sample, shard_seed(SEED, 0))
    save_jets(paths[0], type(bare)(bare.X, bare.y, {}))
    notices: list[str] = []
    store.load(10, seed=SEED, notice=notices.append)
    assert fake.calls == [shard_seed(SEED, 0)]
    assert len(notices) == 1 and "format =" in notices[0]


def test_larger_request_reuses_the_shards_a_smaller_one_made(sample, store, fake):
    notices: list[str] = []
    small = store.load(2500, seed=SEED, notice=notices.append)
    assert fake.calls == [shard_seed(SEED, 0), shard_seed(SEED, 1)]
    assert len(notices) == 2 and all("not cached yet" in line for line in notices)
    made = {k: store.shard_path(SEED, k).read_bytes() for k in (0, 1)}
    notices.clear()
    large = store.load(5000, seed=SEED, notice=notices.append)
    assert fake.calls == [shard_seed(SEED, k) for k in range(3)]
    assert len(notices) == 1 and "shard 3/3" in notices[0]
    assert {k: store.shard_path(SEED, k).read_bytes() for k in (0, 1)} == made
    assert_same_jets(large, *expected_jets(sample, SEED, 5000))
    width = small.X.shape[1]
    np.testing.assert_array_equal(large.X[:2500, :width], small.X)
    assert not large.X[:2500, width:].any()
    np.testing.assert_array_equal(large.y[:2500], small.y)


def test_complete_cache_needs_no_write_access(sample, store, fake, monkeypatch):
    fill(store, sample, SEED, 1)

    def unwritable(path):
        raise QdmError(f"{path}: cannot write here")

    monkeypatch.setattr(cache, "check_writable", unwritable)
    assert store.load(100, seed=SEED).n_jets == 100
    with pytest.raises(QdmError, match="cannot write"):
        store.load(2001, seed=SEED)  # shard 1 must be generated
    assert fake.calls == []


def test_unwritable_cache_directory_fails_before_generating(tmp_path, fake):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache directory should be\n")
    notices: list[str] = []
    with pytest.raises(QdmError, match="cannot write"):
        JetCache(blocker / "jets").load(10, seed=0, notice=notices.append)
    assert fake.calls == []
    assert notices == []


# --- request bounds and seeds -------------------------------------------------------------------


BAD_COUNTS = [0, -5, SHARD_JETS * MAX_SHARDS + 1, True, 10.0, "10", None]
BAD_SEEDS = [-1, MAX_CACHE_SEED + 1, True, False, 1.0, "0", None]


@pytest.mark.parametrize(
    ("n_jets", "seed", "message"),
    [(n, 0, "number of generated jets") for n in BAD_COUNTS]
    + [(10, s, "generator seed") for s in BAD_SEEDS],
)
def test_check_request_refuses_bad_counts_and_seeds(n_jets, seed, message, tmp_path, fake):
    with pytest.raises(ConfigError, match=message):
        check_request(n_jets, seed)
    with pytest.raises(ConfigError, match=message):
        JetCache(tmp_path).load(n_jets, seed=seed)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message):
        JetCache(tmp_path).missing(n_jets, seed=seed)  # type: ignore[arg-type]
    assert fake.calls == []
    assert not any(tmp_path.iterdir())


def test_check_request_accepts_the_bounds():
    assert SHARD_JETS * MAX_SHARDS == 2_000_000
    for n_jets, seed in ((1, 0), (2_000_000, 0), (1, MAX_CACHE_SEED)):
        check_request(n_jets, seed)


def test_shard_seeds_stay_clear_of_the_sample_and_within_the_generator_range():
    sample_seed = 1
    assert load_sample().metadata["sources"][0]["metadata"]["seed"] == sample_seed
    seeds = [shard_seed(s, k) for s in range(4) for k in range(MAX_SHARDS)]
    assert len(set(seeds)) == len(seeds)  # no two shards of different datasets share a seed
    assert sample_seed not in seeds
    sample_pythia = set(pythia_seeds(sample_seed).values())
    shard_pythia = {p for s in seeds for p in pythia_seeds(s).values()}
    assert not sample_pythia & shard_pythia
    assert min(shard_seed(0, k) for k in range(MAX_SHARDS)) == MAX_SHARDS
    assert shard_seed(MAX_CACHE_SEED, MAX_SHARDS - 1) <= MAX_SEED


def test_default_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("QDM_DATA_DIR", raising=False)
    assert default_data_dir() == Path("data")
    monkeypatch.setenv("QDM_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.setenv("QDM_DATA_DIR", "")
    assert default_data_dir() == Path("data")


# --- real generation ------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_shards_are_generated_once_and_deterministically(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "SHARD_JETS", 20)
    made = []
    for name in ("a", "b"):
        store = JetCache(tmp_path / name)
        notices: list[str] = []
        jets = store.load(30, seed=0, notice=notices.append)
        assert jets.n_jets == 30
        assert len(notices) == 2 and all("(20 jets" in line for line in notices)
        assert store.missing(30, seed=0) == []
        notices.clear()
        again = store.load(30, seed=0, notice=notices.append)
        assert notices == []
        np.testing.assert_array_equal(again.X, jets.X)
        made.append([store.shard_path(0, k).read_bytes() for k in range(2)])
    assert made[0] == made[1]
    # Shard k is exactly generate_jets(SHARD_JETS, seed=shard_seed(S, k)).
    direct = generate_jets(20, seed=shard_seed(0, 1))
    shard = load_jets(JetCache(tmp_path / "a").shard_path(0, 1))
    np.testing.assert_array_equal(shard.X, direct.X)
    np.testing.assert_array_equal(shard.y, direct.y)
    assert shard.metadata["sources"][0]["metadata"] == dict(direct.metadata)
