"""Primitive results as tidy tables, checked against counts computed independently."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from qiskit.primitives import BitArray

from qdm_qiskit.results.tidy import (
    COUNT_COLUMNS,
    EXPECTATION_COLUMNS,
    PubKey,
    counts_frame,
    expectations_frame,
    parameters_frame,
    with_quasi_probabilities,
)


def _key(start: int = 0) -> PubKey:
    return PubKey("run-1", 3, "job-abc", "circ/0002", "circ", start)


def _samples(rng: np.random.Generator, bindings: int, shots: int, num_bits: int) -> list[list[int]]:
    """Random outcomes, few distinct values per binding so counts are above one."""
    high = min(2**num_bits, 2**20)
    out = []
    for _ in range(bindings):
        palette = rng.integers(0, high, size=6)
        out.append([int(v) for v in rng.choice(palette, size=shots)])
    return out


def _bit_array(samples: list[list[int]], num_bits: int, shape: tuple[int, ...]) -> BitArray:
    arrays = [BitArray.from_samples(s, num_bits=num_bits).array for s in samples]
    stacked = np.stack(arrays)
    return BitArray(stacked.reshape(*shape, *stacked.shape[1:]), num_bits)


def _frame_counts(frame: pd.DataFrame, binding: int) -> dict[str, int]:
    rows = frame[frame["binding"] == binding]
    return dict(zip(rows["bitstring"], rows["count"].astype(int), strict=True))


@pytest.mark.parametrize("num_bits", [1, 3, 8, 9, 12, 17])
def test_counts_frame_matches_get_counts_for_every_binding(num_bits):
    rng = np.random.default_rng(num_bits)
    bindings, shots, start = 7, 40, 12
    samples = _samples(rng, bindings, shots, num_bits)
    bits = _bit_array(samples, num_bits, (bindings,))
    frame = counts_frame(_key(start), "meas", bits)

    assert list(frame.columns) == list(COUNT_COLUMNS)
    assert sorted(set(frame["binding"])) == list(range(start, start + bindings))
    for i in range(bindings):
        expected = Counter(format(v, f"0{num_bits}b") for v in samples[i])
        assert _frame_counts(frame, start + i) == dict(expected)
        assert _frame_counts(frame, start + i) == bits.get_counts(i)
    assert (frame["shots"] == shots).all()
    assert frame.groupby("binding")["count"].sum().eq(shots).all()
    assert not frame.duplicated(["binding", "bitstring"]).any()
    assert (frame["bitstring"].str.len() == num_bits).all()
    ids = frame[["run_id", "job_index", "job_id", "pub_id", "circuit", "register"]]
    assert ids.drop_duplicates().values.tolist() == [
        ["run-1", 3, "job-abc", "circ/0002", "circ", "meas"]
    ]


def test_counts_frame_two_dimensional_shape_is_flattened_row_major():
    rng = np.random.default_rng(5)
    samples = _samples(rng, 6, 30, 10)
    bits = _bit_array(samples, 10, (2, 3))
    frame = counts_frame(_key(100), "c", bits)
    for i in range(2):
        for j in range(3):
            assert _frame_counts(frame, 100 + 3 * i + j) == bits.get_counts((i, j))


def test_counts_frame_single_binding_without_shape():
    bits = BitArray.from_samples(["101", "101", "011", "000"], num_bits=3)
    assert bits.shape == ()
    frame = counts_frame(_key(4), "r", bits)
    assert set(frame["binding"]) == {4}
    assert _frame_counts(frame, 4) == {"101": 2, "011": 1, "000": 1}


def test_counts_frame_keeps_bindings_apart_for_wide_registers():
    # 60-bit register, 32 bindings: bindings must not merge however the rows are keyed.
    rng = np.random.default_rng(11)
    num_bits, bindings, shots = 60, 32, 10
    samples = [[int(v) for v in rng.integers(0, 2**60, size=shots)] for _ in range(bindings)]
    bits = _bit_array(samples, num_bits, (bindings,))
    frame = counts_frame(_key(0), "wide", bits)
    assert sorted(set(frame["binding"])) == list(range(bindings))
    for i in range(bindings):
        assert _frame_counts(frame, i) == bits.get_counts(i)


def test_counts_frame_rejects_registers_wider_than_63_bits():
    bits = BitArray.from_samples([0, 1], num_bits=64)
    with pytest.raises(ValueError, match="64 bits"):
        counts_frame(_key(), "big", bits)


def test_expectations_frame_is_observable_major():
    rng = np.random.default_rng(2)
    names = ["ZZ", "XI", "IY"]
    evs = rng.uniform(-1, 1, size=(3, 4))
    stds = rng.uniform(0, 0.1, size=(3, 4))
    frame = expectations_frame(_key(8), names, evs, stds)
    assert list(frame.columns) == list(EXPECTATION_COLUMNS)
    assert len(frame) == 12
    for o, name in enumerate(names):
        for b in range(4):
            row = frame.iloc[o * 4 + b]
            assert (row["observable"], row["binding"]) == (name, 8 + b)
            assert row["value"] == evs[o, b]
            assert row["stderr"] == stds[o, b]
    assert (frame["job_id"] == "job-abc").all() and (frame["pub_id"] == "circ/0002").all()


def test_expectations_frame_broadcasts_per_observable_stderr():
    evs = np.arange(6, dtype=float).reshape(2, 3)
    stds = np.array([[0.1], [0.2]])
    frame = expectations_frame(_key(0), ["A", "B"], evs, stds)
    assert frame["stderr"].tolist() == [0.1, 0.1, 0.1, 0.2, 0.2, 0.2]
    assert frame["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert frame["binding"].tolist() == [0, 1, 2, 0, 1, 2]


def test_with_quasi_probabilities_matches_by_binding_and_bitstring():
    samples = [["00", "00", "11"], ["01", "11", "11"]]
    bits = _bit_array(samples, 2, (2,))
    frame = counts_frame(_key(5), "meas", bits)
    quasis = [{"00": 0.7, "11": 0.3, "10": 0.0}, {"01": 0.25, "11": 0.8, "00": -0.05}]
    result = with_quasi_probabilities(frame, quasis, 5)
    assert "quasi_probability" not in frame.columns  # the input is not modified
    assert list(result.columns) == [*COUNT_COLUMNS, "quasi_probability"]
    for _, row in result.iterrows():
        expected = quasis[row["binding"] - 5][row["bitstring"]]
        assert row["quasi_probability"] == pytest.approx(expected)
    # A bit string without a quasi-probability gets 0.
    partial = with_quasi_probabilities(frame, [{"00": 1.0}, {}], 5)
    assert partial["quasi_probability"].tolist() == [
        1.0 if (b, s) == (5, "00") else 0.0
        for b, s in zip(frame["binding"], frame["bitstring"], strict=True)
    ]


def test_parameters_frame_long_form():
    values = np.array([[0.1, -0.2, 0.3], [1.1, 1.2, -1.3]])
    frame = parameters_frame("run-9", "circ", ["a", "b", "c"], values)
    assert list(frame.columns) == ["run_id", "circuit", "binding", "parameter", "value"]
    assert len(frame) == 6
    for b in range(2):
        for j, name in enumerate("abc"):
            row = frame[(frame["binding"] == b) & (frame["parameter"] == name)]
            assert row["value"].tolist() == [values[b, j]]
    assert (frame["run_id"] == "run-9").all() and (frame["circuit"] == "circ").all()
    wide = frame.pivot(index="binding", columns="parameter", values="value")
    np.testing.assert_array_equal(wide[["a", "b", "c"]].to_numpy(), values)
