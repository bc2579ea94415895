"""The evaluation table of :mod:`qdm_qiskit.results.evaluation` on the shipped jets.

Real validation jets must score like the real-vs-real floor, uniform-noise images far above
it; values of the ``all`` subset are recomputed here with scipy/numpy/qiskit from the images.
The floor is a real pool sample of each set's own size: sets of one size share it, sets of
different sizes do not. (The known-good/known-bad sets on 8x8 images are in
``test_evaluation_known_sets.py``.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from qiskit.quantum_info import Statevector
from qiskit.quantum_info import state_fidelity as qiskit_fidelity
from scipy import linalg, stats
from scipy.spatial.distance import cdist

from qdm_qiskit.data.format import GLUON, QUARK
from qdm_qiskit.data.images import image_observables, radial_profile
from qdm_qiskit.data.substructure import image_efps, image_nsubjettiness
from qdm_qiskit.models.config import DataConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.results.classifier import classifier_auc
from qdm_qiskit.results.evaluation import (
    DIVERSITY_METRICS,
    MIN_IMAGES,
    OBSERVABLES,
    PHYSICS_METRICS,
    RealJets,
    SampleSet,
    evaluate,
    jet_features,
    valid_images,
)
from qdm_qiskit.results.metrics import frechet_distance_extrapolated, ssim

BOOTSTRAP = 5
VALUE_COLUMNS = ["value", "uncertainty", "floor", "floor_uncertainty"]
#: Rows that are not bootstrapped: paired means (standard errors) and fractions (binomial).
NOT_BOOTSTRAPPED = ["mse", "ssim", "fidelity", "distinct_fraction", "memorised_fraction"]


@pytest.fixture(scope="module")
def data() -> JetImageData:
    """1500 jets: 1200 training (the floor pool), 150 validation, 150 test (the reference)."""
    return load_image_data(DataConfig(npix=4, max_jets=1500))


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


def _bootstrapped(rows: pd.DataFrame) -> list[str]:
    """The metrics of ``rows`` with bootstrap errors (every one but the paired and fractions)."""
    present = [m for m in rows.index if m not in NOT_BOOTSTRAPPED]
    assert set(PHYSICS_METRICS) - set(present) <= {"w1_total_intensity"}  # constant here
    return present


# --------------------------------------------------------------------------- independent values


def _observables(images: np.ndarray) -> dict[str, np.ndarray]:
    out = dict(image_observables(images))
    out.update(image_nsubjettiness(images))
    out["total_intensity"] = images.sum(axis=(1, 2))
    return out


def _frechet_sqrtm(a: np.ndarray, b: np.ndarray) -> float:
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = a.mean(axis=0) - b.mean(axis=0)
    return float(diff @ diff + np.trace(s1 + s2) - 2 * np.trace(linalg.sqrtm(s1 @ s2).real))


def _polynomial_mmd(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 with JetNet's KPD kernel (x.y / d + 1)^4."""
    d, n, m = a.shape[1], len(a), len(b)
    kaa, kbb, kab = ((x @ y.T / d + 1.0) ** 4 for x, y in ((a, a), (b, b), (a, b)))
    within_a = (kaa.sum() - np.trace(kaa)) / (n * (n - 1))
    within_b = (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
    return float(within_a + within_b - 2.0 * kab.mean())


def _max_normalised(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1)
    return flat / flat.max(axis=1, keepdims=True)


def _scaled_efps(generated: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    size = np.abs(image_efps(reference)).max(axis=0)
    return image_efps(generated) / size, image_efps(reference) / size


def _independent_metrics(generated: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """The unpaired metrics that do not resample, recomputed from the images with scipy/numpy."""
    gen_obs, ref_obs = _observables(generated), _observables(reference)
    out = {}
    for obs in OBSERVABLES:
        if np.ptp(ref_obs[obs]) > 1e-9 * max(np.abs(ref_obs[obs]).max(), 1.0):
            out[f"w1_{obs}"] = stats.wasserstein_distance(gen_obs[obs], ref_obs[obs])
    radial = radial_profile(generated).mean(0) - radial_profile(reference).mean(0)
    out["radial_profile_l1"] = np.abs(radial).sum()
    g_mean, r_mean = generated.mean(axis=0), reference.mean(axis=0)
    out["mean_image_l1"] = np.abs(g_mean - r_mean).sum()
    out["pixel_intensity_w1"] = stats.wasserstein_distance(generated.ravel(), reference.ravel())
    overlap = np.sum(np.sqrt(g_mean / g_mean.sum() * r_mean / r_mean.sum()))
    out["wootters_mean_image"] = float(np.arccos(min(overlap, 1.0)))
    out["kpd"] = _polynomial_mmd(*_scaled_efps(generated, reference))
    out["pixel_fd"] = _frechet_sqrtm(_max_normalised(generated), _max_normalised(reference))
    g, r = generated.reshape(len(generated), -1), reference.reshape(len(reference), -1)
    out["variance_ratio"] = g.var(axis=0).sum() / r.var(axis=0).sum()
    return out


def _assert_metrics(rows: pd.DataFrame, column: str, expected: dict, where: object) -> None:
    assert set(expected) <= set(rows.index), (where, set(expected) - set(rows.index))
    for metric, value in expected.items():
        # arccos near 1 and sqrtm of a near-singular covariance lose ~1e-8 absolute
        tolerance = 1e-7 if metric in ("wootters_mean_image", "pixel_fd") else 1e-10
        assert rows.loc[metric, column] == pytest.approx(value, rel=1e-6, abs=tolerance), (
            where,
            metric,
        )


def _classifier_inputs(images: np.ndarray) -> np.ndarray:
    observed = _observables(images)
    columns = np.stack([observed[o] for o in OBSERVABLES], axis=1)
    return np.concatenate([images.reshape(len(images), -1), columns, image_efps(images)], axis=1)


def _distinct_brute(images: np.ndarray, tolerance: float = 1e-3) -> float:
    x = images.reshape(len(images), -1)
    distance = cdist(x, x)
    return float(np.mean([not (distance[i, :i] < tolerance).any() for i in range(len(x))]))


def _memorised_brute(images: np.ndarray, real: RealJets, quantile: float = 0.01) -> float:
    pool = real.pool.reshape(len(real.pool), -1)
    held_out = cdist(real.reference.reshape(len(real.reference), -1), pool).min(axis=1)
    nearest = cdist(images.reshape(len(images), -1), pool).min(axis=1)
    return float(np.mean(nearest < np.quantile(held_out, quantile)))


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


def test_metric_set(table: pd.DataFrame) -> None:
    assert {"tau21", "tau32"} <= set(OBSERVABLES)
    assert {"fpd", "kpd", "pixel_fd", "classifier_auc"} <= set(PHYSICS_METRICS)
    assert set(DIVERSITY_METRICS) == {"variance_ratio", "distinct_fraction", "memorised_fraction"}
    varying = {f"w1_{o}" for o in OBSERVABLES if o != "total_intensity"}
    image = {"mean_image_l1", "pixel_intensity_w1", "wootters_mean_image"}
    bootstrapped = varying | image | (set(PHYSICS_METRICS) - {f"w1_{o}" for o in OBSERVABLES})
    bootstrapped |= {"variance_ratio"}
    novelty = {"distinct_fraction", "memorised_fraction"}
    assert set(_rows(table, "validation").index) == bootstrapped | novelty
    # the novelty rows describe the whole set only
    for subset in ("quark", "gluon"):
        assert set(_rows(table, "validation", subset).index) == bootstrapped
    paired = {"mse", "ssim", "fidelity"}
    assert set(_rows(table, "perfect").index) == bootstrapped | novelty | paired


def test_valid_images_mask(data: JetImageData) -> None:
    images, expected = _with_invalid(data.images[:50])
    np.testing.assert_array_equal(valid_images(images), expected)


# --------------------------------------------------------------------------- real vs noise


def test_real_validation_jets_score_like_the_floor(table: pd.DataFrame) -> None:
    for subset in ("all", "quark", "gluon"):
        rows = _rows(table, "validation", subset)
        for metric in _bootstrapped(rows):
            row = rows.loc[metric]
            sigma = np.hypot(row["uncertainty"], row["floor_uncertainty"])
            assert sigma > 0, (subset, metric)
            assert abs(row["value"] - row["floor"]) <= 5 * sigma, (subset, metric, row.to_dict())
    rows = _rows(table, "validation")
    assert rows.loc["distinct_fraction", "value"] == rows.loc["distinct_fraction", "floor"] == 1.0
    assert abs(rows.loc["classifier_auc", "value"] - 0.5) < 0.1


def test_uniform_noise_is_far_above_the_floor(table: pd.DataFrame) -> None:
    rows = _rows(table, "uniform")
    for metric in [m for m in _bootstrapped(rows) if m != "variance_ratio"]:
        row = rows.loc[metric]
        sigma = np.hypot(row["uncertainty"], row["floor_uncertainty"])
        assert row["value"] > row["floor"] + 5 * sigma, (metric, row.to_dict())
    assert rows.loc["classifier_auc", "value"] >= 0.99
    assert abs(rows.loc["classifier_auc", "floor"] - 0.5) < 0.1
    # i.i.d. uniform pixels vary less than real jets, whose intensity sits in a few pixels
    ratio = rows.loc["variance_ratio"]
    assert ratio["value"] < ratio["floor"] - 5 * np.hypot(
        ratio["uncertainty"], ratio["floor_uncertainty"]
    )


def test_all_subset_values_match_independent_computations(
    table: pd.DataFrame, sets: dict[str, SampleSet], real: RealJets
) -> None:
    for name in ("validation", "uniform"):
        generated, reference = sets[name].images, real.reference
        rows = _rows(table, name)
        expected = _independent_metrics(generated, reference)
        assert {m for m in rows.index if m.startswith("w1_")} == {
            m for m in expected if m.startswith("w1_")
        }
        _assert_metrics(rows, "value", expected, name)
        # FPD: the extrapolated Frechet distance of EFPs scaled by the reference's max |value|
        fpd = frechet_distance_extrapolated(*_scaled_efps(generated, reference), seed=0)
        assert rows.loc["fpd", "value"] == pytest.approx(fpd, rel=1e-9, abs=1e-12)
        # the classifier sees pixels, every observable and the EFPs
        auc = classifier_auc(_classifier_inputs(reference), _classifier_inputs(generated), seed=0)
        assert rows.loc["classifier_auc", "value"] == pytest.approx(auc, rel=1e-12)


def test_novelty_rows_match_independent_computations(
    table: pd.DataFrame, sets: dict[str, SampleSet], real: RealJets
) -> None:
    for name in ("validation", "uniform", "perfect"):
        images, rows = sets[name].images, _rows(table, name)
        n = len(images)
        for metric, value in (
            ("distinct_fraction", _distinct_brute(images)),
            ("memorised_fraction", _memorised_brute(images, real)),
        ):
            assert rows.loc[metric, "value"] == pytest.approx(value, abs=1e-12), (name, metric)
            binomial = np.sqrt(value * (1 - value) / n)
            assert rows.loc[metric, "uncertainty"] == pytest.approx(binomial, abs=1e-12)
        # without held-out jets there is no memorisation floor
        assert np.isnan(rows.loc["memorised_fraction", ["floor", "floor_uncertainty"]]).all()
        assert rows.loc["distinct_fraction", "floor"] == 1.0
    # the reference itself: its own nearest-training-jet distances set the 1% threshold
    assert _rows(table, "perfect").loc["memorised_fraction", "value"] <= 0.02


def test_uncertainties_and_floors_are_finite_and_positive(table: pd.DataFrame) -> None:
    finite = table[table["set"].isin(["validation", "uniform"]) & (table["n"] >= MIN_IMAGES)]
    bootstrapped = finite[~finite["metric"].isin(NOT_BOOTSTRAPPED)]
    assert len(bootstrapped) > 0
    assert np.isfinite(bootstrapped[VALUE_COLUMNS].to_numpy()).all()
    assert (bootstrapped["uncertainty"] >= 0).all()
    assert (bootstrapped["floor_uncertainty"] > 0).all()
    # Real jets never separate perfectly, so their bootstrap spread is never zero (noise images
    # can reach AUC 1 in every replicate, hence zero spread).
    assert (bootstrapped[bootstrapped["set"] == "validation"]["uncertainty"] > 0).all()


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
    bootstrapped = set(_rows(table, "validation", "quark").index)
    for subset in ("quark", "gluon"):
        assert set(rows[rows["subset"] == subset]["metric"]) == bootstrapped, subset
    # every bootstrapped metric is there as NaN (the novelty rows may be left out)
    everything = set(rows[rows["subset"] == "all"]["metric"])
    assert bootstrapped <= everything <= bootstrapped | {"distinct_fraction", "memorised_fraction"}
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
    observed = _observables(images)
    for k, name in enumerate(OBSERVABLES):
        np.testing.assert_allclose(features.observables[:, k], observed[name], rtol=1e-12)
    np.testing.assert_array_equal(features.pixels, images.reshape(20, -1))
    np.testing.assert_allclose(features.radial, radial_profile(images), rtol=1e-12)
    np.testing.assert_allclose(features.efps, image_efps(images), rtol=1e-12)
    part = features.take(np.arange(5))
    assert len(part) == 5
    np.testing.assert_array_equal(part.efps, features.efps[:5])


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


def test_condition_labels_are_named_in_the_labels_column(
    data: JetImageData, real: RealJets
) -> None:
    # A conditional generator's sets carry the labels it was asked for: the subsets use them,
    # the table says so, and the real side (true classes) is the one truth labels get.
    images, labels = data.images[data.splits.validation], data.labels[data.splits.validation]
    asked = SampleSet("asked", images, labels=labels, label_source="condition")
    truth = SampleSet("truth", images, labels=labels)
    table = evaluate([asked, truth], real, bootstrap=2, subsets=("quark",)).table
    asked_rows, truth_rows = _rows(table, "asked", "quark"), _rows(table, "truth", "quark")
    assert set(asked_rows["labels"]) == {"condition"}
    assert set(truth_rows["labels"]) == {"truth"}
    assert (asked_rows["n"] == int((labels == QUARK).sum())).all()
    assert (asked_rows["n_reference"] == int((real.reference_labels == QUARK).sum())).all()
    # the label source is a name only: the same labels give the same values and floors
    columns = ["value", "floor", "floor_uncertainty"]
    pd.testing.assert_frame_equal(asked_rows[columns], truth_rows[columns])


def test_truth_subsets_of_a_perfect_copy_match_the_reference(table: pd.DataFrame) -> None:
    for subset in ("all", "quark", "gluon"):
        rows = _rows(table, "perfect", subset)
        for metric in [m for m in rows.index if m.startswith("w1_")]:
            assert rows.loc[metric, "value"] == pytest.approx(0.0, abs=1e-12), (subset, metric)
        assert rows.loc["mean_image_l1", "value"] == pytest.approx(0.0, abs=1e-12)
        assert rows.loc["wootters_mean_image", "value"] == pytest.approx(0.0, abs=1e-12)
        assert rows.loc["pixel_fd", "value"] == pytest.approx(0.0, abs=1e-8)
        assert rows.loc["variance_ratio", "value"] == pytest.approx(1.0, rel=1e-12)


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


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_tables(sets: dict[str, SampleSet], real: RealJets) -> None:
    chosen = [sets["validation"], sets["all_nan"]]
    first = evaluate(chosen, real, bootstrap=2, seed=5, subsets=("all",))
    second = evaluate(chosen, real, bootstrap=2, seed=5, subsets=("all",))
    pd.testing.assert_frame_equal(first.table, second.table)
    assert first.notes == second.notes
    other = evaluate(chosen, real, bootstrap=2, seed=6, subsets=("all",))
    assert not np.allclose(
        other.table["uncertainty"].fillna(0), first.table["uncertainty"].fillna(0)
    )


# --------------------------------------------------------------------------- the floor


def test_floor_sample_has_the_sets_size(data: JetImageData) -> None:
    # Pool = the reference itself. A set as large as the reference gets the whole reference as
    # its floor sample, so every distance of the floor is 0; a smaller set gets a sample of its
    # own size, a part of the reference, whose distances are not 0 and differ between sizes.
    test = data.splits.test
    reference, labels = data.images[test], data.labels[test]
    real = RealJets(reference, labels, reference, labels)
    n_ref = len(reference)
    sizes = {"full": n_ref, "one_less": n_ref - 1, "two_thirds": 2 * n_ref // 3}
    chosen = [SampleSet(name, _uniform_images(n, seed=10 + n)) for name, n in sizes.items()]
    table = evaluate(chosen, real, bootstrap=2, subsets=("all",)).table
    distances = [*[m for m in table["metric"].unique() if m.startswith("w1_")],
                 "mean_image_l1", "radial_profile_l1", "pixel_intensity_w1",
                 "wootters_mean_image", "pixel_fd"]  # fmt: skip
    floors = {}
    for name, n in sizes.items():
        rows = _rows(table, name)
        assert (rows["n"] == n).all()
        assert (rows["n_reference"] == n_ref).all()
        floors[name] = rows.loc[distances, "floor"].to_numpy()
        # the generated set itself is far from the reference
        assert (rows.loc[distances, "value"] > 1e-3).all()
    np.testing.assert_allclose(floors["full"], 0.0, atol=1e-6)
    assert (floors["one_less"] > 0).all()
    assert (floors["two_thirds"] > 0).all()
    assert (floors["two_thirds"] != floors["one_less"]).all()


@pytest.mark.parametrize("pool_size", [50, 150])
def test_a_set_no_smaller_than_the_pool_gets_the_whole_pool_as_floor(
    real: RealJets, pool_size: int
) -> None:
    # The floor sample has min(set size, pool size) jets: for sets at least as large as the
    # pool it is the whole pool, and the floor is the metric of the pool against the reference.
    pool, pool_labels = real.pool[:pool_size], real.pool_labels[:pool_size]
    mine = RealJets(real.reference, real.reference_labels, pool, pool_labels)
    chosen = {"same": pool_size, "larger": pool_size + 70, "smaller": pool_size - 10}
    sets = [SampleSet(name, _uniform_images(n, seed=n)) for name, n in chosen.items()]
    table = evaluate(sets, mine, bootstrap=2, subsets=("all",)).table
    expected = _independent_metrics(pool, real.reference)
    for name in ("same", "larger"):
        rows = _rows(table, name)
        assert (rows["n"] == chosen[name]).all()
        assert (rows["n_reference"] == len(real.reference)).all()
        _assert_metrics(rows, "floor", expected, (pool_size, name))
    # a smaller set is compared with a smaller real sample: another floor
    smaller = _rows(table, "smaller")
    assert smaller.loc["mean_image_l1", "floor"] != pytest.approx(expected["mean_image_l1"])
    # the real-vs-real classifier cannot tell the pool from the reference
    assert abs(_rows(table, "same").loc["classifier_auc", "floor"] - 0.5) < 0.15


def test_truth_subset_floors_compare_the_pool_class_with_the_reference_class(
    real: RealJets,
) -> None:
    # A pool holding exactly as many quarks and gluons as the reference, and a set of the
    # reference's size and classes: each truth-label subset's floor is the metric of the
    # pool's whole class against the reference's class.
    parts = []
    for label in (QUARK, GLUON):
        count = int((real.reference_labels == label).sum())
        parts.append(np.flatnonzero(real.pool_labels == label)[:count])
    chosen = np.concatenate(parts)
    mine = RealJets(
        real.reference, real.reference_labels, real.pool[chosen], real.pool_labels[chosen]
    )
    perfect = SampleSet("perfect", real.reference.copy(), labels=real.reference_labels)
    table = evaluate([perfect], mine, bootstrap=2).table
    for subset, label in (("all", None), ("quark", QUARK), ("gluon", GLUON)):
        in_ref = np.ones(len(real.reference), bool)
        in_pool = np.ones(len(chosen), bool)
        if label is not None:
            in_ref, in_pool = real.reference_labels == label, mine.pool_labels == label
        assert in_ref.sum() == in_pool.sum() >= MIN_IMAGES
        expected = _independent_metrics(mine.pool[in_pool], real.reference[in_ref])
        _assert_metrics(_rows(table, "perfect", subset), "floor", expected, subset)


def test_sets_of_one_size_share_the_floor_and_other_sizes_do_not(table: pd.DataFrame) -> None:
    # One floor per subset, label source and size: validation and uniform noise hold 150 images
    # each, the perfect copy (true labels) too; with_invalid keeps fewer valid images.
    columns = ["floor", "floor_uncertainty"]
    rows = table[(table["n"] >= MIN_IMAGES) & ~table["metric"].isin(NOT_BOOTSTRAPPED)]
    compared = 0
    for (subset, _labels, _n), group in rows.groupby(["subset", "labels", "n"]):
        names = sorted(set(group["set"]))
        first = _rows(group, names[0], subset)[columns]
        for name in names[1:]:
            pd.testing.assert_frame_equal(first, _rows(group, name, subset)[columns])
            compared += 1
    assert compared >= 2  # at least validation = uniform = perfect in "all"
    sizes = {name: int(_rows(table, name)["n"].iloc[0]) for name in ("validation", "uniform")}
    assert sizes["validation"] == sizes["uniform"] == int(_rows(table, "perfect")["n"].iloc[0])
    # a set of another size: another real sample, another floor (for every distance)
    smaller = _rows(table, "with_invalid")
    assert smaller["n"].iloc[0] < sizes["validation"]
    bootstrapped = _bootstrapped(smaller)
    differs = (
        smaller.loc[bootstrapped, "floor"] != _rows(table, "validation").loc[bootstrapped, "floor"]
    )
    assert differs.all(), differs[~differs]


def test_floor_does_not_depend_on_the_other_sets(
    sets: dict[str, SampleSet], table: pd.DataFrame, real: RealJets
) -> None:
    # A set evaluated alone gets the very floors it gets among other sets.
    subsets = ("all", "gluon")
    result = evaluate([sets["uniform"]], real, bootstrap=BOOTSTRAP, seed=0, subsets=subsets)
    result = result.table
    columns = ["floor", "floor_uncertainty", "n", "n_reference"]
    for subset in subsets:
        mine = _rows(result, "uniform", subset)
        pd.testing.assert_frame_equal(mine[columns], _rows(table, "uniform", subset)[columns])


def test_small_subsets_are_nan_not_errors(real: RealJets) -> None:
    few = SampleSet("few", real.reference[: MIN_IMAGES - 1].copy())
    table = evaluate([few], real, bootstrap=2).table
    assert table[VALUE_COLUMNS].isna().all().all()
    assert (table[table["subset"] == "all"]["n"] == MIN_IMAGES - 1).all()
