"""Generated jet images against real ones: every metric with its floor, sample size and error.

:func:`evaluate` turns sample sets into one tidy table. For each set, subset (all, quark,
gluon) and metric it reports

- ``value``: the metric between the set's valid images and the real reference (test) jets;
- ``floor``: the same metric between a disjoint real sample **of the set's size** (from the
  training split) and the reference: what a perfect generator of that many jets would score;
- ``uncertainty`` / ``floor_uncertainty``: bootstrap standard deviations (both samples
  resampled with replacement);
- ``n``, ``n_reference``, ``n_invalid``: the sizes, and how many images were dropped because
  they hold NaN, inf, negative pixels or no intensity (reported, never averaged in).

The metrics (:data:`PHYSICS_METRICS`, :data:`DIVERSITY_METRICS` and the image metrics):

- 1-D Wasserstein distances of jet observables computed from the images (:data:`OBSERVABLES`:
  mass/pT, pT^D, girth, width, active pixels as the constituent-count proxy, peak pixel,
  N-subjettiness ratios tau21 and tau32);
- ``fpd``: JetNet's Frechet physics distance on energy-flow polynomials, scaled by the
  reference's largest ``|value|`` and extrapolated to infinite samples; ``kpd``: the unbiased
  polynomial-kernel MMD on the same features;
- ``pixel_fd``: the Frechet distance of the flattened pixels of max-normalised images, the
  "FID" Baidachna et al. report for 16x16 quantum-diffusion jets;
- ``classifier_auc``: a cross-fitted gradient-boosted classifier's ROC AUC on pixels,
  observables and EFPs (0.5: indistinguishable; noise or a constant image score 1);
- diversity: ``variance_ratio`` (1 = as varied as real jets), ``distinct_fraction`` and, for
  all jets, ``memorised_fraction`` (copies of training jets; its floor comes from validation
  jets, which no model trained on);
- image metrics: mean-image L1, pixel-intensity W1, radial-profile L1, Wootters distance of the
  mean images; for reconstructions, paired MSE, SSIM and amplitude-encoding fidelity.

Quark/gluon subsets use the labels a set carries (true labels of reconstructed test jets, or the
labels a conditional generator was asked for); otherwise a quark/gluon tagger fitted on the real
training jets labels generated *and* real jets alike, so "quark" means "tagged quark-like" on
both sides of every comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qdm_qiskit.data.format import GLUON, QUARK
from qdm_qiskit.data.images import image_observables, radial_profile
from qdm_qiskit.data.substructure import image_efps, image_nsubjettiness
from qdm_qiskit.results.classifier import classifier_scores, folded_auc
from qdm_qiskit.results.diversity import distinct_fraction, memorised_fraction, variance_ratio
from qdm_qiskit.results.metrics import (
    QuadraticLogistic,
    frechet_distance,
    frechet_distance_extrapolated,
    kernel_mmd,
    mean_squared_error,
    ssim,
    wasserstein_1d,
    wootters_distance,
)

#: Jet observables of the 1-D Wasserstein metrics (computed from images).
OBSERVABLES: tuple[str, ...] = ("mass_over_pt", "ptd", "girth", "width", "active_pixels",
                                "peak", "tau21", "tau32", "total_intensity")  # fmt: skip
#: Metrics that judge the physics of a sample.
PHYSICS_METRICS: tuple[str, ...] = (
    *(f"w1_{o}" for o in OBSERVABLES),
    "radial_profile_l1",
    "fpd",
    "kpd",
    "pixel_fd",
    "classifier_auc",
)
#: Metrics that judge whether a sample is varied and new; their best value is not 0.
DIVERSITY_METRICS: tuple[str, ...] = ("variance_ratio", "distinct_fraction", "memorised_fraction")
#: Below this many valid images in a subset, its metrics are not computed (NaN).
MIN_IMAGES = 10


@dataclass(frozen=True, eq=False)
class JetFeatures:
    """Per-image features the metrics read: observables, pixels, radial profile, EFPs."""

    observables: np.ndarray
    pixels: np.ndarray
    radial: np.ndarray
    efps: np.ndarray

    def take(self, index: np.ndarray) -> JetFeatures:
        """The rows ``index`` (for subsets and bootstrap replicates)."""
        return JetFeatures(self.observables[index], self.pixels[index], self.radial[index],
                           self.efps[index])  # fmt: skip

    def __len__(self) -> int:
        return len(self.pixels)


def jet_features(images: np.ndarray, *, radius: float = 0.4) -> JetFeatures:
    """Features of valid images ``(N, npix, npix)`` (see :func:`valid_images`)."""
    images = np.asarray(images, dtype=np.float64)
    observed = image_observables(images, radius=radius)
    observed.update(image_nsubjettiness(images, radius=radius))
    observed["total_intensity"] = images.sum(axis=(1, 2))
    columns = np.stack([observed[name] for name in OBSERVABLES], axis=1)
    pixels = images.reshape(len(images), -1)
    radial = radial_profile(images, radius=radius)
    return JetFeatures(columns, pixels, radial, image_efps(images, radius=radius))


def valid_images(images: np.ndarray) -> np.ndarray:
    """Boolean mask of images that are finite, non-negative and carry some intensity."""
    images = np.asarray(images, dtype=np.float64)
    flat = images.reshape(len(images), -1)
    finite = np.isfinite(flat).all(axis=1)
    safe = np.where(np.isfinite(flat), flat, 0.0)
    return finite & (safe >= 0).all(axis=1) & (safe.sum(axis=1) > 0)


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Generated images to evaluate.

    Attributes:
        name: how the set appears in tables.
        images: ``(N, npix, npix)``.
        labels: quark (1) / gluon (0) labels when known: true labels of reconstructed test jets,
            or the labels a conditional generator was asked for.
        pairs: for reconstructions, the index of the reference jet each image reconstructs
            (enables the paired metrics MSE, SSIM and fidelity).
        label_source: what ``labels`` are, as shown in the tables (``truth``, ``condition``).
    """

    name: str
    images: np.ndarray
    labels: np.ndarray | None = None
    pairs: np.ndarray | None = None
    label_source: str = "truth"


