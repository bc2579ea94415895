"""The evaluation table of :mod:`qdm_qiskit.results.evaluation` on the shipped jets.

Real validation jets must score like the real-vs-real floor, uniform-noise images far above
it; values of the ``all`` subset are recomputed here with scipy/qiskit from the images.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qiskit.quantum_info import Statevector
from qiskit.quantum_info import state_fidelity as qiskit_fidelity
from scipy import linalg, stats

from qdm_qiskit.data.format import GLUON, QUARK
from qdm_qiskit.data.images import image_observables, radial_profile
from qdm_qiskit.models.config import DataConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.results.evaluation import (
    MIN_IMAGES,
    OBSERVABLES,
    PHYSICS_METRICS,
    RealJets,
    SampleSet,
    evaluate,
    jet_features,
    valid_images,
)
from qdm_qiskit.results.metrics import ssim

BOOTSTRAP = 20
VALUE_COLUMNS = ["value", "uncertainty", "floor", "floor_uncertainty"]


@pytest.fixture(scope="module")
def data() -> JetImageData:
    return load_image_data(DataConfig(npix=4))


@pytest.fixture(scope="module")
def real(data: JetImageData) -> RealJets:
    test, train = data.splits.test, data.splits.train
    return RealJets(data.images[test], data.labels[test], data.images[train], data.labels[train])


def _uniform_images(n: int, seed: int, npix: int = 4) -> np.ndarray:
    images = np.random.default_rng(seed).random((n, npix, npix))
    return images / images.sum(axis=(1, 2), keepdims=True)


def _with_invalid(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy with NaN, inf, negative and empty images; returns it and the valid mask."""
    out = images.copy()
    bad = np.zeros(len(out), bool)
    out[3:23] = np.nan  # 20 all-NaN images
    out[30, 1, 2] = np.nan  # one NaN pixel
    out[31, 0, 0] = np.inf
    out[32, 2, 2] = -0.1
    out[33] = 0.0
    bad[[*range(3, 23), 30, 31, 32, 33]] = True
    return out, ~bad


@pytest.fixture(scope="module")
def sets(data: JetImageData, real: RealJets) -> dict[str, SampleSet]:
    validation = data.images[data.splits.validation]
    with_invalid, _ = _with_invalid(validation)
    n_test = len(real.reference)
    return {
        "validation": SampleSet("validation", validation),
        "uniform": SampleSet("uniform", _uniform_images(len(validation), seed=1)),
        "perfect": SampleSet(
            "perfect", real.reference.copy(), labels=real.reference_labels, pairs=np.arange(n_test)
        ),
        "with_invalid": SampleSet("with_invalid", with_invalid),
        "all_nan": SampleSet("all_nan", np.full((15, 4, 4), np.nan)),
    }


@pytest.fixture(scope="module")
def evaluation(sets: dict[str, SampleSet], real: RealJets):
    return evaluate(list(sets.values()), real, bootstrap=BOOTSTRAP, seed=0)


@pytest.fixture(scope="module")
def table(evaluation) -> pd.DataFrame:
    return evaluation.table


def _rows(table: pd.DataFrame, name: str, subset: str = "all") -> pd.DataFrame:
    return table[(table["set"] == name) & (table["subset"] == subset)].set_index("metric")


def _present_physics(rows: pd.DataFrame) -> list[str]:
    present = [m for m in PHYSICS_METRICS if m in rows.index]
    assert len(present) >= len(PHYSICS_METRICS) - 1  # only a constant observable may be missing
    return present


# --------------------------------------------------------------------------- table layout


def test_table_columns_and_one_row_per_metric(table: pd.DataFrame) -> None:
    assert list(table.columns) == [
        "set",
        "subset",
        "labels",
        "metric",
        "value",
        "uncertainty",
        "floor",
        "floor_uncertainty",
        "n",
        "n_reference",
        "n_invalid",
    ]
    assert not table.duplicated(["set", "subset", "metric"]).any()
    assert set(table["set"]) == {"validation", "uniform", "perfect", "with_invalid", "all_nan"}
    assert set(table["subset"]) == {"all", "quark", "gluon"}


