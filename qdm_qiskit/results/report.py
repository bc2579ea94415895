"""Sample quality against real jets, and the figures of a run report (no pyplot state).

Every distance comes with its *real-vs-real floor*: the same distance between two disjoint real
samples of the same size, which is what a perfect generator would score.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import wasserstein_distance

from qdm_qiskit.data.images import IMAGE_OBSERVABLES, image_observables
from qdm_qiskit.results.figures import image_panels, png_bytes


def observable_distances(
    samples: Mapping[str, np.ndarray], reference: np.ndarray, floor: np.ndarray
) -> pd.DataFrame:
    """1-D Wasserstein distance of each image observable, per named sample set.

    Args:
        samples: name -> generated images ``(N, npix, npix)``.
        reference: real test images.
        floor: other real images (e.g. from the training split), disjoint from ``reference``.

    Returns:
        One row per (sample, observable): ``sample, observable, w1, floor, ratio`` plus the
        mean-image L1 distance as observable ``mean_image_l1``.
    """
    reference_obs = image_observables(reference)
    floor_obs = image_observables(floor)
    floor_mean = float(np.abs(floor.mean(axis=0) - reference.mean(axis=0)).sum())
    rows = []
    for name, images in samples.items():
        finite = np.isfinite(images).all(axis=(1, 2))
        generated = image_observables(images[finite]) if finite.any() else None
        for observable in IMAGE_OBSERVABLES:
            floor_w1 = wasserstein_distance(floor_obs[observable], reference_obs[observable])
            w1 = (
                wasserstein_distance(generated[observable], reference_obs[observable])
                if generated is not None
                else np.nan
            )
            rows.append((name, observable, w1, floor_w1, int(finite.sum())))
        mean_l1 = float(np.abs(images[finite].mean(axis=0) - reference.mean(axis=0)).sum())
        rows.append((name, "mean_image_l1", mean_l1, floor_mean, int(finite.sum())))
    frame = pd.DataFrame(rows, columns=["sample", "observable", "w1", "floor", "n"])
    frame["ratio"] = frame["w1"] / frame["floor"]
    return frame


def sample_grid_png(
    sets: Mapping[str, np.ndarray], *, examples: int = 6, radius: float = 0.4
) -> bytes:
    """One row per sample set: its mean image, then ``examples`` single images."""
    extent = (-radius, radius, -radius, radius)
    fig = Figure(figsize=(1.9 * (examples + 1), 2.0 * len(sets)), layout="constrained")
    axes = fig.subplots(len(sets), examples + 1, squeeze=False)
    for row, (name, images) in enumerate(sets.items()):
        panels = [(f"{name}: mean", images.mean(axis=0))]
        panels += [(f"#{i}", images[i]) for i in range(min(examples, len(images)))]
        for _col, ax, caption, image in image_panels(axes[row], panels):
            ax.imshow(image, origin="lower", extent=extent, cmap="viridis", vmin=0.0)
            ax.set_title(caption, fontsize=8)
    return png_bytes(fig)


def observable_histograms_png(sets: Mapping[str, np.ndarray]) -> bytes:
    """Histograms of every image observable, one line per sample set (first: the reference)."""
    observables = {name: image_observables(images) for name, images in sets.items()}
    columns = 3
    rows = -(-len(IMAGE_OBSERVABLES) // columns)
    fig = Figure(figsize=(4.0 * columns, 3.0 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, observable in zip(axes, IMAGE_OBSERVABLES, strict=False):
        values = np.concatenate([o[observable] for o in observables.values()])
        values = values[np.isfinite(values)]
        edges = np.histogram_bin_edges(values, bins=20) if values.size else 10
        for index, (name, per_set) in enumerate(observables.items()):
            style = {"histtype": "stepfilled", "alpha": 0.3} if index == 0 else {"histtype": "step"}
            ax.hist(per_set[observable], bins=edges, density=True, label=name, **style)
        ax.set_xlabel(observable)
    axes[0].legend(fontsize=7)
    for ax in axes[len(IMAGE_OBSERVABLES) :]:
        ax.set_visible(False)
    return png_bytes(fig)


def loss_curve_png(history: pd.DataFrame) -> bytes:
    """Training and validation loss per epoch."""
    fig = Figure(figsize=(5.0, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(history["epoch"], history["train_loss"], marker="o", label="train")
    ax.plot(history["epoch"], history["validation_loss"], marker="s", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return png_bytes(fig)


def markdown_table(frame: pd.DataFrame, *, floatfmt: str = ".4g") -> str:
    """A GitHub Markdown table (no optional ``tabulate`` dependency)."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [format(v, floatfmt) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
