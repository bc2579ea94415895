"""Tests of the EnergyFlow jet format: validation, loading, saving and atomic writes."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from qdm_qiskit.data.format import COLUMNS, JetDataset, load_jets, save_jets, validate_jets
from qdm_qiskit.errors import DataError, QdmError

PIDS = np.array([22, 211, -211, 2112])


def make_jets(
    n_jets: int = 5, width: int = 6, seed: int = 0, min_particles: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)``: ``n_jets`` jets with 3-6 particles each, zero-padded to ``width``."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_jets, width, 4))
    for jet in range(n_jets):
        n = int(rng.integers(min_particles, min(6, width) + 1))
        X[jet, :n, 0] = np.sort(rng.uniform(1.0, 200.0, n))[::-1]
        X[jet, :n, 1] = rng.normal(0.0, 0.3, n)
        X[jet, :n, 2] = rng.uniform(0.0, 2 * np.pi, n)
        X[jet, :n, 3] = rng.choice(PIDS, n)
    y = np.arange(n_jets) % 2
    return X, y


def make_dataset(**kwargs: int) -> JetDataset:
    X, y = make_jets(**kwargs)
    return JetDataset(X, y, {"generator": "synthetic", "seed": 7})


def files_in(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


# --- round trip and file layout -------------------------------------------------------------


def test_helper_makes_realistic_jets() -> None:
    X, y = make_jets()
    real = X[:, :, 0] > 0
    assert X.shape == (5, 6, 4)
    assert ((real.sum(axis=1) >= 3) & (real.sum(axis=1) <= 6)).all()
    assert set(np.unique(X[:, :, 3][real]).astype(int)) <= set(PIDS.tolist())
    assert (X[~real] == 0).all()
    assert set(y.tolist()) == {0, 1}
    assert COLUMNS == ("pt", "y", "phi", "pid")


def test_round_trip(tmp_path: Path) -> None:
    ds = make_dataset()
    path = save_jets(tmp_path / "jets.npz", ds)
    assert path == tmp_path / "jets.npz"
    back = load_jets(path)
    assert back.X.dtype == np.float64
    assert back.y.dtype == np.int64
    np.testing.assert_array_equal(back.X, ds.X)
    np.testing.assert_array_equal(back.y, ds.y)
    assert back.n_jets == 5
    (source,) = back.metadata["sources"]
    assert source["path"] == str(path)
    assert source["n_jets"] == 5
    assert source["metadata"] == {"generator": "synthetic", "seed": 7}


def test_save_is_byte_reproducible_and_plain_numpy_readable(tmp_path: Path) -> None:
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    save_jets(a, make_dataset())
    save_jets(b, make_dataset())
    assert a.read_bytes() == b.read_bytes()
    # Overwriting an existing file with the same content keeps the bytes too.
    before = a.read_bytes()
    save_jets(a, make_dataset())
    assert a.read_bytes() == before

    X, y = make_jets()
    with np.load(a, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["X", "metadata", "y"]
        assert archive["X"].dtype == np.float64
        assert archive["y"].dtype == np.float64
        np.testing.assert_array_equal(archive["X"], X)
        np.testing.assert_array_equal(archive["y"], y.astype(float))
        assert json.loads(str(archive["metadata"])) == {"generator": "synthetic", "seed": 7}


def test_different_content_gives_different_bytes(tmp_path: Path) -> None:
    save_jets(tmp_path / "a.npz", make_dataset(seed=0))
    save_jets(tmp_path / "b.npz", make_dataset(seed=1))
    assert (tmp_path / "a.npz").read_bytes() != (tmp_path / "b.npz").read_bytes()


def test_plain_energyflow_layout_loads_like_save_jets(tmp_path: Path) -> None:
    X, y = make_jets()
    plain = tmp_path / "QG_jets.npz"
    np.savez_compressed(plain, X=X, y=y.astype(float))
    ours = save_jets(tmp_path / "ours.npz", JetDataset(X, y))
    a, b = load_jets(plain), load_jets(ours)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.y.dtype == b.y.dtype == np.int64
    assert a.X.dtype == b.X.dtype == np.float64
    assert a.metadata["sources"][0]["metadata"] == {}


def test_several_files_padded_to_widest(tmp_path: Path) -> None:
    X1, y1 = make_jets(n_jets=3, width=4, seed=1)
    X2, y2 = make_jets(n_jets=2, width=9, seed=2)
    X3, y3 = make_jets(n_jets=4, width=6, seed=3)
    paths = []
    for i, (X, y) in enumerate([(X1, y1), (X2, y2), (X3, y3)]):
        p = tmp_path / f"part{i}.npz"
        np.savez_compressed(p, X=X, y=y.astype(float))
        paths.append(p)

    ds = load_jets(paths)
    assert ds.X.shape == (9, 9, 4)
    np.testing.assert_array_equal(ds.X[:3, :4], X1)
    assert (ds.X[:3, 4:] == 0).all()
    np.testing.assert_array_equal(ds.X[3:5], X2)
    np.testing.assert_array_equal(ds.X[5:, :6], X3)
    assert (ds.X[5:, 6:] == 0).all()
    np.testing.assert_array_equal(ds.y, np.concatenate([y1, y2, y3]))
    assert [(s["path"], s["n_jets"]) for s in ds.metadata["sources"]] == [
        (str(paths[0]), 3),
        (str(paths[1]), 2),
        (str(paths[2]), 4),
    ]

    limited = load_jets(paths, limit=4)
    assert limited.n_jets == 4
    np.testing.assert_array_equal(limited.X, ds.X[:4])
    np.testing.assert_array_equal(limited.y, ds.y[:4])
    # Files beyond the limit are not read; the sources list the files that were.
    assert [s["n_jets"] for s in limited.metadata["sources"]] == [3, 2]
    # A limit beyond the total keeps everything.
    assert load_jets(paths, limit=100).n_jets == 9


@pytest.mark.parametrize("limit", [0, -3])
def test_nonpositive_limit_rejected(tmp_path: Path, limit: int) -> None:
    path = save_jets(tmp_path / "jets.npz", make_dataset())
    with pytest.raises(DataError, match="limit"):
        load_jets(path, limit=limit)


def test_empty_path_list_rejected() -> None:
    with pytest.raises(DataError, match="no input files"):
        load_jets([])


# --- validation -----------------------------------------------------------------------------


def _bad(kind: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Return ``(X, y, regex)`` for one kind of invalid input."""
    X, y = make_jets()
    if kind == "X_ndim":
        return X[:, :, 0], y, r"X has shape \(5, 6\).*expected \(n_jets, max_particles, 4\)"
    if kind == "X_last_axis":
        return X[:, :, :3], y, r"X has shape \(5, 6, 3\).*expected"
    if kind == "y_ndim":
        return X, y[:, None], r"y has shape \(5, 1\), expected \(n_jets,\)"
    if kind == "length":
        return X, y[:4], "X holds 5 jets but y holds 4 labels"
    if kind == "nan":
        X[2, 1, 1] = np.nan
        return X, y, r"1 NaN/inf values \(first in jet 2\)"
    if kind == "inf":
        X[3, 0, 0] = np.inf
        X[4, 0, 2] = -np.inf
        return X, y, r"2 NaN/inf values \(first in jet 3\)"
    if kind == "label_2":
        y[1] = 2
        return X, y, r"labels must be 0 \(gluon\) or 1 \(quark\), found 2"
    if kind == "label_minus_1":
        y[0] = -1
        return X, y, "labels must be 0.*found -1"
    if kind == "label_nan":
        y = y.astype(float)
        y[0] = np.nan
        return X, y, "y contains NaN/inf labels"
    if kind == "negative_pt":
        X[3, 0, 0] = -5.0
        return X, y, r"negative particle pt \(first in jet 3\)"
    if kind == "dirty_padding":
        X[1, -1, 3] = 22.0  # pt stays 0: a padding row with a pid
        return X, y, r"1 padding rows \(pt = 0\) are not all zero \(first in jet 1\)"
    if kind == "empty_jet":
        X[2] = 0.0
        return X, y, r"1 jets have no particles \(first is jet 2\)"
    if kind == "non_integer_pid":
        X[0, 0, 3] = 211.5
        return X, y, r"particle ids \(column 4\) must be integers"
    if kind == "string_dtype":
        return X.astype(str), y, "X has dtype <U.*expected a real numeric type"
    if kind == "complex_dtype":
        return X.astype(complex), y, "X has dtype complex128, expected a real numeric type"
    if kind == "y_string":
        return X, y.astype(str), "y has dtype <U.*expected numeric labels"
    if kind == "no_jets":
        return X[:0], y[:0], "no jets"
    raise AssertionError(kind)


