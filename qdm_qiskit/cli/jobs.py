"""``qdm backends``, ``qdm submit``, ``qdm status``, ``qdm collect`` and ``qdm cancel``."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import click
import pandas as pd

from qdm_qiskit.circuits.transpile import TranspileCache
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.experiment import experiment_tasks, load_experiment
from qdm_qiskit.jobs.manager import (
    Workspace,
    cancel_run,
    collect_run,
    jobs_table,
    plan_tasks,
    status_table,
    submit_plan,
)
from qdm_qiskit.jobs.mitigation import PRESETS
from qdm_qiskit.jobs.plan import RunPlan
from qdm_qiskit.jobs.targets import target_table

_workspace_options = [
    click.option(
        "--jobs-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("jobs"),
        show_default=True,
        help="Ledger and run directories.",
    ),
    click.option(
        "--results-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("results"),
        show_default=True,
        help="Results store.",
    ),
]


def workspace_options(command):  # type: ignore[no-untyped-def]
    """Add ``--jobs-dir`` and ``--results-dir`` to a command."""
    for option in reversed(_workspace_options):
        command = option(command)
    return command


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Also list every aer:<fake> target.")
def backends(show_all: bool) -> None:
    r"""List execution targets: aer, fake:<name> (and aer:<name>) devices, ibm:<backend>.

    fake:<name> runs the Runtime's client-side primitives in local testing mode with the
    device's noise (mitigation presets run for real); aer:<name> runs Aer's primitives with the
    same noise model, faster and without Runtime options. ibm:<backend> needs credentials
    (QISKIT_IBM_TOKEN / QISKIT_IBM_INSTANCE or a saved account).

    \b
    Example:
      qdm backends
    """
    rows = [r for r in target_table() if show_all or not r["target"].startswith("aer:")]
    frame = pd.DataFrame(rows).set_index("target")
    frame["qubits"] = frame["qubits"].map(lambda q: "-" if pd.isna(q) else str(int(q)))
    click.echo(frame[["qubits", "basis_gates", "description"]].to_string())
    click.echo("ibm:<backend>  IBM Quantum device (needs credentials)")


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--target", default=None, help="aer | aer:<fake> | fake:<fake> | ibm:<backend>.")
@click.option(
    "--mitigation", type=click.Choice(PRESETS), default=None, help="Error-mitigation preset."
)
@click.option("--shots", type=click.IntRange(min=1), default=None, help="Shots per binding.")
@click.option(
    "--precision", type=click.FloatRange(0, 1, min_open=True), default=None, help="Estimator."
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Overrides the config.")
@click.option("--dry-run", is_flag=True, help="Print the plan; submit and write nothing.")
@click.option("--collect", "collect_now", is_flag=True, help="Collect right after submitting.")
@workspace_options
def submit(
    experiment: Path,
    target: str | None,
    mitigation: str | None,
    shots: int | None,
    precision: float | None,
    seed: int | None,
    dry_run: bool,
    collect_now: bool,
    jobs_dir: Path,
    results_dir: Path,
) -> None:
    r"""Submit an EXPERIMENT (.toml/.json): transpile, batch into PUBs and jobs, record, run.

    The run is recorded in the ledger (jobs/ledger.sqlite) before anything is submitted and
    each job id as soon as the service returns it. Local targets run here; collect the
    results with 'qdm collect'.

    \b
    Example:
      qdm submit experiment.toml --target fake:FakeManilaV2 --mitigation readout --dry-run
      qdm submit experiment.toml --target aer --shots 2000 --collect
    """
    config = load_experiment(experiment)
    overrides = {
        "target": target,
        "mitigation": mitigation,
        "shots": shots,
        "precision": precision,
        "seed": seed,
    }
    given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    config = replace(config, **given)
    target_text = config.target
    if not target_text:
        raise ConfigError(f"{experiment}: no target; pass --target or set target in the file")
    tasks = experiment_tasks(config)
    plan = plan_tasks(
        tasks,
        target=target_text,
        primitive=config.primitive,
        mitigation=config.mitigation,
        shots=config.shots,
        precision=config.precision,
        seed=config.seed,
        chunk_size=config.chunk_size,
        transpile=config.transpile,
        cache=TranspileCache(),
    )
    _echo_plan(plan)
    if dry_run:
        click.echo("dry run: nothing submitted, nothing written")
        return
    workspace = Workspace(jobs_dir, results_dir)
    recorded = {**asdict(config), "source": str(experiment)}
    recorded.pop("base_dir", None)
    run_id = submit_plan(plan, workspace=workspace, name=config.name, config=recorded)
    click.echo(f"run {run_id}: {len(plan.jobs)} job(s) submitted to {plan.target}")
    if collect_now:
        _collect_one(run_id, workspace)
    else:
        click.echo(f"collect with: qdm collect {run_id}")


@click.command()
@click.argument("run", required=False)
@workspace_options
def status(run: str | None, jobs_dir: Path, results_dir: Path) -> None:
    r"""Show runs (or the jobs and history of RUN) from the ledger. Needs no credentials.

    \b
    Example:
      qdm status
      qdm status 20261121-101500-a1b2c3
    """
    workspace = Workspace(jobs_dir, results_dir)
    if not workspace.ledger_path.exists():
        click.echo(f"no runs yet ({workspace.ledger_path} does not exist)")
        return
    with workspace.ledger() as ledger:
        if run is None:
            table = status_table(ledger)
            click.echo("no runs yet" if table.empty else table.to_string(index=False))
            return
        row = ledger.run(run)
        click.echo(
            f"run {row.run_id} ({row.name}): {row.primitive} on {row.target}, "
            f"mitigation {row.mitigation}, seed {row.seed}, created {row.created_at}"
        )
        click.echo(jobs_table(ledger, row.run_id).to_string(index=False))
        click.echo("history:")
        for event in ledger.events(row.run_id)[-20:]:
            job = "run" if event["job_index"] is None else f"job {event['job_index']}"
            click.echo(f"  {event['at']}  {job:8s} {event['state']:10s} {event['message'] or ''}")


@click.command()
@click.argument("run", required=False)
@workspace_options
def collect(run: str | None, jobs_dir: Path, results_dir: Path) -> None:
    r"""Fetch finished jobs of RUN (default: every unfinished run) into the results store.

    Idempotent: running it twice adds nothing. Failed or cancelled jobs are recorded with their
    error and the rest of the run is still collected; transient errors are retried with backoff.

    \b
    Example:
      qdm collect
      qdm collect 20261121-101500-a1b2c3
    """
    workspace = Workspace(jobs_dir, results_dir)
    workspace.existing_ledger().close()
    if run is not None:
        _collect_one(run, workspace)
        return
    with workspace.ledger() as ledger:
        open_runs = [
            r.run_id for r in ledger.runs() if not all(j.final for j in ledger.jobs(r.run_id))
        ]
    if not open_runs:
        click.echo("nothing to collect: every run is complete")
    for run_id in open_runs:
        _collect_one(run_id, workspace)


@click.command()
@click.argument("run")
@workspace_options
def cancel(run: str, jobs_dir: Path, results_dir: Path) -> None:
    r"""Cancel the unfinished jobs of RUN (queued jobs on IBM Quantum are cancelled there).

    \b
    Example:
      qdm cancel 20261121-101500-a1b2c3
    """
    for message in cancel_run(run, workspace=Workspace(jobs_dir, results_dir)):
        click.echo(message)


def _collect_one(run_id: str, workspace: Workspace) -> None:
    report = collect_run(run_id, workspace=workspace)
    parts = [f"{len(report.collected)} job(s) collected"]
    if report.failed:
        parts.append(f"{len(report.failed)} failed")
    if report.waiting:
        parts.append(f"{len(report.waiting)} still running")
    if report.busy:
        parts.append(f"{len(report.busy)} being collected by another process")
    state = "complete" if report.complete else "incomplete"
    click.echo(f"run {report.run_id}: {', '.join(parts)}; run {state}")
    for message in report.messages:
        click.echo(f"  {message}")
    if report.complete:
        click.echo(f"results: {Path(workspace.results_dir) / report.run_id}/")


def _echo_plan(plan: RunPlan) -> None:
    click.echo(
        f"plan: {len(plan.circuits)} circuit(s), {plan.num_bindings} binding(s), "
        f"{len(plan.pubs)} PUB(s), {len(plan.jobs)} job(s), {plan.primitive} on {plan.target}, "
        f"mitigation {plan.mitigation}, {plan.shots} shots per "
        f"{'binding' if plan.primitive == 'sampler' else 'observable group and binding'}"
    )
    rows = [
        {
            "circuit": c.name,
            "qubits": c.isa.num_qubits if plan.simulated_qubits is None else len(c.physical_qubits),
            "depth": c.isa.depth(),
            "parameters": len(c.parameter_names),
            "bindings": int(c.values.shape[0]),
            "duration_us": None if c.duration_s is None else round(1e6 * c.duration_s, 2),
        }
        for c in plan.circuits
    ]
    click.echo(pd.DataFrame(rows).to_string(index=False))
    click.echo(plan.table().to_string())
    seconds = plan.qpu_seconds
    click.echo(
        "estimated QPU time: "
        + ("n/a (ideal simulator)" if seconds is None else f"{seconds:.1f} s")
    )
    for note in plan.notes:
        click.echo(f"note: {note}")