@dataclass(frozen=True, eq=False)
class RealJets:
    """The real side of a comparison.

    Reference (test) jets, a disjoint pool for floors (training jets), and optionally held-out
    jets no model trained on (validation jets, for the memorisation floor).
    """

    reference: np.ndarray
    reference_labels: np.ndarray
    pool: np.ndarray
    pool_labels: np.ndarray
    holdout: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The tidy metric table and what was left out of it."""

    table: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


Metric = Callable[[JetFeatures, JetFeatures, dict], float]


def _metrics(observables: Sequence[int]) -> dict[str, Metric]:
    """Unpaired metrics ``(generated, reference, context) -> value``.

    ``observables`` are the columns of :data:`OBSERVABLES` that vary in the reference.
    """
    table: dict[str, Metric] = {}
    for column in observables:
        table[f"w1_{OBSERVABLES[column]}"] = _observable_w1(column)
    table["radial_profile_l1"] = lambda g, r, _c: float(
        np.abs(g.radial.mean(axis=0) - r.radial.mean(axis=0)).sum()
    )
    table["mean_image_l1"] = lambda g, r, _c: float(
        np.abs(g.pixels.mean(axis=0) - r.pixels.mean(axis=0)).sum()
    )
    table["pixel_intensity_w1"] = lambda g, r, _c: wasserstein_1d(g.pixels, r.pixels)
    table["wootters_mean_image"] = lambda g, r, _c: wootters_distance(
        g.pixels.mean(axis=0), r.pixels.mean(axis=0)
    )
    table["fpd"] = lambda g, r, c: frechet_distance_extrapolated(
        c["scale"](g), c["scale"](r), seed=c["seed"]
    )
    table["kpd"] = lambda g, r, c: kernel_mmd(c["scale"](g), c["scale"](r))
    table["pixel_fd"] = lambda g, r, _c: frechet_distance(_max_normalised(g), _max_normalised(r))
    table["variance_ratio"] = lambda g, r, _c: variance_ratio(g.pixels, r.pixels)
    return table


def _observable_w1(column: int) -> Metric:
    def metric(g: JetFeatures, r: JetFeatures, _context: dict) -> float:
        return wasserstein_1d(g.observables[:, column], r.observables[:, column])

    return metric


def _max_normalised(features: JetFeatures) -> np.ndarray:
    """Pixels divided by each image's brightest pixel (Baidachna et al.'s preprocessing)."""
    peak = features.pixels.max(axis=1, keepdims=True)
    return features.pixels / np.where(peak > 0, peak, 1.0)


def _standardiser(reference: JetFeatures) -> Callable[[JetFeatures], np.ndarray]:
    """EFPs divided by the reference's largest ``|value|`` per EFP (JetNet's FPD/KPD scaling)."""
    size = np.abs(reference.efps).max(axis=0)
    return lambda f: f.efps / np.where(size > 0, size, 1.0)


def _classifier_inputs(features: JetFeatures) -> np.ndarray:
    return np.concatenate([features.pixels, features.observables, features.efps], axis=1)


def evaluate(
    sets: Sequence[SampleSet],
    real: RealJets,
    *,
    bootstrap: int = 30,
    seed: int = 0,
    subsets: Sequence[str] = ("all", "quark", "gluon"),
) -> Evaluation:
    """Every metric for every set and subset, with floors and bootstrap errors (see module)."""
    reference_all = jet_features(real.reference)
    pool_all = jet_features(real.pool)
    varying, notes = _varying_observables(reference_all)
    tagger = QuadraticLogistic.fit(_tagger_inputs(pool_all), real.pool_labels == QUARK)
    rows: list[dict] = []
    floors: dict[tuple, dict[str, tuple[float, float]]] = {}
    for index, sample_set in enumerate(sets):
        keep = valid_images(sample_set.images)
        invalid = int((~keep).sum())
        if invalid:
            notes.append(f"{sample_set.name}: {invalid} of {len(keep)} images are empty or "
                         "hold NaN/inf/negative pixels; left out of every metric")  # fmt: skip
        generated = jet_features(sample_set.images[keep]) if keep.any() else None
        for subset in subsets:
            gen_sel, ref_sel, pool_sel = _subset_masks(
                subset, sample_set, keep, generated, tagger, real, reference_all, pool_all
            )
            source = sample_set.label_source if sample_set.labels is not None else "tagger"
            reference = reference_all.take(ref_sel)
            n = int(gen_sel.sum()) if generated is not None else 0
            base = {"set": sample_set.name, "subset": subset,
                    "labels": source if subset != "all" else "", "n": n,
                    "n_reference": len(reference), "n_invalid": invalid}  # fmt: skip
            if n < MIN_IMAGES or len(reference) < MIN_IMAGES:
                rows += [{**base, "metric": m, "value": np.nan, "uncertainty": np.nan,
                          "floor": np.nan, "floor_uncertainty": np.nan}
                         for m in _metric_names(varying)]  # fmt: skip
                continue
            if generated is None:  # unreachable: n >= MIN_IMAGES needs valid images
                raise ValueError(f"{sample_set.name}: no valid images")
            rng = np.random.default_rng([seed, index, len(rows)])
            context = {"scale": _standardiser(reference), "seed": seed}
            values = _with_errors(generated.take(gen_sel), reference, varying, context,
                                  bootstrap, rng, seed)  # fmt: skip
            pool = pool_all.take(pool_sel)
            size = min(n, len(pool))
            key = (subset, source, size)
            if key not in floors:  # a disjoint real sample of the set's size
                draw = np.random.default_rng([seed, 7, size]).permutation(len(pool))[:size]
                floor_rng = np.random.default_rng([seed, 8, size])
                floors[key] = _with_errors(
                    pool.take(draw), reference, varying, context, bootstrap, floor_rng, seed
                )
                distinct = distinct_fraction(pool.take(draw).pixels)
                floors[key]["_distinct_fraction"] = (
                    distinct,
                    float(np.sqrt(distinct * (1 - distinct) / max(size, 1))),
                )
            for metric, (value, error) in values.items():
                floor, floor_error = floors[key][metric]  # every bootstrapped metric
                rows.append({**base, "metric": metric, "value": value, "uncertainty": error,
                             "floor": floor, "floor_uncertainty": floor_error})  # fmt: skip
            if subset == "all":
                rows += _novelty_rows(base, sample_set.images[keep], real, floors[key])
                if sample_set.pairs is not None:
                    rows += _paired_rows(base, sample_set, keep, real.reference)
    columns = ["set", "subset", "labels", "metric", "value", "uncertainty", "floor",
               "floor_uncertainty", "n", "n_reference", "n_invalid"]  # fmt: skip
    return Evaluation(pd.DataFrame(rows, columns=columns), tuple(notes))


def _varying_observables(reference: JetFeatures) -> tuple[list[int], list[str]]:
    """Columns of :data:`OBSERVABLES` that vary in the reference, and notes on the others."""
    spread = np.ptp(reference.observables, axis=0)
    size = np.abs(reference.observables).max(axis=0)
    varying = [k for k in range(len(OBSERVABLES)) if spread[k] > 1e-9 * max(size[k], 1.0)]
    notes = [
        f"{OBSERVABLES[k]} is constant ({reference.observables[0, k]:.4g}) in the real jets "
        "of this representation; its W1 is left out"
        for k in range(len(OBSERVABLES))
        if k not in varying
    ]
    return varying, notes


def _metric_names(varying: Sequence[int]) -> list[str]:
    return [*_metrics(varying), "classifier_auc"]


def _tagger_inputs(features: JetFeatures) -> np.ndarray:
    return np.concatenate([features.pixels, features.observables], axis=1)


def _subset_masks(
    subset: str,
    sample_set: SampleSet,
    keep: np.ndarray,
    generated: JetFeatures | None,
    tagger: QuadraticLogistic,
    real: RealJets,
    reference: JetFeatures,
    pool: JetFeatures,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of (generated, reference, pool) in ``subset``, by the set's labels or the tagger."""
    n_gen = len(generated) if generated is not None else 0
    if subset == "all":
        return np.ones(n_gen, bool), np.ones(len(reference), bool), np.ones(len(pool), bool)
    wanted = {"quark": QUARK, "gluon": GLUON}[subset]
    if sample_set.labels is not None:
        gen = np.asarray(sample_set.labels)[keep] == wanted
        return gen, real.reference_labels == wanted, real.pool_labels == wanted

    def tagged(features: JetFeatures | None) -> np.ndarray:
        if features is None or len(features) == 0:
            return np.zeros(0, bool)
        return (tagger.score(_tagger_inputs(features)) > 0) == (wanted == QUARK)

    return tagged(generated), tagged(reference), tagged(pool)