BAD_KINDS = [
    "X_ndim",
    "X_last_axis",
    "y_ndim",
    "length",
    "nan",
    "inf",
    "label_2",
    "label_minus_1",
    "label_nan",
    "negative_pt",
    "dirty_padding",
    "empty_jet",
    "non_integer_pid",
    "string_dtype",
    "complex_dtype",
    "y_string",
    "no_jets",
]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_validate_jets_rejects(kind: str) -> None:
    X, y, regex = _bad(kind)
    with pytest.raises(DataError, match=regex) as info:
        validate_jets(X, y, source="my-source")
    assert str(info.value).startswith("my-source: ")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_jet_dataset_rejects(kind: str) -> None:
    X, y, regex = _bad(kind)
    with pytest.raises(DataError, match=regex) as info:
        JetDataset(X, y)
    assert str(info.value).startswith("JetDataset: ")


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_load_jets_rejects_bad_file(tmp_path: Path, kind: str) -> None:
    X, y, regex = _bad(kind)
    path = tmp_path / f"bad_{kind}.npz"
    np.savez_compressed(path, X=X, y=y)
    with pytest.raises(DataError, match=regex) as info:
        load_jets(path)
    assert str(info.value).startswith(f"{path}: ")


def test_validate_accepts_integer_and_bool_inputs() -> None:
    X, y = make_jets()
    X_int = np.rint(X).astype(np.int32)
    X_int[:, :, 0] = np.where(X[:, :, 0] > 0, np.maximum(X_int[:, :, 0], 1), 0)
    X_out, y_out = validate_jets(X_int, y.astype(bool), source="s")
    assert X_out.dtype == np.float64
    assert y_out.dtype == np.int64
    np.testing.assert_array_equal(y_out, y)


