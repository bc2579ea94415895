"""The quantum-vs-classical comparison report: Markdown tables and PNG figures.

Input: the sets (:class:`~qdm_qiskit.results.sets.SetRecord`), the real jets, and the tidy
metric table of :func:`~qdm_qiskit.results.evaluation.evaluate`. Output: ``report.md`` text
and figures a physicist expects (observable histograms with ratio panels, mean images and
their differences to the real mean, sample grids, loss curves).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qdm_qiskit.results.evaluation import (
    OBSERVABLES,
    PHYSICS_METRICS,
    Evaluation,
    jet_features,
    valid_images,
)
from qdm_qiskit.results.figures import image_panels, png_bytes
from qdm_qiskit.results.report import markdown_table
from qdm_qiskit.results.sets import SetRecord

#: Two results agree when they differ by at most this many combined standard deviations.
AGREEMENT_SIGMAS = 2.0


def summary_table(evaluation: Evaluation) -> pd.DataFrame:
    """All-jets values, one row per set and one column per metric (``summary.csv``)."""
    table = evaluation.table
    wide = table[table["subset"] == "all"].pivot_table(
        index="set", columns="metric", values="value", sort=False
    )
    return wide.reset_index()


def models_table(records: Sequence[SetRecord], evaluation: Evaluation) -> pd.DataFrame:
    """One row per set: parameters, times, QPU-seconds estimate, valid/total images."""
    table = evaluation.table
    rows = []
    for record in records:
        mine = table[(table["set"] == record.name) & (table["subset"] == "all")]
        valid = int(mine["n"].iloc[0]) if len(mine) else 0
        rows.append({
            "set": record.name,
            "family": record.family,
            "quantum params": record.quantum_parameters,
            "classical params": record.classical_parameters,
            "train s": _maybe(record.train_seconds, ".1f"),
            "sample s / 1000": f"{record.sample_seconds_per_1000:.3g}",
            "QPU s / 1000 (est.)": _maybe(record.qpu_seconds_per_1000, ".3g"),
            "target": record.target,
            "valid / generated": f"{valid} / {len(record.images)}",
        })  # fmt: skip
    return pd.DataFrame(rows)


def _maybe(value: float | None, spec: str) -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def metric_table(evaluation: Evaluation, subset: str, sets: Sequence[str]) -> pd.DataFrame:
    """Rows: metrics; columns: the real-vs-real floor, then ``value +- uncertainty`` per set."""
    table = evaluation.table[evaluation.table["subset"] == subset]
    metrics = list(dict.fromkeys(table["metric"]))
    rows = []
    for metric in metrics:
        mine = table[table["metric"] == metric].set_index("set")
        known = mine[np.isfinite(mine["floor"])]
        first = known.iloc[0] if len(known) else mine.iloc[0]
        row = {"metric": metric, "floor": _pm(first["floor"], first["floor_uncertainty"])}
        for name in sets:
            if name not in mine.index:
                row[name] = "-"
                continue
            entry = mine.loc[name]
            row[name] = _pm(entry["value"], entry["uncertainty"])
            if not np.isfinite(entry["value"]):
                row[name] += f" (n={int(entry['n'])})"
        rows.append(row)
    return pd.DataFrame(rows)


def _pm(value: float, error: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3g} ± {error:.2g}" if np.isfinite(error) else f"{value:.3g}"


def agreement(
    evaluation: Evaluation, first: str, second: str, *, subset: str = "all"
) -> pd.DataFrame:
    """Per metric: do two sets agree within :data:`AGREEMENT_SIGMAS` combined uncertainties?"""
    table = evaluation.table[evaluation.table["subset"] == subset].set_index(["set", "metric"])
    rows = []
    for metric in dict.fromkeys(evaluation.table["metric"]):
        if (first, metric) not in table.index or (second, metric) not in table.index:
            continue
        a, b = table.loc[(first, metric)], table.loc[(second, metric)]
        sigma = float(np.hypot(a["uncertainty"], b["uncertainty"]))
        difference = float(b["value"] - a["value"])
        rows.append({"metric": metric, "difference": difference, "sigma": sigma,
                     "agree": bool(abs(difference) <= AGREEMENT_SIGMAS * sigma)})  # fmt: skip
    return pd.DataFrame(rows, columns=["metric", "difference", "sigma", "agree"])


def improvement(evaluation: Evaluation, trained: str, untrained: str) -> pd.DataFrame:
    """Per physics metric: the untrained-to-trained ratio of the distance above the floor."""
    table = evaluation.table[evaluation.table["subset"] == "all"].set_index(["set", "metric"])
    rows = []
    for metric in PHYSICS_METRICS:
        if (trained, metric) not in table.index or (untrained, metric) not in table.index:
            continue
        t_value = float(table.at[(trained, metric), "value"])  # type: ignore[arg-type]
        u_value = float(table.at[(untrained, metric), "value"])  # type: ignore[arg-type]
        if metric == "classifier_auc":  # distance from a perfect 0.5
            t_value, u_value = abs(t_value - 0.5), abs(u_value - 0.5)
        rows.append({"metric": metric, "trained": float(t_value), "untrained": float(u_value),
                     "ratio": float(u_value / t_value) if t_value > 0 else np.inf})  # fmt: skip
    return pd.DataFrame(rows, columns=["metric", "trained", "untrained", "ratio"])


def comparison_markdown(
    records: Sequence[SetRecord],
    evaluation: Evaluation,
    *,
    pairs: Sequence[tuple[str, str]] = (),
    untrained: Sequence[tuple[str, str]] = (),
    subsets: Sequence[str] = ("all", "quark", "gluon"),
) -> str:
    """The comparison section: models, metrics per subset, DDIM-vs-DDPM and training checks.

    Args:
        records: the sets, in table order.
        evaluation: their metrics (:func:`~qdm_qiskit.results.evaluation.evaluate`).
        pairs: ``(DDPM set, DDIM set)`` names whose agreement the report states.
        untrained: ``(trained set, untrained set)`` names whose physics metrics are compared.
        subsets: which jet subsets get a metric table.
    """
    names = [r.name for r in records]
    table = evaluation.table
    lines = ["## Models", "", markdown_table(models_table(records, evaluation)), ""]
    for subset in subsets:
        mine = table[table["subset"] == subset]
        if mine.empty:
            continue
        sources = sorted(set(mine["labels"]) - {""})
        how = f" (labels: {', '.join(sources)})" if sources else ""
        sizes = mine.drop_duplicates("set").set_index("set")
        n_ref = int(sizes["n_reference"].iloc[0])
        lines += [f"## Metrics, {subset} jets{how}", "",
                  f"Reference: {n_ref} real test jets; each set's size is in the models table "
                  "(subset sizes in metrics.csv). Lower is better except ssim and fidelity "
                  "(higher), classifier_auc (0.5 is perfect), variance_ratio and "
                  "distinct_fraction (1 is real-like) and memorised_fraction (the floor is "
                  "real-like). floor = a disjoint real sample of the set's size against the "
                  "reference; ± = bootstrap standard deviation (binomial for the fractions).",
                  "",
                  markdown_table(metric_table(evaluation, subset, names)), ""]  # fmt: skip
    for ddpm, ddim in pairs:
        check = agreement(evaluation, ddpm, ddim)
        if check.empty:
            continue
        same = check[check.agree]["metric"].tolist()
        differ = check[~check.agree]["metric"].tolist()
        lines += [f"**{ddim} vs {ddpm}** (all jets, agreement within {AGREEMENT_SIGMAS:g} "
                  f"combined σ): {len(same)} of {len(check)} metrics agree"
                  + (f"; differ: {', '.join(differ)}" if differ else "") + ".", ""]  # fmt: skip
    for trained, base in untrained:
        gain = improvement(evaluation, trained, base)
        if gain.empty:
            continue
        distances = gain[gain["metric"] != "classifier_auc"]
        worst = distances.iloc[int(np.argmin(distances["ratio"].to_numpy()))]
        auc = gain[gain["metric"] == "classifier_auc"]
        auc_text = (f"; classifier AUC {0.5 + auc['untrained'].iloc[0]:.3g} untrained, "
                    f"{0.5 + auc['trained'].iloc[0]:.3g} trained") if len(auc) else ""  # fmt: skip
        finite = distances["ratio"][np.isfinite(distances["ratio"])]
        zero = len(distances) - len(finite)
        at_zero = f" (and {zero} trained value(s) at or below zero)" if zero else ""
        lines += [f"**{trained} vs {base}**: the untrained model is "
                  f"{finite.min():.3g}x to {finite.max():.3g}x further{at_zero} "
                  f"from the real jets on the {len(distances)} physics distances (smallest "
                  f"gain: {worst['metric']}){auc_text}.", ""]  # fmt: skip
    if evaluation.notes:
        lines += ["Notes:", "", *[f"- {note}" for note in evaluation.notes], ""]
    return "\n".join(lines)


def observable_ratio_png(sets: Mapping[str, np.ndarray], reference: np.ndarray) -> bytes:
    """Histogram of every varying observable, and below it each set's ratio to the reference."""
    kept = _valid_sets({"real (test)": reference, **sets})
    features = {name: jet_features(images) for name, images in kept.items()}
    real = features["real (test)"].observables
    shown = [k for k in range(len(OBSERVABLES)) if np.ptp(real[:, k]) > 1e-9]
    fig = Figure(figsize=(3.6 * len(shown), 4.6), layout="constrained")
    grid = fig.add_gridspec(2, len(shown), height_ratios=(3, 1))
    for col, k in enumerate(shown):
        top = fig.add_subplot(grid[0, col])
        bottom = fig.add_subplot(grid[1, col], sharex=top)
        edges = np.histogram_bin_edges(real[:, k], bins=15)
        reference_counts = _density(real[:, k], edges)
        centres = 0.5 * (edges[1:] + edges[:-1])
        for index, (name, feature) in enumerate(features.items()):
            counts = _density(feature.observables[:, k], edges)
            top.stairs(counts, edges, label=name, fill=index == 0, alpha=0.3 if index == 0 else 1)
            if index:
                ratio = np.divide(counts, reference_counts, out=np.full_like(counts, np.nan),
                                  where=reference_counts > 0)  # fmt: skip
                bottom.plot(centres, ratio, drawstyle="steps-mid")
        bottom.axhline(1.0, color="grey", lw=0.8)
        bottom.set_ylim(0.0, 2.0)
        bottom.set_xlabel(OBSERVABLES[k])
        bottom.set_ylabel("ratio to real" if col == 0 else "")
    fig.axes[0].legend(fontsize=6)
    return png_bytes(fig)