def _with_errors(
    generated: JetFeatures,
    reference: JetFeatures,
    varying: Sequence[int],
    context: dict,
    bootstrap: int,
    rng: np.random.Generator,
    seed: int,
) -> dict[str, tuple[float, float]]:
    """Each metric's value and bootstrap standard deviation."""
    metrics = _metrics(varying)
    scores, positive, fold = classifier_scores(
        _classifier_inputs(reference), _classifier_inputs(generated), seed=seed
    )
    values = {name: fn(generated, reference, context) for name, fn in metrics.items()}
    values["classifier_auc"] = folded_auc(scores, positive, fold)
    replicates: dict[str, list[float]] = {name: [] for name in values}
    classes = [np.flatnonzero(positive & (fold == k)) for k in np.unique(fold)] + [
        np.flatnonzero(~positive & (fold == k)) for k in np.unique(fold)
    ]
    for _ in range(bootstrap):
        g = generated.take(rng.integers(len(generated), size=len(generated)))
        r = reference.take(rng.integers(len(reference), size=len(reference)))
        for name, fn in metrics.items():
            replicates[name].append(fn(g, r, context))
        rows = np.concatenate([c[rng.integers(len(c), size=len(c))] for c in classes])
        replicates["classifier_auc"].append(folded_auc(scores[rows], positive[rows], fold[rows]))
    return {
        name: (value, float(np.std(replicates[name], ddof=1)) if bootstrap > 1 else np.nan)
        for name, value in values.items()
    }


