"""``qdm reservoir``: a thin wrapper over :mod:`qdm_qiskit.reservoir`."""

from __future__ import annotations

from pathlib import Path

import click

from qdm_qiskit.cli.jobs import workspace_options
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.reservoir import (
    combine_reservoir,
    load_reservoir_config,
    run_reservoir,
    submit_reservoir,
    write_reservoir,
)
from qdm_qiskit.reservoir.config import TALK_SETTING


@click.command()
@click.argument("config_file", required=False, type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=None, help="Override inputs.seed and engine.seed.")
@click.option("--submit", is_flag=True, help="Only submit to the engine's target (ibm:...).")
@click.option("--combine", "run_id", default=None,
              help="Score a submitted run (after qdm collect) instead of running.")  # fmt: skip
@workspace_options
def reservoir(
    config_file: Path | None,
    seed: int | None,
    submit: bool,
    run_id: str | None,
    jobs_dir: Path,
    results_dir: Path,
) -> None:
    r"""Run the reservoir reverse-time experiment of CONFIG_FILE (default: the talk's setting).

    CONFIG_FILE (TOML/JSON) has [inputs], [reservoir] and [engine] sections. Writes
    results/reservoir-<id>/ with report.md, info.json (config, seed, versions, metrics),
    per_state.csv, distributions.csv and distributions.png, and prints the Wootters distance.
    On an ibm: engine, --submit sends the circuits; after 'qdm collect RUN_ID',
    --combine RUN_ID scores them.

    \b
    Examples:
      qdm reservoir                          # t_f = 15, Delta = 1, tau_b = 0.1, lambda = 0.7
      qdm reservoir examples/reservoir_trivial.toml --seed 3
      qdm reservoir hw.toml --submit; qdm collect RUN_ID; qdm reservoir hw.toml --combine RUN_ID
    """
    config = TALK_SETTING if config_file is None else load_reservoir_config(config_file)
    if seed is not None:
        config = config.with_seed(seed)
    workspace = Workspace(jobs_dir, results_dir)
    if submit and run_id:
        raise ConfigError("--submit and --combine are separate steps; give one of them")
    if submit:
        submitted = submit_reservoir(config, workspace=workspace)
        click.echo(f"submitted run {submitted}; gather it with 'qdm collect {submitted}', then "
                   f"score it with --combine {submitted}")  # fmt: skip
        return
    if run_id:
        result = combine_reservoir(config, run_id, workspace=workspace)
    else:
        result = run_reservoir(config, workspace=workspace)
    directory = write_reservoir(result, results_dir)
    metrics = result.metrics
    click.echo(f"{result.description}: Wootters distance {metrics['wootters']:.4g} per state "
               f"(max {metrics['wootters_max']:.4g}), {metrics['wootters_ensemble']:.4g} between "
               f"the mean distributions; fidelity {metrics['fidelity']:.4g}")  # fmt: skip
    click.echo(f"report: {directory / 'report.md'}")
