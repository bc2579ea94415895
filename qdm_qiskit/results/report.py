"""Report pieces shared by every workflow: sample grids and Markdown tables (no pyplot state).

The metrics themselves live in :mod:`qdm_qiskit.results.evaluation`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qdm_qiskit.results.figures import image_panels, png_bytes


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


def markdown_table(frame: pd.DataFrame, *, floatfmt: str = ".4g") -> str:
    """A GitHub Markdown table (no optional ``tabulate`` dependency)."""
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    lines = [header, rule]
    for row in frame.itertuples(index=False):
        cells = [format(v, floatfmt) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