def test_missing_y_key(tmp_path: Path) -> None:
    X, _ = make_jets()
    path = tmp_path / "only_x.npz"
    np.savez_compressed(path, X=X)
    with pytest.raises(DataError, match=r"missing array\(s\) y; found \['X'\]") as info:
        load_jets(path)
    assert str(path) in str(info.value)


def test_missing_both_keys(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez_compressed(path, a=np.arange(3))
    with pytest.raises(DataError, match=r"missing array\(s\) X, y"):
        load_jets(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = save_jets(tmp_path / "jets.npz", make_dataset())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    regex = r"not a readable \.npz file \(corrupt or truncated"
    with pytest.raises(DataError, match=regex) as info:
        load_jets(path)
    assert str(info.value).startswith(f"{path}: ")


def test_random_bytes_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(DataError, match=r"not a readable \.npz file") as info:
        load_jets(path)
    assert str(info.value).startswith(f"{path}: ")


def test_corrupted_member_crc(tmp_path: Path) -> None:
    path = save_jets(tmp_path / "jets.npz", make_dataset())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("X.npy")
    start = info.header_offset + 30 + len("X.npy")
    for i in range(start + 10, start + info.compress_size - 5):
        data[i] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=re.escape(f"{path}: not a readable")):
        load_jets(path)


def test_pickled_object_array_refused(tmp_path: Path) -> None:
    X, y = make_jets()
    path = tmp_path / "pickled.npz"
    np.savez(path, X=X.astype(object), y=y)
    with pytest.raises(DataError, match=r"not a readable \.npz file"):
        load_jets(path)


def test_invalid_metadata_json(tmp_path: Path) -> None:
    X, y = make_jets()
    path = tmp_path / "meta.npz"
    np.savez(path, X=X, y=y, metadata=np.array("{not json"))
    with pytest.raises(DataError, match="metadata is not valid JSON") as info:
        load_jets(path)
    assert str(path) in str(info.value)


def test_metadata_that_is_not_an_object(tmp_path: Path) -> None:
    X, y = make_jets()
    path = tmp_path / "meta_list.npz"
    np.savez(path, X=X, y=y, metadata=np.array("[1, 2]"))
    with pytest.raises(DataError, match="metadata must be a JSON object, got list"):
        load_jets(path)


def test_corrupt_deflate_stream_is_a_data_error(tmp_path: Path) -> None:
    """A damaged compressed stream raises zlib.error inside numpy; it must become a DataError."""
    path = save_jets(tmp_path / "jets.npz", make_dataset())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("X.npy")
    data[info.header_offset + 30 + len("X.npy") + 5] = 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=re.escape(f"{path}: not a readable")):
        load_jets(path)


