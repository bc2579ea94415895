"""A sweep's report: the best point, heatmaps over two axes, and line plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qdm_qiskit._io import atomic_write_bytes
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.results.figures import png_bytes
from qdm_qiskit.results.report import markdown_table
from qdm_qiskit.sweeps.config import SweepConfig


def best_point(table: pd.DataFrame, metric: str, *, higher_is_better: bool = False) -> pd.Series:
    """The row with the best finite ``metric``."""
    if metric not in table.columns:
        known = [c for c in table.columns if c not in ("point", "point_id", "run_dir")]
        raise ConfigError(f"metric {metric!r} is not in the sweep table; it has {known}")
    values = pd.to_numeric(table[metric], errors="coerce")
    values = values[np.isfinite(values)]
    if values.empty:
        raise ConfigError(f"no point has a finite {metric}")
    best = values.idxmax() if higher_is_better else values.idxmin()
    return table.loc[best]


def metric_grid(
    table: pd.DataFrame, x: str, y: str, metric: str, *, higher_is_better: bool = False
) -> pd.DataFrame:
    """``metric`` over axes ``y`` (rows) x ``x`` (columns), best over any other axes."""
    reduce = "max" if higher_is_better else "min"
    return table.pivot_table(index=y, columns=x, values=metric, aggfunc=reduce).sort_index()  # type: ignore[arg-type]


def heatmap_png(grid: pd.DataFrame, metric: str, *, title: str = "") -> bytes:
    """A heatmap of a :func:`metric_grid`, each cell annotated with its value."""
    fig = Figure(figsize=(1.0 + 0.9 * grid.shape[1], 1.2 + 0.6 * grid.shape[0]),
                 layout="constrained")  # fmt: skip
    ax = fig.subplots()
    shown = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in grid.columns])  # fmt: skip
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in grid.index])  # fmt: skip
    ax.set_xlabel(str(grid.columns.name))
    ax.set_ylabel(str(grid.index.name))
    for (i, j), value in np.ndenumerate(grid.to_numpy(dtype=float)):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(shown, ax=ax, label=metric)
    if title:
        ax.set_title(title, fontsize=9)
    return png_bytes(fig)


def lines_png(table: pd.DataFrame, x: str, metric: str, *, hue: str | None = None,
              higher_is_better: bool = False) -> bytes:  # fmt: skip
    """``metric`` against axis ``x`` (log scale), one line per value of ``hue``."""
    fig = Figure(figsize=(5.0, 3.4), layout="constrained")
    ax = fig.subplots()
    reduce = "max" if higher_is_better else "min"
    groups = [(None, table)] if hue is None else list(table.groupby(hue, sort=True))
    for value, rows in groups:
        line = rows.groupby(x, sort=True)[metric].agg(reduce)
        ax.plot(line.index, line.to_numpy(), marker="o", markersize=3,
                label=None if hue is None else f"{hue} = {value!s}")  # fmt: skip
    values = pd.to_numeric(table[metric], errors="coerce")
    if (values > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    if hue is not None:
        ax.legend(fontsize=7)
    return png_bytes(fig)


def write_sweep_report(sweep: SweepConfig, table: pd.DataFrame, directory: Path) -> Path:
    """Write ``report.md`` with the best point, plus ``heatmap-*.png`` and ``lines-*.png``."""
    metric, better = sweep.metric, sweep.higher_is_better
    lines = [f"# Sweep {sweep.name}: {sweep.kind.name}, {len(table)} of {len(sweep.points)} "
             f"points done", ""]  # fmt: skip
    if table.empty:
        lines.append("No point has finished yet.")
    else:
        best = best_point(table, metric, higher_is_better=better)
        where = ", ".join(f"{a} = {best[a]}" for a in sweep.axes)
        lines += [f"Best point ({'highest' if better else 'lowest'} {metric}): {where}: "
                  f"{metric} = {best[metric]:.4g} (run {best['run_dir']}).", ""]  # fmt: skip
        for x, y in sweep.plots:
            name = f"heatmap-{_slug(x)}-{_slug(y)}.png"
            others = [a for a in sweep.axes if a not in (x, y)]
            note = f"; {'max' if better else 'min'} over {', '.join(others)}" if others else ""
            grid = metric_grid(table, x, y, metric, higher_is_better=better)
            atomic_write_bytes(directory / name, heatmap_png(grid, metric, title=f"{metric}{note}"))
            lines += [f"![{metric} over {x} and {y}]({name})", ""]
        hue = sweep.axes[1] if len(sweep.axes) > 1 else None
        name = f"lines-{_slug(sweep.axes[0])}.png"
        atomic_write_bytes(directory / name, lines_png(table, sweep.axes[0], metric, hue=hue,
                                                       higher_is_better=better))  # fmt: skip
        lines += [f"![{metric} against {sweep.axes[0]}]({name})", ""]
        shown = [c for c in ("point", *sweep.axes, metric) if c in table.columns]
        lines += [markdown_table(table[shown]), ""]
    path = directory / "report.md"
    atomic_write_bytes(path, "\n".join(lines).encode())
    return path


def _slug(axis: str) -> str:
    return axis.replace(".", "_")
