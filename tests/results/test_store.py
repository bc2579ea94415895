"""The results store: per-job parts, provenance in every Parquet file, combine and load."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from qiskit.primitives import BitArray

from qdm_qiskit.errors import ConfigError, DataError
from qdm_qiskit.results.store import ResultStore, parquet_provenance
from qdm_qiskit.results.tidy import PubKey, counts_frame, expectations_frame, parameters_frame

RUN = "20260101-000000-abcdef"
INFO = {"run_id": RUN, "target": "aer", "seed": 7, "config": {"shots": 50}, "jobs": 2}


def _counts(job_index: int, start: int, seed: int, bindings: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arrays = [
        BitArray.from_samples([int(v) for v in rng.integers(0, 4, size=50)], num_bits=2).array
        for _ in range(bindings)
    ]
    bits = BitArray(np.stack(arrays), 2)
    key = PubKey(RUN, job_index, f"id-{job_index}", f"c/{job_index:04d}", "c", start)
    return counts_frame(key, "meas", bits)


def _values() -> np.ndarray:
    return np.arange(12, dtype=float).reshape(6, 2) / 10.0


@pytest.fixture
def store(tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "results")
    store.write_info(RUN, INFO)
    store.write_parameters(RUN, parameters_frame(RUN, "c", ["theta", "alpha"], _values()))
    return store


def _sort(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["circuit", "binding", "register", "bitstring"]
    return frame.sort_values(keys, ignore_index=True)


def test_round_trip(store, tmp_path):
    part0, part1 = _counts(0, 0, 1), _counts(1, 3, 2)
    assert store.write_job(RUN, 0, "counts", part0, b'{"raw": 0}') == len(part0)
    assert store.write_job(RUN, 1, "counts", part1, b'{"raw": 1}') == len(part1)
    run_dir = tmp_path / "results" / RUN
    assert (run_dir / "raw" / "job-0000.json").read_bytes() == b'{"raw": 0}'
    assert (run_dir / "raw" / "job-0001.json").read_bytes() == b'{"raw": 1}'
    assert json.loads((run_dir / "run.json").read_text()) == INFO

    results = store.load(RUN)
    assert results.run_id == RUN
    assert results.info == INFO
    assert results.jobs_collected == (0, 1)
    assert results.expectations is None
    expected = _sort(pd.concat([part0, part1], ignore_index=True))
    pd.testing.assert_frame_equal(
        _sort(results.counts), expected, check_dtype=False, check_index_type=False
    )
    assert len(results.parameters) == 12

    store.combine(RUN)
    combined = pd.read_parquet(run_dir / "counts.parquet")
    pd.testing.assert_frame_equal(_sort(combined), expected, check_dtype=False)
    assert not (run_dir / "expectations.parquet").exists()


def test_every_parquet_file_carries_run_json(store, tmp_path):
    store.write_job(RUN, 0, "counts", _counts(0, 0, 1), b"{}")
    store.combine(RUN)
    run_dir = tmp_path / "results" / RUN
    files = [
        run_dir / "parameters.parquet",
        run_dir / "parts" / "job-0000.counts.parquet",
        run_dir / "counts.parquet",
    ]
    for path in files:
        assert parquet_provenance(path) == INFO


def test_parquet_provenance_needs_qdm_metadata(tmp_path):
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), path)
    with pytest.raises(DataError, match="no qdm provenance"):
        parquet_provenance(path)


def test_parts_are_replaced_atomically_under_the_same_name(store, tmp_path):
    first, second = _counts(3, 0, 1), _counts(3, 0, 99)
    assert not first.equals(second)
    store.write_job(RUN, 3, "counts", first, b"first")
    part = tmp_path / "results" / RUN / "parts" / "job-0003.counts.parquet"
    with open(part, "rb") as old:  # a reader holding the old file keeps reading it whole
        store.write_job(RUN, 3, "counts", second, b"second")
        assert pq.read_table(pa.BufferReader(old.read())).num_rows == len(first)
    parts = sorted(p.name for p in part.parent.iterdir())
    assert parts == ["job-0003.counts.parquet"]
    assert not list((tmp_path / "results").rglob("*.tmp"))
    loaded = store.load(RUN)
    pd.testing.assert_frame_equal(_sort(loaded.counts), _sort(second), check_dtype=False)
    assert (tmp_path / "results" / RUN / "raw" / "job-0003.json").read_bytes() == b"second"
    assert loaded.jobs_collected == (3,)


def test_combine_deduplicates_rows_stored_twice(store, tmp_path):
    # The same job's rows stored under two part names (a re-collected job) count once.
    frame = _counts(0, 0, 1)
    store.write_job(RUN, 0, "counts", frame, b"{}")
    store.write_job(RUN, 1, "counts", frame.assign(job_index=1), b"{}")
    store.combine(RUN)
    combined = pd.read_parquet(tmp_path / "results" / RUN / "counts.parquet")
    assert len(combined) == len(frame)
    assert not combined.duplicated(["circuit", "binding", "register", "bitstring"]).any()
    assert combined.groupby("binding")["count"].sum().eq(50).all()


def test_expectations_round_trip(store):
    evs = np.array([[0.5, -0.25, 0.125], [0.0, 1.0, -1.0]])
    key = PubKey(RUN, 0, "id-0", "c/0000", "c", 2)
    frame = expectations_frame(key, ["ZZ", "XX"], evs, np.full_like(evs, 0.01))
    store.write_job(RUN, 0, "expectations", frame, b"{}")
    results = store.load(RUN)
    assert results.counts is None
    table = results.expectations.set_index(["binding", "observable"])["value"]
    for o, name in enumerate(["ZZ", "XX"]):
        for b in range(3):
            assert table[(2 + b, name)] == evs[o, b]


def test_write_job_refuses_unknown_table(store):
    with pytest.raises(ValueError, match="table must be one of"):
        store.write_job(RUN, 0, "histograms", _counts(0, 0, 1), b"{}")


def test_load_missing_run(tmp_path):
    with pytest.raises(ConfigError, match="no results for run 'nope'"):
        ResultStore(tmp_path / "results").load("nope")


def test_parameter_table_and_with_parameters(store):
    part = _counts(0, 2, 5, bindings=4)  # bindings 2..5
    store.write_job(RUN, 0, "counts", part, b"{}")
    results = store.load(RUN)
    values = _values()

    wide = results.parameter_table("c")
    assert list(wide.index) == list(range(6))
    assert sorted(wide.columns) == ["alpha", "theta"]
    np.testing.assert_array_equal(wide["theta"].to_numpy(), values[:, 0])
    np.testing.assert_array_equal(wide["alpha"].to_numpy(), values[:, 1])

    joined = results.with_parameters("counts", "c")
    assert len(joined) == len(part)
    for _, row in joined.iterrows():
        assert row["theta"] == values[row["binding"], 0]
        assert row["alpha"] == values[row["binding"], 1]

    with pytest.raises(ConfigError, match="no circuit 'other'"):
        results.parameter_table("other")
    with pytest.raises(ConfigError, match="no 'expectations' table"):
        results.with_parameters("expectations", "c")
    with pytest.raises(ConfigError, match="no 'parameters' table"):
        results.with_parameters("parameters", "c")
