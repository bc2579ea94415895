"""The evaluation must tell known-good from known-bad sets of 8x8 jet images.

Against the real jets as ``qdm compare`` builds them (reference = test split, floor pool =
training split, holdout = validation split):

- real held-out jets score like the floor (the classifier cannot separate them);
- the mean image repeated, and i.i.d. uniform noise, are separated perfectly; the mean image has
  no variance and no distinct images;
- a "memoriser" returning training jets passes the classifier test (its jets are real) but is
  caught by ``memorised_fraction``;
- floors are floors: real held-out jets do not beat them, also for sets larger than the
  reference, and each set size gets its own floor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qdm_qiskit.models.config import DataConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.results.evaluation import RealJets, SampleSet, evaluate
from qdm_qiskit.workflows.compare import real_jets

NPIX = 8


@pytest.fixture(scope="module")
def data() -> JetImageData:
    """1200 jets: 960 training, 120 validation, 120 test."""
    return load_image_data(DataConfig(npix=NPIX, max_jets=1200))


@pytest.fixture(scope="module")
def full() -> JetImageData:
    """Every shipped jet, as ``qdm compare`` uses them: 2400 training, 300 validation, 300 test.

    With 120 reference jets the classifier ties a few held-out real jets with the repeated mean
    image (AUC 0.967-0.99 by seed); with 300 it separates it perfectly.
    """
    return load_image_data(DataConfig(npix=NPIX))


@pytest.fixture(scope="module")
def table(full: JetImageData) -> pd.DataFrame:
    real = real_jets(full)
    assert real.holdout is not None
    validation, train = full.part("validation"), full.part("train")
    n = len(validation)
    noise = np.random.default_rng(1).random((n, NPIX, NPIX))
    sets = [
        SampleSet("validation", validation),
        SampleSet("mean", np.repeat(train.mean(axis=0, keepdims=True), n, axis=0)),
        SampleSet("noise", noise / noise.sum(axis=(1, 2), keepdims=True)),
        SampleSet("memoriser", train[np.random.default_rng(2).permutation(len(train))[:n]]),
    ]
    return evaluate(sets, real, bootstrap=3, seed=0, subsets=("all",)).table


def _rows(table: pd.DataFrame, name: str) -> pd.DataFrame:
    return table[table["set"] == name].set_index("metric")


def test_real_held_out_jets_cannot_be_told_from_the_reference(table: pd.DataFrame) -> None:
    rows = _rows(table, "validation")
    assert abs(rows.loc["classifier_auc", "value"] - 0.5) < 0.1
    assert abs(rows.loc["classifier_auc", "floor"] - 0.5) < 0.1
    assert rows.loc["distinct_fraction", "value"] == 1.0
    assert rows.loc["variance_ratio", "value"] == pytest.approx(1.0, abs=0.35)


def test_the_mean_image_repeated_is_caught(table: pd.DataFrame) -> None:
    rows = _rows(table, "mean")
    assert rows.loc["classifier_auc", "value"] >= 0.99
    assert rows.loc["variance_ratio", "value"] < 0.01
    assert rows.loc["distinct_fraction", "value"] < 0.05
    assert rows.loc["variance_ratio", "floor"] > 0.5  # a real sample of its size does vary


def test_uniform_noise_is_caught(table: pd.DataFrame) -> None:
    rows = _rows(table, "noise")
    assert rows.loc["classifier_auc", "value"] >= 0.99
    assert rows.loc["distinct_fraction", "value"] == 1.0  # noise is varied, but not jet-like


def test_copies_of_training_jets_are_caught_as_memorised(table: pd.DataFrame) -> None:
    memoriser, validation = _rows(table, "memoriser"), _rows(table, "validation")
    assert memoriser.loc["memorised_fraction", "value"] > 0.9
    # real jets no model trained on: at the threshold's 1% quantile, well below 5%
    assert validation.loc["memorised_fraction", "value"] <= 0.05
    floor = memoriser.loc["memorised_fraction", "floor"]
    assert 0.0 <= floor <= 0.05
    assert memoriser.loc["memorised_fraction", "floor_uncertainty"] == pytest.approx(
        np.sqrt(floor * (1 - floor) / 300)
    )
    # the floor is the held-out (validation) jets' own fraction
    assert validation.loc["memorised_fraction", "value"] == pytest.approx(floor)
    # the memoriser's jets are real jets: the classifier test alone would pass it
    assert abs(memoriser.loc["classifier_auc", "value"] - 0.5) < 0.1
    assert memoriser.loc["distinct_fraction", "value"] == 1.0
    for name in ("mean", "noise"):
        assert _rows(table, name).loc["memorised_fraction", "value"] <= 0.05, name


def test_floors_are_floors_for_a_set_larger_than_the_reference(data: JetImageData) -> None:
    # 200 real jets no model trained on (the validation split and 80 training jets kept out of
    # the pool) against the 120 reference jets: the floor sample has 200 jets too, so the set
    # does not beat it by more than its uncertainty, and the 120-jet set gets another floor.
    train = data.part("train")
    real = RealJets(data.part("test"), data.labels[data.splits.test], train[80:],
                    data.labels[data.splits.train][80:], data.part("validation"))  # fmt: skip
    larger = np.concatenate([data.part("validation"), train[:80]])
    sets = [SampleSet("real 200", larger), SampleSet("real 120", data.part("validation"))]
    table = evaluate(sets, real, bootstrap=5, seed=0, subsets=("all",)).table
    rows = _rows(table, "real 200")
    assert (rows["n"] == 200).all()
    assert (rows["n_reference"] == 120).all()
    for metric in ("mean_image_l1", "wootters_mean_image"):
        row = rows.loc[metric]
        sigma = np.hypot(row["uncertainty"], row["floor_uncertainty"])
        assert row["value"] >= row["floor"] - 2 * sigma, (metric, row.to_dict())
    # floor sample size = set size: different sizes, different floors (every bootstrapped
    # metric; the distinct fraction of two real samples is 1 either way, and the extrapolated FPD
    # of two real samples is clipped at 0 at any size)
    other = _rows(table, "real 120")
    assert (other["n"] == 120).all()
    metrics = [m for m in rows.index if m not in ("distinct_fraction", "memorised_fraction")]
    same = rows.loc[metrics, "floor"] == other.loc[metrics, "floor"]
    assert all(rows.loc[m, "floor"] == 0.0 for m in same[same].index), rows.loc[metrics][same]
    assert same[same].index.isin(["fpd"]).all(), rows.loc[metrics][same]
    # ...but one memorisation floor: it is the held-out jets' property, not the set's
    assert rows.loc["memorised_fraction", "floor"] == other.loc["memorised_fraction", "floor"]