def _novelty_rows(base: dict, images: np.ndarray, real: RealJets, floor_sample: dict) -> list[dict]:
    """``distinct_fraction`` and ``memorised_fraction`` of a set (not bootstrapped).

    Resampling with replacement makes duplicates, so both get binomial errors instead. The
    memorisation threshold is the 1% quantile of the reference (test) jets' nearest-training-jet
    distances; its floor applies the same test to held-out validation jets. The distinct
    fraction's floor is that of the real floor sample.
    """

    def binomial(p: float, n: int) -> float:
        return float(np.sqrt(max(p * (1 - p), 0.0) / max(n, 1)))

    distinct = distinct_fraction(images)
    floor_distinct = floor_sample["_distinct_fraction"]
    memorised = memorised_fraction(images, real.pool, real.reference)
    floor = floor_error = np.nan
    if real.holdout is not None and len(real.holdout) >= MIN_IMAGES:
        floor = memorised_fraction(real.holdout, real.pool, real.reference)
        floor_error = binomial(floor, len(real.holdout))
    return [
        {**base, "metric": "distinct_fraction", "value": distinct,
         "uncertainty": binomial(distinct, len(images)), "floor": floor_distinct[0],
         "floor_uncertainty": floor_distinct[1]},
        {**base, "metric": "memorised_fraction", "value": memorised,
         "uncertainty": binomial(memorised, len(images)), "floor": floor,
         "floor_uncertainty": floor_error},
    ]  # fmt: skip


def _paired_rows(
    base: dict, sample_set: SampleSet, keep: np.ndarray, reference: np.ndarray
) -> list[dict]:
    """MSE, SSIM and amplitude-encoding fidelity of reconstructions against their originals."""
    pairs = np.asarray(sample_set.pairs)[keep]
    made = np.asarray(sample_set.images, dtype=np.float64)[keep]
    originals = np.asarray(reference, dtype=np.float64)[pairs]
    per_image = {
        "mse": np.array([mean_squared_error(a, b) for a, b in zip(made, originals, strict=True)]),
        "ssim": np.array(
            [ssim(a, b, win_size=3, data_range=1.0) for a, b in zip(made, originals, strict=True)]
        ),
        "fidelity": np.sum(np.sqrt(_unit(made) * _unit(originals)), axis=(1, 2)) ** 2,
    }
    return [
        {
            **base,
            "metric": name,
            "value": float(v.mean()),
            "uncertainty": float(v.std(ddof=1) / np.sqrt(len(v))),
            "floor": 1.0 if name != "mse" else 0.0,
            "floor_uncertainty": 0.0,
        }
        for name, v in per_image.items()
    ]


def _unit(images: np.ndarray) -> np.ndarray:
    """Images scaled to unit total (the amplitude encoding's normalisation)."""
    return images / images.sum(axis=(1, 2), keepdims=True)
