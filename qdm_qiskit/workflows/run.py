"""``qdm run``: train a QDM and its classical references on the same jets, sample, compare."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import pandas as pd

from qdm_qiskit._io import artifact_directory, atomic_write_bytes, atomic_write_json
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.models.base import QuantumDiffusionModel
from qdm_qiskit.models.config import QUICK_RUN, RunConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.models.factory import build_model
from qdm_qiskit.models.sampling import ENGINE, check_sampling
from qdm_qiskit.models.train import EpochCallback, TrainingResult, train_model
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.provenance import artifact_info, package_versions
from qdm_qiskit.results.comparison import summary_table
from qdm_qiskit.results.sets import write_sets
from qdm_qiskit.workflows.compare import (
    classical_records,
    evaluate_records,
    real_jets,
    standard_checks,
    write_comparison,
)
from qdm_qiskit.workflows.quantum import (
    DEFAULT_NOISY_TARGET,
    generate,
    qpu_per_1000,
    quantum_record,
)
from qdm_qiskit.workflows.references import (
    QUICK_CLASSICAL,
    ClassicalConfig,
    sanity_markdown,
    seed_notebook_row,
)


@dataclass(frozen=True, eq=False)
class RunReport:
    """What ``qdm run`` produced: the tidy metric table, its all-jets summary, the training."""

    directory: Path
    metrics: pd.DataFrame
    summary: pd.DataFrame
    training: TrainingResult


def quick_run(
    config: RunConfig = QUICK_RUN,
    *,
    target: str = DEFAULT_NOISY_TARGET,
    count: int = 200,
    shots: int = 1024,
    mitigation: str = "none",
    classical: ClassicalConfig | None = None,
    bootstrap: int = 30,
    results_dir: str | Path = "results",
    workspace: Workspace | None = None,
    on_epoch: EpochCallback | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> RunReport:
    """Train a small QDM and its classical references, sample them, compare, report.

    The quantum model is sampled exactly (engine) and on ``target`` through the job manager;
    the classical references (parameter-matched and usual-size DDPMs, on the same jets, split
    and seed) with DDPM and DDIM. The directory holds ``report.md``, ``metrics.csv`` (every
    metric with floor and uncertainty, all/quark/gluon), ``summary.csv``, the figures, the
    checkpoint, ``sets.json``/``sets.npz`` (for ``qdm compare``) and ``info.json``.
    """
    stage = on_stage or (lambda _message: None)
    untrained = build_model(config)  # the reference row, and the model the settings are checked on
    check_sampling(untrained, target=target, count=count, shots=shots)
    classical = classical or QUICK_CLASSICAL
    classical.unet_shape().check_resolution(config.data.npix)
    data = load_image_data(config.data, notice=stage)
    with artifact_directory(results_dir, "run") as out:
        report = _run_into(
            out.partial, config, untrained, data, target, count, shots, mitigation, classical,
            bootstrap, workspace, on_epoch, stage,
        )  # fmt: skip
    stage(f"report written to {out.final}")
    return replace(report, directory=out.final)


def _run_into(
    directory: Path,
    config: RunConfig,
    untrained: QuantumDiffusionModel,
    data: JetImageData,
    target: str,
    count: int,
    shots: int,
    mitigation: str,
    classical: ClassicalConfig,
    bootstrap: int,
    workspace: Workspace | None,
    on_epoch: EpochCallback | None,
    stage: Callable[[str], None],
) -> RunReport:
    seed = config.train.seed
    family = config.model.family
    untrained.fit(data.part("train"))
    stage(f"training a {family} model")
    training = train_model(
        config, data=data, checkpoint=directory / "checkpoint.pt", on_epoch=on_epoch
    )
    model = training.model
    stage("sampling on the engine (exact)")
    exact = generate(model, count=count, seed=seed + 1, data=data)
    baseline = generate(untrained, count=count, seed=seed + 1, data=data)
    noisy = None
    if target != ENGINE:
        stage(f"sampling on {target} through the job manager ({shots} shots)")
        noisy = generate(model, count=count, seed=seed + 1, target=target, shots=shots,
                         mitigation=mitigation, workspace=workspace, data=data)  # fmt: skip
    quantum = f"quantum {family}"
    record = partial(quantum_record, data=data, seed=seed + 1)
    records = [
        record(model, exact, key="quantum-engine", name=f"{quantum}, engine", training=training),
        record(untrained, baseline, key="quantum-untrained", name=f"{quantum} untrained, engine",
               untrained=True),
    ]  # fmt: skip
    if noisy is not None:
        records.insert(1, record(model, noisy, key="quantum-target", name=f"{quantum}, {target}",
                                 training=training,
                                 qpu_seconds_per_1000=qpu_per_1000(noisy, workspace)))  # fmt: skip
    stage(f"training the classical references (usual-size U-Net and parameter-matched, "
          f"{classical.iterations} iterations each)")  # fmt: skip
    records += classical_records(
        data, budget=model.parameter_count().total, count=count, seed=seed, config=classical
    )
    stage("evaluating every set against the test jets (floors, bootstrap errors)")
    real = real_jets(data)
    evaluation = evaluate_records(records, real, seed=seed, bootstrap=bootstrap)
    checks = standard_checks(records)
    write_sets(directory, records, options_to_dict(config.data), seed=seed,
               versions=package_versions())  # fmt: skip
    body = write_comparison(directory, records, real, evaluation, **checks)
    sanity = ""
    if classical.notebook_epochs and data.particles is not None:
        stage("sanity row: the seed notebook's denoiser (sigma 0.1, train-split min-max)")
        row = seed_notebook_row(data.particles, data.splits, seed=seed,
                                epochs=classical.notebook_epochs)  # fmt: skip
        atomic_write_json(directory / "sanity.json", asdict(row))
        sanity = sanity_markdown(row)
    count_ = model.parameter_count()
    final_loss = training.history.validation_loss.iloc[-1]
    npix = config.data.npix
    lines = [
        f"# qdm run: {family} QDM vs classical DDPM/DDIM on {npix}x{npix} jet images",
        "",
        f"- quantum model: {count_.quantum} quantum + {count_.classical} classical parameters; "
        f"{len(training.history)} epochs in {training.seconds:.1f} s, best epoch "
        f"{training.best_epoch}, final validation loss {final_loss:.4g}",
        f"- sampling: {count} images per set; "
        + (
            f"{target} ({shots} shots, mitigation {mitigation}) through job-manager runs "
            f"{', '.join(noisy.run_ids)}"
            if noisy is not None
            else "engine only"
        )
        + "",
        f"- classical references: {classical.schedule} schedule, DDPM T = {classical.steps}, "
        f"DDIM {classical.fast_steps} steps; {classical.prediction}-prediction on "
        f"{classical.encoding}-encoded pixels (zero suppression below the "
        f"{classical.zero_quantile:g} quantile of training pixels); {classical.iterations} "
        f"iterations of batch {classical.batch_size}; U-Net channels {classical.channels}",
        f"- seed {seed}; split seed {config.data.split_seed}; {len(data.images)} jets "
        f"({len(data.splits.train)} train / {len(data.splits.test)} test)",
        "",
        body,
        sanity,
    ]
    atomic_write_bytes(directory / "report.md", "\n".join(lines).encode())
    atomic_write_json(
        directory / "info.json",
        artifact_info(
            "run",
            config,
            seed,
            target=target,
            shots=shots,
            mitigation=mitigation,
            classical=options_to_dict(classical),
            bootstrap=bootstrap,
            parameters={"quantum": count_.quantum, "classical": count_.classical},
            job_runs=list(noisy.run_ids) if noisy is not None else [],
            training_seconds=training.seconds,
            best_epoch=training.best_epoch,
        ),
    )
    return RunReport(directory, evaluation.table, summary_table(evaluation), training)