def test_dataset_does_not_freeze_the_callers_arrays() -> None:
    X, y = make_jets()
    X = X.astype(np.float64)
    y = y.astype(np.int64)
    ds = JetDataset(X, y)
    X[0, 0, 0] = 123.0  # the caller's arrays stay writable ...
    y[0] = 1 - y[0]
    assert ds.X[0, 0, 0] != 123.0  # ... and changing them does not change the dataset
    assert ds.y[0] != y[0]


def test_nonexistent_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.npz"
    with pytest.raises(DataError, match="no such file") as info:
        load_jets(path)
    assert str(info.value) == f"{path}: no such file"


def test_directory_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a directory") as info:
        load_jets(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: ")


def test_bad_file_among_good_ones_is_named(tmp_path: Path) -> None:
    good = save_jets(tmp_path / "good.npz", make_dataset())
    bad = tmp_path / "bad.npz"
    X, y = make_jets()
    y[0] = 3
    np.savez_compressed(bad, X=X, y=y)
    with pytest.raises(DataError) as info:
        load_jets([good, bad])
    assert str(info.value).startswith(f"{bad}: ")
    assert str(good) not in str(info.value)


# --- JetDataset -----------------------------------------------------------------------------


def test_dataset_arrays_are_read_only() -> None:
    ds = make_dataset()
    assert not ds.X.flags.writeable
    assert not ds.y.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        ds.X[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        ds.y[0] = 0
    with pytest.raises(AttributeError):
        ds.X = np.zeros((1, 1, 4))  # type: ignore[misc]


def test_loaded_dataset_is_read_only(tmp_path: Path) -> None:
    ds = load_jets(save_jets(tmp_path / "jets.npz", make_dataset()))
    with pytest.raises(ValueError):
        ds.X[0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        ds.y[0] = 1


def test_multiplicity() -> None:
    X, y = make_jets()
    ds = JetDataset(X, y)
    np.testing.assert_array_equal(ds.multiplicity, (X[:, :, 0] > 0).sum(axis=1))
    assert ((ds.multiplicity >= 3) & (ds.multiplicity <= 6)).all()


def test_subset_trims_padding() -> None:
    X = np.zeros((4, 7, 4))
    counts = [2, 7, 3, 1]
    for jet, n in enumerate(counts):
        X[jet, :n] = [[10.0 + k, 0.1 * k, 0.2, 211.0] for k in range(n)]
    y = np.array([1, 0, 1, 0])
    ds = JetDataset(X, y, {"tag": "t"})

    sub = ds.subset([2, 0])
    assert sub.X.shape == (2, 3, 4)
    np.testing.assert_array_equal(sub.X, X[[2, 0], :3])
    np.testing.assert_array_equal(sub.y, [1, 1])
    assert sub.y.dtype == np.int64
    assert sub.metadata == {"tag": "t"}
    assert not sub.X.flags.writeable

    single = ds.subset(np.array([3]))
    assert single.X.shape == (1, 1, 4)
    np.testing.assert_array_equal(single.X[0, 0], X[3, 0])

    full = ds.subset([0, 1, 2, 3])
    assert full.X.shape == (4, 7, 4)
    np.testing.assert_array_equal(full.X, X)


# --- atomic writes --------------------------------------------------------------------------


def _assert_no_tmp(directory: Path, name: str) -> None:
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith(f".{name}.")]
    assert leftovers == []


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = np.lib.format.write_array
    calls = []

    def flaky(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("disk on fire")
        real(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", flaky)
    target = tmp_path / "out.npz"
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_jets(target, make_dataset())
    assert len(calls) == 2
    assert files_in(tmp_path) == set()
    _assert_no_tmp(tmp_path, "out.npz")


def test_failed_write_keeps_existing_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = save_jets(tmp_path / "out.npz", make_dataset(seed=0))
    before = target.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def flaky(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        real(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", flaky)
    with pytest.raises(QdmError, match=r"out\.npz: write failed \(No space left on device\)"):
        save_jets(target, make_dataset(seed=1))
    assert target.read_bytes() == before
    assert files_in(tmp_path) == {"out.npz"}
    _assert_no_tmp(tmp_path, "out.npz")
    np.testing.assert_array_equal(load_jets(target).X, make_dataset(seed=0).X)


def test_unserialisable_metadata_leaves_nothing(tmp_path: Path) -> None:
    X, y = make_jets()
    target = tmp_path / "out.npz"
    target.write_bytes(b"old content")
    ds = JetDataset(X, y, {"bad": object()})
    with pytest.raises(TypeError):
        save_jets(target, ds)
    assert target.read_bytes() == b"old content"
    assert files_in(tmp_path) == {"out.npz"}
    _assert_no_tmp(tmp_path, "out.npz")

    fresh = tmp_path / "fresh.npz"
    with pytest.raises(TypeError):
        save_jets(fresh, ds)
    assert not fresh.exists()
    _assert_no_tmp(tmp_path, "fresh.npz")


def test_save_into_directory_path_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(QdmError, match="is a directory"):
        save_jets(tmp_path / "dir.npz", make_dataset())
    assert files_in(tmp_path) == {"dir.npz"}
    assert list((tmp_path / "dir.npz").iterdir()) == []


def test_save_creates_parent_directories(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "jets.npz"
    save_jets(target, make_dataset())
    assert files_in(target.parent) == {"jets.npz"}
    assert load_jets(target).n_jets == 5


def test_written_files_are_world_readable_and_keep_an_existing_mode(tmp_path: Path) -> None:
    path = save_jets(tmp_path / "jets.npz", make_dataset())
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o640)
    save_jets(path, make_dataset())
    assert path.stat().st_mode & 0o777 == 0o640


def test_padding_between_particles_is_rejected() -> None:
    X, y = make_jets()
    X[0, 1] = 0.0  # a padding row between two particles
    with pytest.raises(DataError, match="padding rows must follow all particles"):
        validate_jets(X, y, source="gappy")


def test_subset_accepts_a_boolean_mask() -> None:
    ds = make_dataset(n_jets=6)
    quarks = ds.subset(ds.y == 1)
    assert quarks.n_jets == 3
    assert (quarks.y == 1).all()
    np.testing.assert_array_equal(quarks.multiplicity, ds.multiplicity[ds.y == 1])
    with pytest.raises(DataError, match="mask"):
        ds.subset(np.array([True, False]))


def test_plain_npy_file_is_a_data_error(tmp_path: Path) -> None:
    X, _ = make_jets()
    path = tmp_path / "jets.npy"
    np.save(path, X)
    with pytest.raises(DataError, match=r"single \.npy array"):
        load_jets(path)


def test_header_declaring_a_huge_array_is_refused_before_allocation(tmp_path: Path) -> None:
    X, y = make_jets()
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        header = {"descr": "<f8", "fortran_order": False, "shape": (1, 10**11, 4)}
        buffer = __import__("io").BytesIO()
        np.lib.format.write_array_header_1_0(buffer, header)
        zf.writestr("X.npy", buffer.getvalue() + X.tobytes())
        buffer = __import__("io").BytesIO()
        np.lib.format.write_array(buffer, y.astype(float))
        zf.writestr("y.npy", buffer.getvalue())
    with pytest.raises(DataError, match=r"declares shape \(1, 100000000000, 4\)"):
        load_jets(path)
