"""``qdm sweep``: a thin wrapper over :mod:`qdm_qiskit.sweeps`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from qdm_qiskit.cli.jobs import workspace_options
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.sweeps import load_sweep, run_sweep, with_report_options, write_sweep_report


@click.command()
@click.argument("sweep_file", type=click.Path(path_type=Path))
@click.option("--workers", type=int, default=None,
              help="Run on a local Dask cluster of N worker processes.")  # fmt: skip
@click.option("--scheduler", default=None,
              help="Run on the Dask scheduler at ADDRESS (tcp://host:8786).")  # fmt: skip
@click.option("--connect-timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for --scheduler.")  # fmt: skip
@click.option("--metric", default=None,
              help="Rank and plot this metric instead of sweep.metric.")  # fmt: skip
@click.option("--plot", "plots", multiple=True, metavar="X,Y",
              help="Heatmap over axes X and Y (repeatable; default sweep.plots).")  # fmt: skip
@workspace_options
def sweep(
    sweep_file: Path,
    workers: int | None,
    scheduler: str | None,
    connect_timeout: float,
    metric: str | None,
    plots: tuple[str, ...],
    jobs_dir: Path,
    results_dir: Path,
) -> None:
    r"""Run every point of SWEEP_FILE (a grid or list over config fields) and report.

    Each point is an ordinary run in the results store (and the ledger, on a target). Points
    already finished are skipped, so an interrupted sweep resumes where it stopped. Writes
    results/sweep-<name>/ with table.csv, report.md (the best point), heatmaps and line plots.
    Re-running a finished sweep with --metric or --plot only redraws the report.

    \b
    Examples:
      qdm sweep examples/sweep_reservoir.toml
      qdm sweep examples/sweep_reservoir.toml --workers 2
      qdm sweep examples/sweep_reservoir.toml --scheduler tcp://10.0.0.5:8786
      qdm sweep sweep.toml --metric fidelity --plot reservoir.tau_b,reservoir.coupling
    """
    spec = with_report_options(load_sweep(sweep_file), metric=metric,
                               plots=[p.split(",") for p in plots] if plots else None)  # fmt: skip
    total = len(spec.points)
    bar: dict[str, Any] = {}

    def show(done: int, _total: int, row: dict[str, Any]) -> None:
        filled = int(30 * done / total)
        value = row.get(spec.metric, float("nan"))
        click.echo(f"\r  [{'#' * filled:<30}] {done}/{total}  last {spec.metric} {value:.4g}",
                   nl=done == total, err=True)  # fmt: skip
        bar["shown"] = True

    outcome = run_sweep(spec, workspace=Workspace(jobs_dir, results_dir), workers=workers,
                        scheduler=scheduler, connect_timeout=connect_timeout,
                        progress=show)  # fmt: skip
    report = write_sweep_report(spec, outcome.table, outcome.directory)
    click.echo(f"sweep {spec.name}: {len(outcome.ran)} point(s) run, {len(outcome.skipped)} "
               f"already done, {total} in all")  # fmt: skip
    click.echo(f"report: {report}")