def test_valid_images_mask(data: JetImageData) -> None:
    images, expected = _with_invalid(data.images[:50])
    np.testing.assert_array_equal(valid_images(images), expected)


# --------------------------------------------------------------------------- real vs noise


def test_real_validation_jets_score_like_the_floor(table: pd.DataFrame) -> None:
    for subset in ("all", "quark", "gluon"):
        rows = _rows(table, "validation", subset)
        for metric in _present_physics(rows):
            row = rows.loc[metric]
            sigma = np.hypot(row["uncertainty"], row["floor_uncertainty"])
            assert sigma > 0, (subset, metric)
            assert abs(row["value"] - row["floor"]) <= 5 * sigma, (subset, metric, row.to_dict())


def test_uniform_noise_is_far_above_the_floor(table: pd.DataFrame) -> None:
    rows = _rows(table, "uniform")
    for metric in _present_physics(rows):
        row = rows.loc[metric]
        sigma = np.hypot(row["uncertainty"], row["floor_uncertainty"])
        assert row["value"] > row["floor"] + 5 * sigma, (metric, row.to_dict())
    assert rows.loc["classifier_auc", "value"] > 0.95
    assert abs(rows.loc["classifier_auc", "floor"] - 0.5) < 0.1


def test_all_subset_values_match_independent_computations(
    table: pd.DataFrame, sets: dict[str, SampleSet], real: RealJets
) -> None:
    for name in ("validation", "uniform"):
        generated, reference = sets[name].images, real.reference
        rows = _rows(table, name)
        gen_obs, ref_obs = image_observables(generated), image_observables(reference)
        for obs in OBSERVABLES:
            if f"w1_{obs}" not in rows.index:
                continue
            expected = stats.wasserstein_distance(gen_obs[obs], ref_obs[obs])
            assert rows.loc[f"w1_{obs}", "value"] == pytest.approx(expected, rel=1e-9, abs=1e-14)
        expected = np.abs(radial_profile(generated).mean(0) - radial_profile(reference).mean(0))
        assert rows.loc["radial_profile_l1", "value"] == pytest.approx(expected.sum(), rel=1e-9)
        expected = np.abs(generated.mean(0) - reference.mean(0)).sum()
        assert rows.loc["mean_image_l1", "value"] == pytest.approx(expected, rel=1e-9)
        expected = stats.wasserstein_distance(generated.ravel(), reference.ravel())
        assert rows.loc["pixel_intensity_w1", "value"] == pytest.approx(expected, rel=1e-9)
        # FPD: Frechet distance of observable vectors scaled by the reference's max |value|.
        names = [o for o in OBSERVABLES if f"w1_{o}" in rows.index]
        scale = np.array([np.abs(ref_obs[o]).max() for o in names])
        g = np.stack([gen_obs[o] for o in names], axis=1) / scale
        r = np.stack([ref_obs[o] for o in names], axis=1) / scale
        s1, s2 = np.cov(g, rowvar=False), np.cov(r, rowvar=False)
        diff = g.mean(0) - r.mean(0)
        fpd = diff @ diff + np.trace(s1 + s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
        assert rows.loc["fpd", "value"] == pytest.approx(fpd, rel=1e-6, abs=1e-10)


def test_uncertainties_and_floors_are_finite_and_positive(table: pd.DataFrame) -> None:
    finite = table[table["set"].isin(["validation", "uniform"]) & (table["n"] >= MIN_IMAGES)]
    unpaired = finite[~finite["metric"].isin(["mse", "ssim", "fidelity"])]
    assert len(unpaired) > 0
    assert np.isfinite(unpaired[VALUE_COLUMNS].to_numpy()).all()
    assert (unpaired["uncertainty"] >= 0).all()
    assert (unpaired["floor_uncertainty"] > 0).all()
    # Real jets never separate perfectly, so their bootstrap spread is never zero (noise images
    # can reach AUC 1 in every replicate, hence zero spread).
    assert (unpaired[unpaired["set"] == "validation"]["uncertainty"] > 0).all()


# --------------------------------------------------------------------------- invalid images


def test_invalid_images_are_counted_and_left_out(
    table: pd.DataFrame, evaluation, sets: dict[str, SampleSet], real: RealJets
) -> None:
    _, keep = _with_invalid(sets["validation"].images)
    n_bad = int((~keep).sum())
    rows = table[table["set"] == "with_invalid"]
    assert (rows["n_invalid"] == n_bad).all()
    assert (_rows(table, "with_invalid")["n"] == keep.sum()).all()
    assert (table[table["set"] == "validation"]["n_invalid"] == 0).all()
    assert any("with_invalid" in note and str(n_bad) in note for note in evaluation.notes)
    # The values are those of the valid images alone (a clean set of exactly those images).
    clean = evaluate(
        [SampleSet("clean", sets["validation"].images[keep])],
        real,
        bootstrap=2,
        seed=0,
        subsets=("all",),
    ).table.set_index("metric")
    mine = _rows(table, "with_invalid")
    pd.testing.assert_series_equal(mine["value"], clean["value"], rtol=1e-12)
    pd.testing.assert_series_equal(mine["floor"], clean["floor"], rtol=1e-12)
    assert np.isfinite(mine["value"]).all()


def test_all_nan_set_gives_nan_rows_and_a_note(table: pd.DataFrame, evaluation) -> None:
    rows = table[table["set"] == "all_nan"]
    assert len(rows) > 0
    assert rows[VALUE_COLUMNS].isna().all().all()
    assert (rows["n"] == 0).all()
    assert (rows["n_invalid"] == 15).all()
    assert set(rows["metric"]) == set(_rows(table, "validation").index)
    assert any("all_nan" in note for note in evaluation.notes)


# --------------------------------------------------------------------------- observables


def test_constant_total_intensity_is_left_out_with_a_note(table: pd.DataFrame, evaluation) -> None:
    assert "w1_total_intensity" in PHYSICS_METRICS
    assert "w1_total_intensity" not in set(table["metric"])
    assert any("total_intensity" in note for note in evaluation.notes)
    for obs in OBSERVABLES:
        if obs != "total_intensity":
            assert f"w1_{obs}" in set(table["metric"]), obs


def test_varying_total_intensity_is_kept(data: JetImageData) -> None:
    rng = np.random.default_rng(3)
    scaled = data.images * rng.uniform(0.5, 2.0, size=(len(data.images), 1, 1))
    test, train = data.splits.test, data.splits.train
    real = RealJets(scaled[test], data.labels[test], scaled[train], data.labels[train])
    generated = scaled[data.splits.validation]
    result = evaluate([SampleSet("scaled", generated)], real, bootstrap=2, subsets=("all",))
    rows = result.table.set_index("metric")
    expected = stats.wasserstein_distance(
        generated.sum(axis=(1, 2)), real.reference.sum(axis=(1, 2))
    )
    assert rows.loc["w1_total_intensity", "value"] == pytest.approx(expected, rel=1e-9)
    assert not any("total_intensity" in note for note in result.notes)


def test_jet_features_columns(data: JetImageData) -> None:
    images = data.images[:20]
    features = jet_features(images)
    observed = image_observables(images)
    for k, name in enumerate(OBSERVABLES):
        expected = images.sum(axis=(1, 2)) if name == "total_intensity" else observed[name]
        np.testing.assert_allclose(features.observables[:, k], expected, rtol=1e-12)
    np.testing.assert_array_equal(features.pixels, images.reshape(20, -1))
    np.testing.assert_allclose(features.radial, radial_profile(images), rtol=1e-12)
    assert len(features.take(np.arange(5))) == 5


# --------------------------------------------------------------------------- subsets


def test_subset_labels_and_sizes(
    table: pd.DataFrame, sets: dict[str, SampleSet], real: RealJets
) -> None:
    for name in ("validation", "uniform", "with_invalid"):  # no labels: tagger subsets
        rows = table[table["set"] == name]
        assert set(rows[rows["subset"] == "all"]["labels"]) == {""}
        assert set(rows[rows["subset"] != "all"]["labels"]) == {"tagger"}
        n = {s: int(rows[rows["subset"] == s]["n"].iloc[0]) for s in ("all", "quark", "gluon")}
        ref = {s: int(rows[rows["subset"] == s]["n_reference"].iloc[0]) for s in n}
        # The tagger splits every image into quark-like or gluon-like.
        assert n["quark"] + n["gluon"] == n["all"]
        assert ref["quark"] + ref["gluon"] == ref["all"] == len(real.reference)
    rows = table[table["set"] == "perfect"]
    assert set(rows[rows["subset"] != "all"]["labels"]) == {"truth"}
    for subset, label in (("quark", QUARK), ("gluon", GLUON)):
        part = rows[rows["subset"] == subset]
        expected = int((real.reference_labels == label).sum())
        assert (part["n"] == expected).all()
        assert (part["n_reference"] == expected).all()
    # Tagged-quark real validation jets are mostly true quarks (the tagger is a real tagger).
    quark_rows = _rows(table, "validation", "quark")
    assert 0 < quark_rows["n"].iloc[0] < len(sets["validation"].images)


def test_truth_subsets_of_a_perfect_copy_match_the_reference(table: pd.DataFrame) -> None:
    for subset in ("quark", "gluon"):
        rows = _rows(table, "perfect", subset)
        for metric in [m for m in rows.index if m.startswith("w1_")]:
            assert rows.loc[metric, "value"] == pytest.approx(0.0, abs=1e-12), (subset, metric)
        assert rows.loc["mean_image_l1", "value"] == pytest.approx(0.0, abs=1e-12)
        assert rows.loc["fpd", "value"] == pytest.approx(0.0, abs=1e-8)


def test_subsets_argument_restricts_rows(sets: dict[str, SampleSet], real: RealJets) -> None:
    result = evaluate([sets["validation"]], real, bootstrap=2, subsets=("gluon",))
    assert set(result.table["subset"]) == {"gluon"}


# --------------------------------------------------------------------------- paired metrics


def test_paired_metrics_only_for_sets_with_pairs(table: pd.DataFrame) -> None:
    paired = table[table["metric"].isin(["mse", "ssim", "fidelity"])]
    assert set(paired["set"]) == {"perfect"}
    assert set(paired["subset"]) == {"all"}
    assert sorted(paired["metric"]) == ["fidelity", "mse", "ssim"]


def test_perfect_reconstruction_paired_values(table: pd.DataFrame) -> None:
    rows = _rows(table, "perfect")
    assert rows.loc["mse", "value"] == pytest.approx(0.0, abs=1e-15)
    assert rows.loc["ssim", "value"] == pytest.approx(1.0, abs=1e-12)
    assert rows.loc["fidelity", "value"] == pytest.approx(1.0, abs=1e-12)
    assert rows.loc["mse", "floor"] == 0.0
    assert rows.loc["ssim", "floor"] == rows.loc["fidelity", "floor"] == 1.0


def _amplitude_fidelity(a: np.ndarray, b: np.ndarray) -> float:
    """Fidelity of the amplitude encodings sqrt(image) (normalised) of two images."""
    return qiskit_fidelity(
        Statevector(np.sqrt(a.ravel() / a.sum())), Statevector(np.sqrt(b.ravel() / b.sum()))
    )


def _noisy_reconstruction(real: RealJets, n: int, normalise: bool) -> SampleSet:
    rng = np.random.default_rng(4)
    pairs = rng.permutation(len(real.reference))[:n]
    made = np.clip(real.reference[pairs] + 0.05 * rng.normal(size=(n, 4, 4)), 0.0, None)
    if normalise:
        made = made / made.sum(axis=(1, 2), keepdims=True)
    return SampleSet("noisy", made, labels=real.reference_labels[pairs], pairs=pairs)


def test_imperfect_reconstruction_paired_values(real: RealJets) -> None:
    recon = _noisy_reconstruction(real, 60, normalise=True)
    rows = evaluate([recon], real, bootstrap=2, subsets=("all",)).table.set_index("metric")
    originals = real.reference[recon.pairs]
    mse = np.array([np.mean((a - b) ** 2) for a, b in zip(recon.images, originals, strict=True)])
    ssims = np.array([ssim(a, b) for a, b in zip(recon.images, originals, strict=True)])
    fid = np.array(
        [_amplitude_fidelity(a, b) for a, b in zip(recon.images, originals, strict=True)]
    )
    for metric, per_image in (("mse", mse), ("ssim", ssims), ("fidelity", fid)):
        assert rows.loc[metric, "value"] == pytest.approx(per_image.mean(), rel=1e-9), metric
        assert rows.loc[metric, "uncertainty"] == pytest.approx(
            per_image.std(ddof=1) / np.sqrt(len(per_image)), rel=1e-6
        ), metric
    assert 0 < rows.loc["fidelity", "value"] < 1
    assert rows.loc["ssim", "value"] < 1
    assert rows.loc["mse", "value"] > 0


def test_fidelity_of_unnormalised_reconstructions_is_amplitude_encoding_fidelity(
    real: RealJets,
) -> None:
    # Reconstructions need not sum to one (valid_images only asks for a positive total); the
    # amplitude encoding normalises them, so the fidelity stays in [0, 1] and a reconstruction
    # that is the original times a constant has fidelity 1.
    recon = _noisy_reconstruction(real, 60, normalise=False)
    scaled = SampleSet("scaled", 2.0 * real.reference[:40], pairs=np.arange(40))
    result = evaluate([recon, scaled], real, bootstrap=2, subsets=("all",)).table
    originals = real.reference[recon.pairs]
    fid = np.array(
        [_amplitude_fidelity(a, b) for a, b in zip(recon.images, originals, strict=True)]
    )
    noisy = _rows(result, "noisy")
    assert noisy.loc["fidelity", "value"] <= 1.0
    assert noisy.loc["fidelity", "value"] == pytest.approx(fid.mean(), rel=1e-9)
    assert _rows(result, "scaled").loc["fidelity", "value"] == pytest.approx(1.0, abs=1e-12)


def test_paired_rows_skip_invalid_reconstructions(real: RealJets) -> None:
    images = real.reference[:40].copy()
    images[5] = np.nan
    images[7, 0, 0] = -1.0
    recon = SampleSet("recon", images, pairs=np.arange(40))
    rows = evaluate([recon], real, bootstrap=2, subsets=("all",)).table.set_index("metric")
    assert rows.loc["mse", "value"] == pytest.approx(0.0, abs=1e-15)
    assert rows.loc["fidelity", "value"] == pytest.approx(1.0, abs=1e-12)
    assert rows.loc["mse", "n"] == 38
    assert rows.loc["mse", "n_invalid"] == 2


# --------------------------------------------------------------------------- determinism, floor


def test_same_seed_gives_identical_tables(sets: dict[str, SampleSet], real: RealJets) -> None:
    chosen = [sets["validation"], sets["perfect"], sets["all_nan"]]
    first = evaluate(chosen, real, bootstrap=3, seed=5)
    second = evaluate(chosen, real, bootstrap=3, seed=5)
    pd.testing.assert_frame_equal(first.table, second.table)
    assert first.notes == second.notes
    other = evaluate(chosen, real, bootstrap=3, seed=6)
    assert not np.allclose(
        other.table["uncertainty"].fillna(0), first.table["uncertainty"].fillna(0)
    )


def _scipy_metrics(generated: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """The unpaired ``all``-subset metrics recomputed with scipy (see the test above)."""
    gen_obs, ref_obs = image_observables(generated), image_observables(reference)
    out = {}
    for obs in ("mass_over_pt", "ptd", "girth", "width", "active_pixels", "peak"):
        out[f"w1_{obs}"] = stats.wasserstein_distance(gen_obs[obs], ref_obs[obs])
    radial = radial_profile(generated).mean(0) - radial_profile(reference).mean(0)
    out["radial_profile_l1"] = np.abs(radial).sum()
    out["mean_image_l1"] = np.abs(generated.mean(0) - reference.mean(0)).sum()
    out["pixel_intensity_w1"] = stats.wasserstein_distance(generated.ravel(), reference.ravel())
    names = ["mass_over_pt", "ptd", "girth", "width", "active_pixels", "peak"]
    scale = np.array([np.abs(ref_obs[o]).max() for o in names])
    g = np.stack([gen_obs[o] for o in names], axis=1) / scale
    r = np.stack([ref_obs[o] for o in names], axis=1) / scale
    s1, s2 = np.cov(g, rowvar=False), np.cov(r, rowvar=False)
    diff = g.mean(0) - r.mean(0)
    out["fpd"] = diff @ diff + np.trace(s1 + s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real)
    return out


def _assert_floors(rows: pd.DataFrame, expected: dict[str, float], where: object) -> None:
    for metric, value in expected.items():
        tolerance = 1e-10 if metric != "fpd" else 1e-8
        assert rows.loc[metric, "floor"] == pytest.approx(value, rel=1e-6, abs=tolerance), (
            where,
            metric,
        )


@pytest.mark.parametrize("pool_size", ["reference", 50])
def test_floor_from_a_pool_no_larger_than_the_reference_is_the_whole_pool(
    data: JetImageData, real: RealJets, pool_size: str | int
) -> None:
    # The floor compares min(len(reference), len(pool)) real pool jets with the reference:
    # with a pool of exactly that size (or smaller) it is the metric of the whole pool, for
    # every set whatever the set's own size.
    size = len(real.reference) if pool_size == "reference" else int(pool_size)
    pool, pool_labels = real.pool[:size], real.pool_labels[:size]
    mine = RealJets(real.reference, real.reference_labels, pool, pool_labels)
    small = SampleSet("small", _uniform_images(40, seed=9))
    large = SampleSet("large", _uniform_images(250, seed=11))
    table = evaluate([small, large], mine, bootstrap=2, subsets=("all",)).table
    expected = _scipy_metrics(pool, real.reference)
    for name, n in (("small", 40), ("large", 250)):
        rows = _rows(table, name)
        assert (rows["n"] == n).all()
        assert (rows["n_reference"] == len(real.reference)).all()
        _assert_floors(rows, expected, (pool_size, name))
    # and the real-vs-real classifier cannot tell the pool from the reference
    assert abs(_rows(table, "small").loc["classifier_auc", "floor"] - 0.5) < 0.15


def test_truth_subset_floors_compare_the_pool_class_with_the_reference_class(
    data: JetImageData, real: RealJets
) -> None:
    # A pool holding exactly as many quarks and gluons as the reference: each truth-label
    # subset's floor is the metric of the pool's whole class against the reference's class.
    parts = []
    for label in (QUARK, GLUON):
        count = int((real.reference_labels == label).sum())
        parts.append(np.flatnonzero(real.pool_labels == label)[:count])
    chosen = np.concatenate(parts)
    mine = RealJets(
        real.reference, real.reference_labels, real.pool[chosen], real.pool_labels[chosen]
    )
    perfect = SampleSet(
        "perfect",
        real.reference.copy(),
        labels=real.reference_labels,
        pairs=np.arange(len(real.reference)),
    )
    table = evaluate([perfect], mine, bootstrap=2).table
    for subset, label in (("all", None), ("quark", QUARK), ("gluon", GLUON)):
        in_ref = np.ones(len(real.reference), bool)
        in_pool = np.ones(len(chosen), bool)
        if label is not None:
            in_ref, in_pool = real.reference_labels == label, mine.pool_labels == label
        assert in_ref.sum() == in_pool.sum() >= MIN_IMAGES
        expected = _scipy_metrics(mine.pool[in_pool], real.reference[in_ref])
        _assert_floors(_rows(table, "perfect", subset), expected, subset)


@pytest.mark.parametrize("drop", [0, 1, 200])
def test_floor_with_the_reference_as_pool_is_zero_for_every_set_size(
    data: JetImageData, drop: int
) -> None:
    # Pool = the reference itself: the floor sample has the reference's size, so it is all of
    # the reference and every distribution distance of the floor is 0, whatever the set's size.
    test = data.splits.test
    reference, labels = data.images[test], data.labels[test]
    real = RealJets(reference, labels, reference, labels)
    n = len(reference) - drop
    generated = _uniform_images(n, seed=10)
    rows = evaluate([SampleSet("u", generated)], real, bootstrap=2, subsets=("all",))
    rows = rows.table.set_index("metric")
    assert (rows["n"] == n).all()
    w1 = [m for m in rows.index if m.startswith("w1_")]
    distances = [*w1, "mean_image_l1", "radial_profile_l1", "pixel_intensity_w1", "fpd"]
    np.testing.assert_allclose(rows.loc[distances, "floor"].to_numpy(), 0.0, atol=1e-9)
    # the generated set itself is far from it
    assert (rows.loc[distances, "value"] > 1e-3).all()


def test_every_set_shares_the_floor_of_its_subset(
    sets: dict[str, SampleSet], table: pd.DataFrame
) -> None:
    # The sets differ in size (with_invalid keeps fewer valid images) and in what they hold,
    # yet one floor serves every set of a subset and label source.
    sizes = {name: int(_rows(table, name)["n"].iloc[0]) for name in sets}
    assert sizes["with_invalid"] < sizes["validation"]
    columns = ["floor", "floor_uncertainty"]
    compared = 0
    for subset in ("all", "quark", "gluon"):
        first = _rows(table, "validation", subset)[columns]
        assert np.isfinite(first.to_numpy()).all(), subset
        for name in ("uniform", "with_invalid"):
            other = _rows(table, name, subset)
            if other["n"].iloc[0] < MIN_IMAGES:  # too few tagged images: no row to compare
                assert other["floor"].isna().all()
                continue
            pd.testing.assert_frame_equal(first, other[columns])
            compared += 1
    assert compared >= 5
    # all jets: even the set with true labels uses the same real-vs-real sample
    everyone = _rows(table, "perfect")[columns]
    unpaired = everyone.drop(index=["mse", "ssim", "fidelity"])
    pd.testing.assert_frame_equal(unpaired, _rows(table, "validation")[columns])
    # quark/gluon with true labels compare true classes, not tagged ones: another floor
    truth = _rows(table, "perfect", "quark")["floor"]
    assert not np.allclose(truth.to_numpy(), _rows(table, "validation", "quark")["floor"])


def test_floor_does_not_depend_on_the_other_sets(
    sets: dict[str, SampleSet], table: pd.DataFrame, real: RealJets
) -> None:
    # A set evaluated alone (and smaller) gets the very floors it gets among other sets.
    alone = SampleSet("alone", sets["validation"].images[:100])
    result = evaluate([alone], real, bootstrap=BOOTSTRAP, seed=0).table
    columns = ["floor", "floor_uncertainty", "n_reference"]
    for subset in ("all", "quark", "gluon"):
        mine = _rows(result, "alone", subset)
        assert (mine["n"] >= MIN_IMAGES).all()
        assert (mine["n"] < _rows(table, "validation", subset)["n"]).all()
        pd.testing.assert_frame_equal(mine[columns], _rows(table, "validation", subset)[columns])


def test_small_subsets_are_nan_not_errors(real: RealJets) -> None:
    few = SampleSet("few", real.reference[: MIN_IMAGES - 1].copy())
    table = evaluate([few], real, bootstrap=2).table
    assert table[VALUE_COLUMNS].isna().all().all()
    assert (table[table["subset"] == "all"]["n"] == MIN_IMAGES - 1).all()
