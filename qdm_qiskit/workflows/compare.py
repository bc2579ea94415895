"""``qdm compare`` and the comparison stage of ``qdm run``: sets -> metrics -> report.

Sets are only compared when they were made in the same data representation (the same jets,
image size, label selection, jet cap and split seed): a distance between images of different
representations, or against a test split the model trained on, means nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from qdm_qiskit._io import artifact_directory, atomic_write_bytes, atomic_write_json
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.config import DataConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.options import options_from_dict
from qdm_qiskit.provenance import package_versions
from qdm_qiskit.results.comparison import (
    comparison_markdown,
    loss_curves_png,
    mean_images_png,
    observable_ratio_png,
    summary_table,
)
from qdm_qiskit.results.evaluation import Evaluation, RealJets, SampleSet, evaluate
from qdm_qiskit.results.report import sample_grid_png
from qdm_qiskit.results.sets import SetRecord, StoredSets, read_sets
from qdm_qiskit.workflows.references import (
    ClassicalConfig,
    ClassicalReference,
    matched_network,
    train_reference,
    usual_network,
)


def real_jets(data: JetImageData) -> RealJets:
    """Reference = the test split; floor pool = the training split; holdout = validation."""
    test, train = data.splits.test, data.splits.train
    return RealJets(data.images[test], data.labels[test], data.images[train], data.labels[train],
                    data.images[data.splits.validation])  # fmt: skip


def classical_records(
    data: JetImageData,
    *,
    budget: int,
    count: int,
    seed: int,
    config: ClassicalConfig | None = None,
    matched: bool = True,
) -> list[SetRecord]:
    """Train the usual-size and matched references (and keep an untrained one), then sample.

    The usual U-Net and the budget-matched network are trained alike (same target, schedule,
    optimiser and iterations) and sampled with the DDPM (T steps) and the DDIM (T/10 steps)
    sampler; the untrained usual U-Net with DDPM. ``matched=False`` leaves the matched one out.
    """
    config = config or ClassicalConfig()
    npix = data.images.shape[1]
    references = [
        (train_reference(data, usual_network(npix, config), name="classical usual",
                         config=config, seed=seed, conditional=config.conditional),
         ("ddpm", "ddim")),
        (train_reference(data, usual_network(npix, config), name="classical usual untrained",
                         config=config, seed=seed, train=False,
                         conditional=config.conditional), ("ddpm",)),
    ]  # fmt: skip
    if matched:
        network = matched_network(npix, budget, config)
        matched_reference = train_reference(data, network, name="classical matched",
                                            config=config, seed=seed)  # fmt: skip
        references.insert(1, (matched_reference, ("ddpm", "ddim")))
    records = []
    for reference, methods in references:
        for method in methods:
            records.append(sampled_record(reference, method, count, seed + 1))
    return records


def sampled_record(reference: ClassicalReference, method: str, count: int, seed: int) -> SetRecord:
    """Sample ``reference`` with ``method`` and wrap the images as a comparison set."""
    images, labels, seconds = reference.generate(count, seed=seed, method=method)
    steps = reference.config.fast_steps if method == "ddim" else reference.config.steps
    key = reference.name.replace("classical ", "classical-").replace(" ", "-") + f"-{method}"
    trained = len(reference.history) > 0
    return SetRecord(
        key=key,
        name=f"{reference.name}, {method.upper()} {steps}",
        family="ddpm",
        images=images,
        quantum_parameters=0,
        classical_parameters=reference.parameters(),
        train_seconds=reference.seconds if trained else None,
        sample_seconds=seconds,
        target="cpu",
        seed=seed,
        labels=labels,
        history=reference.history if trained else None,
        extra={
            "model": reference.name,
            "network": type(reference.network).__name__,
            "sampler": method,
            "steps": steps,
            "prediction": reference.config.prediction,
            "encoding": reference.encoding.to_dict(),
            "train_seed": reference.seed,
            **({"label_source": "condition"} if labels is not None else {}),
        },
    )


def evaluate_records(
    records: Sequence[SetRecord], real: RealJets, *, seed: int = 0, bootstrap: int = 30
) -> Evaluation:
    """Evaluate sets against the real jets (names must be unique)."""
    names = [r.name for r in records]
    if len(set(names)) != len(names):
        raise ConfigError(f"set names must be unique in a comparison, got {names}")
    sets = [
        SampleSet(r.name, r.images, r.labels, r.pairs, r.extra.get("label_source", "truth"))
        for r in records
    ]
    return evaluate(sets, real, seed=seed, bootstrap=bootstrap)


def write_comparison(
    directory: Path,
    records: Sequence[SetRecord],
    real: RealJets,
    evaluation: Evaluation,
    *,
    pairs: Sequence[tuple[str, str]] = (),
    untrained: Sequence[tuple[str, str]] = (),
) -> str:
    """Write ``metrics.csv``, ``summary.csv`` and the figures; return the Markdown section."""
    table = evaluation.table
    atomic_write_bytes(directory / "metrics.csv", table.to_csv(index=False).encode())
    summary_csv = summary_table(evaluation).to_csv(index=False).encode()
    atomic_write_bytes(directory / "summary.csv", summary_csv)
    sets = {r.name: r.images for r in records}
    figures = {
        "observables.png": observable_ratio_png(sets, real.reference),
        "mean_images.png": mean_images_png(sets, real.reference),
        "samples.png": sample_grid_png({"real (test)": real.reference, **sets}),
        "loss.png": loss_curves_png(records),
    }
    for name, png in figures.items():
        atomic_write_bytes(directory / name, png)
    text = comparison_markdown(records, evaluation, pairs=pairs, untrained=untrained)
    return text + "\nFigures: `observables.png`, `mean_images.png`, `samples.png`, `loss.png`.\n"


def standard_checks(records: Sequence[SetRecord]) -> dict[str, list[tuple[str, str]]]:
    """The DDPM-vs-DDIM pairs and trained-vs-untrained pairs present among ``records``.

    Sets are grouped by ``extra["model"]``; a model ``M`` is checked against ``M untrained``
    through its reference set: the DDPM-sampled one (classical) or the engine one (quantum).
    """
    by_model: dict[str, list[SetRecord]] = {}
    for r in records:
        by_model.setdefault(r.extra.get("model", r.name), []).append(r)

    def reference(group: list[SetRecord]) -> str | None:
        return next((r.name for r in group
                     if r.extra.get("sampler", "ddpm") == "ddpm" and r.target in ("engine", "cpu")),
                    None)  # fmt: skip

    pairs, untrained = [], []
    for model, group in by_model.items():
        samplers = {r.extra.get("sampler"): r.name for r in group}
        if "ddpm" in samplers and "ddim" in samplers:
            pairs.append((samplers["ddpm"], samplers["ddim"]))
        trained, base = reference(group), reference(by_model.get(f"{model} untrained", []))
        if trained is not None and base is not None:
            untrained.append((trained, base))
    return {"pairs": pairs, "untrained": untrained}


def same_representation(stored: Sequence[StoredSets]) -> dict[str, Any]:
    """The shared data representation of several directories; refuse if they differ."""
    first = stored[0]
    for other in stored[1:]:
        if other.representation != first.representation:
            keys = set(first.representation) | set(other.representation)
            fields = sorted(
                k for k in keys if first.representation.get(k) != other.representation.get(k)
            )
            detail = ", ".join(f"{k}: {first.representation.get(k)!r} vs "
                               f"{other.representation.get(k)!r}" for k in fields)  # fmt: skip
            raise ConfigError(
                f"cannot compare {first.directory} with {other.directory}: they use different "
                f"data representations or splits ({detail}); the metrics would be meaningless"
            )
    return first.representation


def compare_directories(
    directories: Sequence[str | Path],
    *,
    results_dir: str | Path = "results",
    seed: int = 0,
    bootstrap: int = 30,
    notice: Callable[[str], None] | None = None,
) -> tuple[Path, Evaluation]:
    """``qdm compare``: evaluate every set of the given directories together; write a report.

    ``notice`` is told about generated-jet cache shards made on the way (``source = "pythia"``
    representations whose cache is missing here).
    """
    if not directories:
        raise ConfigError("give at least one results directory to compare")
    stored = [read_sets(d) for d in directories]
    representation = same_representation(stored)
    data = load_image_data(
        options_from_dict(DataConfig, representation, context="representation"), notice=notice
    )
    records = _unique_names(stored)
    real = real_jets(data)
    evaluation = evaluate_records(records, real, seed=seed, bootstrap=bootstrap)
    with artifact_directory(results_dir, "compare") as out:
        body = write_comparison(out.partial, records, real, evaluation, **standard_checks(records))
        title = f"# qdm compare: {len(records)} sets from {len(stored)} directories"
        sources = [f"- `{s.directory}`: {', '.join(r.name for r in s.records)}" for s in stored]
        text = "\n".join([title, "", *sources, "", body])
        atomic_write_bytes(out.partial / "report.md", text.encode())
        atomic_write_json(out.partial / "info.json", {
            "kind": "compare", "sources": [str(Path(d).resolve()) for d in directories],
            "representation": representation, "seed": seed, "bootstrap": bootstrap,
            "versions": package_versions()})  # fmt: skip
    return out.final, evaluation


def _unique_names(stored: Sequence[StoredSets]) -> list[SetRecord]:
    """All records; names that repeat across directories get the directory name appended."""
    counts: dict[str, int] = {}
    for s in stored:
        for r in s.records:
            counts[r.name] = counts.get(r.name, 0) + 1
    out = []
    for s in stored:
        for r in s.records:
            out.append(
                replace(r, name=f"{r.name} [{s.directory.name}]") if counts[r.name] > 1 else r
            )
    return out
