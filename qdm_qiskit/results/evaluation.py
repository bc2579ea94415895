"""Generated jet images against real ones: every metric with its floor, sample size and error.

:func:`evaluate` turns sample sets into one tidy table. For each set, subset (all, quark,
gluon) and metric it reports

- ``value``: the metric between the set's valid images and the real reference (test) jets;
- ``floor``: the same metric between a disjoint real sample of the reference's size (from the
  training split) and the reference: what a perfect generator would score (one floor per subset
  and label source, shared by every set);
- ``uncertainty`` / ``floor_uncertainty``: bootstrap standard deviations (both samples
  resampled with replacement);
- ``n``, ``n_reference``, ``n_invalid``: the sizes, and how many images were dropped because
  they hold NaN, inf, negative pixels or no intensity (reported, never averaged in).

Quark/gluon subsets use true labels when a set carries them (reconstructions of test jets);
otherwise a quark/gluon tagger fitted on the real training jets labels generated *and* real jets
alike, so "quark" means "tagged quark-like" on both sides of every comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qdm_qiskit.data.format import GLUON, QUARK
from qdm_qiskit.data.images import image_observables, radial_profile
from qdm_qiskit.results.metrics import (
    QuadraticLogistic,
    classifier_scores,
    folded_auc,
    frechet_distance,
    kernel_mmd,
    mean_squared_error,
    ssim,
    wasserstein_1d,
    wootters_distance,
)

#: Jet observables of the 1-D Wasserstein metrics (computed from images).
OBSERVABLES: tuple[str, ...] = ("mass_over_pt", "ptd", "girth", "width", "active_pixels",
                                "peak", "total_intensity")  # fmt: skip
#: Metrics that judge the physics of a sample (the rest are image and distribution metrics).
PHYSICS_METRICS: tuple[str, ...] = (
    *(f"w1_{o}" for o in OBSERVABLES),
    "radial_profile_l1",
    "fpd",
    "kpd",
    "classifier_auc",
)
#: Below this many valid images in a subset, its metrics are not computed (NaN).
MIN_IMAGES = 10


@dataclass(frozen=True, eq=False)
class JetFeatures:
    """Per-image features the metrics read: observables, pixels and radial profile."""

    observables: np.ndarray
    pixels: np.ndarray
    radial: np.ndarray

    def take(self, index: np.ndarray) -> JetFeatures:
        """The rows ``index`` (for subsets and bootstrap replicates)."""
        return JetFeatures(self.observables[index], self.pixels[index], self.radial[index])

    def __len__(self) -> int:
        return len(self.pixels)


def jet_features(images: np.ndarray, *, radius: float = 0.4) -> JetFeatures:
    """Features of valid images ``(N, npix, npix)`` (see :func:`valid_images`)."""
    images = np.asarray(images, dtype=np.float64)
    observed = image_observables(images, radius=radius)
    observed["total_intensity"] = images.sum(axis=(1, 2))
    columns = np.stack([observed[name] for name in OBSERVABLES], axis=1)
    return JetFeatures(
        columns, images.reshape(len(images), -1), radial_profile(images, radius=radius)
    )


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
        labels: true quark (1) / gluon (0) labels when known (reconstructions of test jets).
        pairs: for reconstructions, the index of the reference jet each image reconstructs
            (enables the paired metrics MSE, SSIM and fidelity).
    """

    name: str
    images: np.ndarray
    labels: np.ndarray | None = None
    pairs: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class RealJets:
    """The real side: reference (test) jets and a disjoint pool for floors (training jets)."""

    reference: np.ndarray
    reference_labels: np.ndarray
    pool: np.ndarray
    pool_labels: np.ndarray


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
    table["fpd"] = lambda g, r, c: frechet_distance(c["scale"](g), c["scale"](r))
    table["kpd"] = lambda g, r, c: kernel_mmd(c["scale"](g), c["scale"](r))
    return table


def _observable_w1(column: int) -> Metric:
    def metric(g: JetFeatures, r: JetFeatures, _context: dict) -> float:
        return wasserstein_1d(g.observables[:, column], r.observables[:, column])

    return metric


def _standardiser(reference: JetFeatures, columns: Sequence[int]) -> Callable:
    """Observable vectors divided by the reference's largest ``|value|`` per observable.

    This is how JetNet scales the features of FPD and KPD (the polynomial kernel then stays of
    order 1).
    """
    index = np.asarray(columns, dtype=np.int64)
    size = np.abs(reference.observables[:, index]).max(axis=0)
    return lambda f: f.observables[:, index] / np.where(size > 0, size, 1.0)


def _classifier_inputs(features: JetFeatures, scale: Callable) -> np.ndarray:
    return np.concatenate([features.pixels, scale(features)], axis=1)


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
    spread = np.ptp(reference_all.observables, axis=0)
    size = np.abs(reference_all.observables).max(axis=0)
    varying = [k for k in range(len(OBSERVABLES)) if spread[k] > 1e-9 * max(size[k], 1.0)]
    notes = [
        f"{OBSERVABLES[k]} is constant ({reference_all.observables[0, k]:.4g}) in the real jets "
        "of this representation; its W1 is left out"
        for k in range(len(OBSERVABLES))
        if k not in varying
    ]
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
        truth = sample_set.labels is not None
        for subset in subsets:
            gen_sel, ref_sel, pool_sel = _subset_masks(
                subset, sample_set, keep, generated, tagger, real, reference_all, pool_all
            )
            source = "truth" if truth else "tagger"
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
            context = {"scale": _standardiser(reference, varying)}
            values = _with_errors(generated.take(gen_sel), reference, varying, context,
                                  bootstrap, rng, seed)  # fmt: skip
            key = (subset, source)
            if key not in floors:  # a disjoint real sample of the reference's size
                pool = pool_all.take(pool_sel)
                size = min(len(reference), len(pool))
                draw = np.random.default_rng([seed, 7, size]).permutation(len(pool))[:size]
                floor_rng = np.random.default_rng([seed, 8])
                floors[key] = _with_errors(
                    pool.take(draw), reference, varying, context, bootstrap, floor_rng, seed
                )
            for metric, (value, error) in values.items():
                floor, floor_error = floors[key][metric]
                rows.append({**base, "metric": metric, "value": value, "uncertainty": error,
                             "floor": floor, "floor_uncertainty": floor_error})  # fmt: skip
            if sample_set.pairs is not None and subset == "all":
                rows += _paired_rows(base, sample_set, keep, real.reference)
    columns = ["set", "subset", "labels", "metric", "value", "uncertainty", "floor",
               "floor_uncertainty", "n", "n_reference", "n_invalid"]  # fmt: skip
    return Evaluation(pd.DataFrame(rows, columns=columns), tuple(notes))


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
    """Rows of (generated, reference, pool) in ``subset``, by true or tagger labels."""
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
    scale = context["scale"]
    scores, positive, fold = classifier_scores(
        _classifier_inputs(reference, scale), _classifier_inputs(generated, scale), seed=seed
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
