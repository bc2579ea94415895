"""``qdm train``, ``qdm sample`` and ``qdm run``: thin wrappers over :mod:`qdm_qiskit.models`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from qdm_qiskit.cli.jobs import workspace_options
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.jobs.mitigation import PRESETS
from qdm_qiskit.models.config import QUICK_RUN, load_any_config
from qdm_qiskit.models.ensemble.config import EnsembleRunConfig
from qdm_qiskit.models.ensemble.store import is_ensemble_checkpoint
from qdm_qiskit.models.ensemble.workflow import (
    sample_ensemble_to_directory,
    train_ensemble_to_directory,
)
from qdm_qiskit.models.sampling import ENGINE
from qdm_qiskit.results.report import markdown_table
from qdm_qiskit.workflows.compare import compare_directories
from qdm_qiskit.workflows.quantum import (
    DEFAULT_NOISY_TARGET,
    sample_to_directory,
    train_to_directory,
)
from qdm_qiskit.workflows.references import QUICK_CLASSICAL
from qdm_qiskit.workflows.run import quick_run


def _epoch_printer(total: int):  # type: ignore[no-untyped-def]
    """A one-line-per-epoch progress display with the losses."""

    def show(row: dict[str, float]) -> None:
        epoch = int(row["epoch"])
        bar = "#" * int(20 * epoch / total)
        click.echo(
            f"  epoch {epoch:>3}/{total} [{bar:<20}] train {row['train_loss']:.4f}  "
            f"validation {row['validation_loss']:.4f}  ({row['seconds']:.2f} s)",
            err=True,
        )

    return show


def _step_printer(total: int):  # type: ignore[no-untyped-def]
    """One line per trained reverse step of an ensemble model."""
    done = [0]

    def show(row: dict[str, float]) -> None:
        done[0] += 1
        bar = "#" * int(20 * done[0] / total)
        click.echo(
            f"  step t={int(row['step']):>3} ({done[0]}/{total}) [{bar:<20}] loss "
            f"{row['initial_loss']:.4f} -> {row['final_loss']:.4f}  ({row['seconds']:.2f} s)",
            err=True,
        )

    return show


@click.command()
@click.argument("config_file", type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=None, help="Override train.seed.")
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Where the train-<id> directory is written.",
)
def train(config_file: Path, seed: int | None, results_dir: Path) -> None:
    r"""Train the model of CONFIG_FILE (TOML/JSON with [data], [model], [train]).

    Writes results/train-<id>/ with checkpoint.pt (weights, optimiser state, config, seed,
    versions), history.csv and info.json. Ensemble models (model.family = "ensemble") are
    trained step by step and also get evaluation.csv, summary.csv, report.md, distance.png.

    \b
    Example:
      qdm train config.toml --seed 3
    """
    config = load_any_config(config_file)
    if seed is not None:
        config = config.with_seed(seed)
    if isinstance(config, EnsembleRunConfig):
        _train_ensemble(config, results_dir)
        return
    directory, result = train_to_directory(
        config, results_dir=results_dir, on_epoch=_epoch_printer(config.train.epochs)
    )
    count = result.model.parameter_count()
    click.echo(
        f"trained {config.model.family} model ({count.quantum} quantum + {count.classical} "
        f"classical parameters), best epoch {result.best_epoch}, seed {config.train.seed}"
    )
    click.echo(f"checkpoint: {directory / 'checkpoint.pt'}")


def _train_ensemble(config: EnsembleRunConfig, results_dir: Path) -> None:
    directory, result, summary = train_ensemble_to_directory(
        config, results_dir=results_dir, on_step=_step_printer(config.model.steps)
    )
    count = result.model.parameter_count()
    click.echo(markdown_table(summary))
    click.echo(
        f"trained ensemble model ({count.quantum} quantum + {count.classical} classical "
        f"parameters), seed {config.train.seed}"
    )
    click.echo(f"checkpoint: {directory / 'checkpoint.pt'}")


@click.command()
@click.argument("checkpoint", type=click.Path(path_type=Path))
@click.option("--target", default=ENGINE, show_default=True,
              help="'engine' (exact, torch) or a job-manager target: aer, aer:<fake>, fake:<fake>, "
                   "ibm:<backend> (see 'qdm backends').")  # fmt: skip
@click.option("--n", "count", type=int, default=100, show_default=True, help="Images to generate.")
@click.option("--shots", type=int, default=1024, show_default=True)
@click.option("--mitigation", type=click.Choice(PRESETS), default="none", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@workspace_options
def sample(checkpoint: Path, target: str, count: int, shots: int, mitigation: str, seed: int,
           jobs_dir: Path, results_dir: Path) -> None:  # fmt: skip
    r"""Generate jet images from a trained CHECKPOINT, on the engine or on any target.

    For an ensemble-model checkpoint, generates quantum states (one circuit per sample, ancillas
    measured mid-circuit) and compares the measured outcome distribution with the engine's.

    Writes results/sample-<id>/ with samples.npz (images, each summing to 1) and info.json
    (checkpoint, target, seed, job-manager run ids).

    \b
    Example:
      qdm sample results/train-<id>/checkpoint.pt --target aer:FakeManilaV2 --n 100
    """
    if is_ensemble_checkpoint(checkpoint):
        folder, generated = sample_ensemble_to_directory(
            checkpoint, count=count, seed=seed, target=target, shots=shots,
            mitigation=mitigation, results_dir=results_dir,
            workspace=Workspace(jobs_dir, results_dir),
        )  # fmt: skip
        click.echo(markdown_table(generated.summary()))
        click.echo(f"{count} ensemble samples on {target} in {generated.seconds:.1f} s: {folder}")
        return
    directory, samples = sample_to_directory(
        checkpoint, count=count, seed=seed, target=target, shots=shots, mitigation=mitigation,
        results_dir=results_dir, workspace=Workspace(jobs_dir, results_dir),
    )  # fmt: skip
    click.echo(f"{len(samples.images)} images on {target} in {samples.seconds:.1f} s: {directory}")


@click.command()
@click.option("--target", default=DEFAULT_NOISY_TARGET, show_default=True,
              help="Noisy target for the sampling stage (see 'qdm backends'); 'engine' skips "
                   "it.")  # fmt: skip
@click.option("--n", "count", type=int, default=200, show_default=True, help="Images per model.")
@click.option("--shots", type=int, default=1024, show_default=True)
@click.option("--mitigation", type=click.Choice(PRESETS), default="none", show_default=True)
@click.option("--seed", type=int, default=None, help="Override the training seed (default 0).")
@click.option("--epochs", type=int, default=None, help="Override the quantum model's epochs.")
@click.option("--source", default=None,
              help="Jets: 'sample' (3000 shipped, default), 'pythia' (generated once and cached "
                   "in data/jets), or EnergyFlow .npz file(s) (a path or glob).")  # fmt: skip
@click.option("--npix", type=int, default=None, help="Jet-image side (default 4).")
@click.option("--max-jets", type=int, default=None,
              help="Use at most this many jets (default 1200; 0 for all).")  # fmt: skip
@click.option("--jets", "generated_jets", type=int, default=None,
              help="With --source pythia: jets to generate or reuse (default 20000).")  # fmt: skip
@click.option("--generator-seed", type=int, default=None,
              help="With --source pythia: dataset seed of generated jets (default 0).")  # fmt: skip
@click.option("--classical-iterations", type=int, default=None,
              help="Optimiser steps of each classical reference (default 1500).")  # fmt: skip
@click.option("--bootstrap", type=int, default=30, show_default=True,
              help="Bootstrap replicates per metric uncertainty.")  # fmt: skip
@workspace_options
def run(target: str, count: int, shots: int, mitigation: str, seed: int | None,
        epochs: int | None, source: str | None, npix: int | None, max_jets: int | None,
        generated_jets: int | None, generator_seed: int | None,
        classical_iterations: int | None, bootstrap: int, jobs_dir: Path,
        results_dir: Path) -> None:  # fmt: skip
    r"""The main job: train a small QDM and its classical references on jets, compare.

    Trains the embedded default (angle-encoded denoiser, 4 qubits, 4x4 images of the shipped
    jets) on the torch engine, samples it exactly and on a local noisy simulator through the job
    manager, trains a usual-size convolutional U-Net DDPM and a parameter-matched network on
    the same jets, split and seed (sampled with DDPM and DDIM), and writes
    results/run-<id>/report.md: every metric with its real-vs-real floor and bootstrap
    uncertainty, for all, quark and gluon jets, with figures. --npix, --source and --jets run
    the same comparison at other resolutions and on more jets.

    \b
    Examples:
      qdm run --target fake:FakeManilaV2 --n 100 --seed 1
      qdm run --source pythia --jets 20000 --max-jets 0 --npix 16 --target engine
    """
    config = QUICK_RUN if seed is None else QUICK_RUN.with_seed(seed)
    if epochs is not None:
        config = replace(config, train=replace(config.train, epochs=epochs))
    data = {name: value for name, value in (
        ("source", source), ("npix", npix), ("max_jets", max_jets), ("jets", generated_jets),
        ("generator_seed", generator_seed)) if value is not None}  # fmt: skip
    if data:
        config = replace(config, data=replace(config.data, **data))
    classical = QUICK_CLASSICAL
    if classical_iterations is not None:
        classical = replace(classical, iterations=classical_iterations)
    if isinstance(bootstrap, bool) or bootstrap < 2:
        raise ConfigError(f"--bootstrap must be at least 2, got {bootstrap}")
    report = quick_run(
        config, target=target, count=count, shots=shots, mitigation=mitigation,
        classical=classical, bootstrap=bootstrap,
        results_dir=results_dir, workspace=Workspace(jobs_dir, results_dir),
        on_epoch=_epoch_printer(config.train.epochs),
        on_stage=lambda message: click.echo(message, err=True),
    )  # fmt: skip
    click.echo((report.directory / "report.md").read_text())
    click.echo(f"report: {report.directory / 'report.md'}")


@click.command()
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap, the floor sample and the classifier folds.")  # fmt: skip
@click.option("--bootstrap", type=int, default=30, show_default=True,
              help="Bootstrap replicates per metric uncertainty.")  # fmt: skip
@click.option(
    "--results-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Where the compare-<id> directory is written.",
)
def compare(runs: tuple[Path, ...], seed: int, bootstrap: int, results_dir: Path) -> None:
    r"""Compare the generated jets of RUNS (directories of 'qdm run' or 'qdm sample').

    Every set is evaluated against the real test jets of the shared data representation: 1-D
    Wasserstein distances of jet observables, FPD, KPD, a classifier two-sample AUC, image and
    distribution metrics, each with its real-vs-real floor and bootstrap uncertainty, for all,
    quark and gluon jets. Runs made on different data, image sizes or splits are refused.
    Writes results/compare-<id>/ with report.md, metrics.csv and figures.

    \b
    Example:
      qdm compare results/run-<id> results/sample-<id>
    """
    if isinstance(bootstrap, bool) or bootstrap < 2:
        raise ConfigError(f"--bootstrap must be at least 2, got {bootstrap}")
    directory, _ = compare_directories(
        runs, results_dir=results_dir, seed=seed, bootstrap=bootstrap,
        notice=lambda message: click.echo(message, err=True),
    )  # fmt: skip
    click.echo((directory / "report.md").read_text())
    click.echo(f"report: {directory / 'report.md'}")
