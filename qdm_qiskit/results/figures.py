"""PNG figures rendered without pyplot (no global backend or figure state is touched)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from qdm_qiskit.data.format import GLUON, QUARK


def jet_image_preview_png(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    radius: float = 0.4,
    examples: int = 3,
    title: str = "",
) -> bytes:
    """Render mean and example jet images per class, returned as PNG bytes.

    One row per class (quark, gluon): the class mean image, then ``examples`` single jets, all
    on a logarithmic colour scale of the pT fraction per pixel.
    """
    extent = (-radius, radius, -radius, radius)
    fig = Figure(figsize=(3.0 * (examples + 1), 6.2), layout="constrained")
    axes = fig.subplots(2, examples + 1, squeeze=False)
    for row, (name, label) in enumerate((("quark", QUARK), ("gluon", GLUON))):
        members = images[labels == label]
        panels = [(f"{name}: mean of {len(members)}", members.mean(axis=0))] if len(members) else []
        panels += [(f"{name} jet {i}", members[i]) for i in range(min(examples, len(members)))]
        for col, ax, caption, image in image_panels(axes[row], panels):
            positive = image[image > 0]
            norm = (
                LogNorm(vmin=max(positive.min(), 1e-5), vmax=positive.max())
                if positive.size
                else None
            )
            shown = ax.imshow(
                np.where(image > 0, image, np.nan),
                origin="lower",
                extent=extent,
                norm=norm,
                cmap="viridis",
            )
            ax.set_title(caption, fontsize=9)
            if col == 0:
                ax.set_xlabel("delta phi")
                ax.set_ylabel("delta y")
                fig.colorbar(shown, ax=ax, shrink=0.8, label="pT fraction")
    if title:
        fig.suptitle(title, fontsize=10)
    return png_bytes(fig)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (100 dpi)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def image_panels(
    axes_row: Sequence[Axes], panels: Sequence[tuple[str, np.ndarray]]
) -> Iterator[tuple[int, Axes, str, np.ndarray]]:
    """Pair a row of axes with ``(caption, image)`` panels; axes left over are hidden.

    Yields ``(column, axis, caption, image)`` with the axis ticks removed.
    """
    for col, ax in enumerate(axes_row):
        ax.set_xticks([])
        ax.set_yticks([])
        if col >= len(panels):
            ax.set_visible(False)
            continue
        caption, image = panels[col]
        yield col, ax, caption, image