def _valid_sets(sets: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each set's valid images (as the metrics see them); sets with none are left out."""
    kept = {name: images[valid_images(images)] for name, images in sets.items()}
    return {name: images for name, images in kept.items() if len(images)}


def _density(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram normalised to the whole sample (entries outside the range count too)."""
    counts, _ = np.histogram(values, edges)
    return counts / (max(len(values), 1) * np.diff(edges))


def mean_images_png(sets: Mapping[str, np.ndarray], reference: np.ndarray,
                    *, radius: float = 0.4) -> bytes:  # fmt: skip
    """Top row: the mean image per set; bottom row: its difference to the real mean."""
    extent = (-radius, radius, -radius, radius)
    real_mean = reference.mean(axis=0)
    means = {"real (test)": real_mean}
    means.update({name: images.mean(axis=0) for name, images in _valid_sets(sets).items()})
    fig = Figure(figsize=(2.2 * len(means), 4.4), layout="constrained")
    axes = fig.subplots(2, len(means), squeeze=False)
    top = [(name, image) for name, image in means.items()]
    bottom = [(f"{name} - real", image - real_mean) for name, image in means.items()]
    scale = (
        max(float(np.nanmax(np.abs(image))) for _, image in bottom[1:]) if len(bottom) > 1 else 1
    )
    for _col, ax, caption, image in image_panels(axes[0], top):
        ax.imshow(image, origin="lower", extent=extent, cmap="viridis", vmin=0.0)
        ax.set_title(caption, fontsize=7)
    for col, ax, caption, image in image_panels(axes[1], bottom):
        if col == 0:
            ax.set_visible(False)
            continue
        ax.imshow(image, origin="lower", extent=extent, cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_title(caption, fontsize=7)
    return png_bytes(fig)


def loss_curves_png(records: Sequence[SetRecord]) -> bytes:
    """Training loss per epoch of every set that has a history (one panel per model)."""
    curves: dict[str, pd.DataFrame] = {}
    for record in records:
        if record.history is not None and len(record.history):
            label = record.extra.get("model", record.name)
            curves.setdefault(label, record.history)
    fig = Figure(figsize=(3.6 * max(len(curves), 1), 3.0), layout="constrained")
    axes = fig.subplots(1, max(len(curves), 1), squeeze=False)[0]
    for ax, (name, history) in zip(axes, curves.items(), strict=False):
        ax.plot(history["epoch"], history["train_loss"], label="train")
        if "validation_loss" in history:
            ax.plot(history["epoch"], history["validation_loss"], label="validation")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    return png_bytes(fig)
