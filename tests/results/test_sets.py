"""Generated sample sets on disk (:mod:`qdm_qiskit.results.sets`): what ``qdm compare`` reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qdm_qiskit.errors import ConfigError, DataError, QdmError
from qdm_qiskit.results.sets import ARRAYS_FILE, SETS_FILE, SetRecord, read_sets, write_sets

REPRESENTATION = {"source": "sample", "npix": 4, "label": "all", "max_jets": 1200,
                  "split_seed": 0}  # fmt: skip


def _images(n: int, seed: int) -> np.ndarray:
    images = np.random.default_rng(seed).random((n, 4, 4))
    return images / images.sum(axis=(1, 2), keepdims=True)


def _records() -> list[SetRecord]:
    history = pd.DataFrame({"epoch": [1.0, 2.0, 3.0], "train_loss": [0.5, 0.25, 0.125],
                            "validation_loss": [0.6, 0.3, 0.2]})  # fmt: skip
    with_nan = _images(7, 3)
    with_nan[2] = np.nan
    return [
        SetRecord(key="quantum-engine", name="quantum angle, engine", family="angle",
                  images=_images(12, 1), quantum_parameters=32, classical_parameters=32,
                  train_seconds=1.5, sample_seconds=0.25, qpu_seconds_per_1000=2100.0,
                  target="engine", seed=5, history=history,
                  extra={"model": "quantum angle", "job_runs": ["a", "b"]}),
        SetRecord(key="recon", name="quantum state, aer", family="state", images=_images(5, 2),
                  quantum_parameters=8, classical_parameters=0, train_seconds=None,
                  sample_seconds=3.0, target="aer", seed=1,
                  labels=np.array([1, 0, 0, 1, 1]), pairs=np.array([4, 0, 2, 1, 3])),
        SetRecord(key="classical-usual-ddim", name="classical usual, DDIM 20", family="ddpm",
                  images=with_nan, quantum_parameters=0, classical_parameters=39312,
                  train_seconds=None, sample_seconds=0.7, target="cpu",
                  extra={"sampler": "ddim", "steps": 20, "prediction": "eps"}),
    ]  # fmt: skip


def test_roundtrip(tmp_path: Path) -> None:
    records = _records()
    write_sets(tmp_path, records, REPRESENTATION, seed=5, versions={"numpy": np.__version__})
    stored = read_sets(tmp_path)
    assert stored.directory == tmp_path
    assert stored.representation == REPRESENTATION
    assert stored.info == {"seed": 5, "versions": {"numpy": np.__version__}}
    assert [r.key for r in stored.records] == [r.key for r in records]
    for mine, back in zip(records, stored.records, strict=True):
        for name in ("key", "name", "family", "quantum_parameters", "classical_parameters",
                     "train_seconds", "sample_seconds", "qpu_seconds_per_1000", "target",
                     "seed", "extra"):  # fmt: skip
            assert getattr(back, name) == getattr(mine, name), name
        np.testing.assert_array_equal(back.images, mine.images)  # NaN rows included
        assert back.images.dtype == np.float64
        for name in ("labels", "pairs"):
            if getattr(mine, name) is None:
                assert getattr(back, name) is None, name
            else:
                np.testing.assert_array_equal(getattr(back, name), getattr(mine, name))
        if mine.history is None:
            assert back.history is None
        else:
            pd.testing.assert_frame_equal(back.history, mine.history)
        assert back.sample_seconds_per_1000 == pytest.approx(
            1000.0 * mine.sample_seconds / len(mine.images)
        )
    assert records[0].sample_seconds_per_1000 == pytest.approx(1000 * 0.25 / 12)


def test_files_and_manifest(tmp_path: Path) -> None:
    write_sets(tmp_path, _records(), REPRESENTATION)
    names = sorted(p.name for p in tmp_path.iterdir())
    # one history per set that has one, nothing half-written left behind
    assert names == sorted([SETS_FILE, ARRAYS_FILE, "history-quantum-engine.csv"])
    manifest = json.loads((tmp_path / SETS_FILE).read_text())
    assert manifest["representation"] == REPRESENTATION
    entries = {e["key"]: e for e in manifest["sets"]}
    assert entries["recon"]["count"] == 5
    assert entries["recon"]["has_labels"] and entries["recon"]["has_pairs"]
    assert not entries["recon"]["has_history"]
    assert entries["quantum-engine"]["has_history"]
    assert entries["quantum-engine"]["train_seconds"] == 1.5
    assert entries["recon"]["train_seconds"] is None
    assert not any(k in e for e in manifest["sets"] for k in ("images", "labels", "pairs"))
    with np.load(tmp_path / ARRAYS_FILE) as arrays:
        assert sorted(arrays.files) == sorted(
            ["quantum-engine", "recon", "recon__labels", "recon__pairs", "classical-usual-ddim"]
        )


def test_rewriting_a_directory_replaces_its_sets(tmp_path: Path) -> None:
    write_sets(tmp_path, _records(), REPRESENTATION)
    only = _records()[1]
    write_sets(tmp_path, [only], {**REPRESENTATION, "npix": 8})
    stored = read_sets(tmp_path)
    assert [r.key for r in stored.records] == ["recon"]
    assert stored.representation["npix"] == 8


def test_a_failed_write_leaves_no_temporary_files_and_no_manifest(tmp_path: Path) -> None:
    (tmp_path / ARRAYS_FILE).mkdir()  # the archive cannot be written
    with pytest.raises(QdmError, match=ARRAYS_FILE):
        write_sets(tmp_path, _records(), REPRESENTATION)
    names = [p.name for p in tmp_path.iterdir()]
    assert SETS_FILE not in names  # the directory is not mistaken for a complete one
    assert not [n for n in names if n.startswith(".")], names
    with pytest.raises(ConfigError, match="holds no generated jet images"):
        read_sets(tmp_path)


def test_duplicate_keys_are_rejected_before_anything_is_written(tmp_path: Path) -> None:
    first, second, _ = _records()
    twin = SetRecord(key=first.key, name="other", family="ddpm", images=second.images,
                     quantum_parameters=0, classical_parameters=1, train_seconds=None,
                     sample_seconds=1.0)  # fmt: skip
    with pytest.raises(ConfigError, match="unique") as caught:
        write_sets(tmp_path, [first, twin], REPRESENTATION)
    assert first.key in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_keys_that_would_collide_in_the_archive_are_rejected_or_kept_apart(
    tmp_path: Path,
) -> None:
    # A set's labels are stored under "<key>__labels"; another set keyed "<key>__labels" must not
    # overwrite them (either the key is refused or both sets survive the roundtrip intact).
    _, recon, _ = _records()
    try:
        clash = SetRecord(key="recon__labels", name="clash", family="ddpm",
                          images=_images(5, 9), quantum_parameters=0, classical_parameters=1,
                          train_seconds=None, sample_seconds=1.0)  # fmt: skip
        write_sets(tmp_path, [recon, clash], REPRESENTATION)
    except ConfigError:
        return
    stored = {r.key: r for r in read_sets(tmp_path).records}
    np.testing.assert_array_equal(stored["recon"].labels, recon.labels)
    np.testing.assert_array_equal(stored["recon__labels"].images, clash.images)


@pytest.mark.parametrize("key", ["", "a b", "../up", "x/y", "naïve", "run:1"])
def test_bad_keys_are_rejected(key: str) -> None:
    with pytest.raises(ConfigError, match="file-safe"):
        SetRecord(key=key, name="n", family="ddpm", images=_images(2, 0), quantum_parameters=0,
                  classical_parameters=0, train_seconds=None, sample_seconds=0.0)  # fmt: skip


def test_a_missing_directory_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such results directory"):
        read_sets(tmp_path / "nowhere")


def test_a_directory_without_sets_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "info.json").write_text("{}")
    with pytest.raises(ConfigError) as caught:
        read_sets(tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message and SETS_FILE in message
    assert "qdm run" in message and "\n" not in message


def _corrupt(directory: Path, how: str) -> None:
    arrays = directory / ARRAYS_FILE
    raw = arrays.read_bytes()
    if how == "garbage":
        arrays.write_bytes(b"not an archive" * 20)
    elif how == "truncated":
        arrays.write_bytes(raw[: len(raw) // 2])
    elif how == "flipped":
        damaged = bytearray(raw)
        damaged[60:90] = bytes(30)  # inside the first member's compressed data
        arrays.write_bytes(bytes(damaged))
    elif how == "missing_arrays":
        arrays.unlink()
    elif how == "missing_history":
        (directory / "history-quantum-engine.csv").unlink()
    elif how == "bad_json":
        (directory / SETS_FILE).write_text("{ not json")
    elif how == "no_sets_entry":
        (directory / SETS_FILE).write_text(json.dumps({"representation": REPRESENTATION}))
    elif how == "unknown_key":
        manifest = json.loads((directory / SETS_FILE).read_text())
        manifest["sets"][0]["key"] = "elsewhere"
        (directory / SETS_FILE).write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "how",
    ["garbage", "truncated", "flipped", "missing_arrays", "missing_history", "bad_json",
     "no_sets_entry", "unknown_key"],
)  # fmt: skip
def test_corrupt_or_incomplete_sets_are_a_data_error(tmp_path: Path, how: str) -> None:
    write_sets(tmp_path, _records(), REPRESENTATION)
    _corrupt(tmp_path, how)
    with pytest.raises(DataError, match="incomplete or corrupt") as caught:
        read_sets(tmp_path)
    assert str(tmp_path) in str(caught.value)
