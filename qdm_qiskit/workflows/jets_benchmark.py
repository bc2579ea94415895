"""The classical yardstick at scale: U-Net DDPM/DDIM references on tens of thousands of jets.

:func:`run_jets_benchmark` trains the usual-size reference at each resolution with several
seeds on generated jets, samples it with DDPM and DDIM, and scores every set against the test
jets with every metric and its floor. Three control sets per resolution show that the metrics
discriminate: real validation jets (should sit at the floors), the mean training image repeated
(no diversity) and noise (the encoding's decoding of Gaussian draws). A ladder of smaller
networks at the largest resolution reports what each size buys. ``benchmarks/bench_jets.py``
prints the result; its output is in the README.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qdm_qiskit.baseline import UNetDenoiser, network_for_budget
from qdm_qiskit.models.config import DataConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.results.comparison import agreement
from qdm_qiskit.results.evaluation import Evaluation, SampleSet, evaluate
from qdm_qiskit.workflows.compare import real_jets
from qdm_qiskit.workflows.references import (
    ClassicalConfig,
    ClassicalReference,
    train_reference,
    usual_network,
)

Stage = Callable[[str], None]


@dataclass(frozen=True)
class JetsBenchmark:
    """What the benchmark trains and how it scores.

    Attributes:
        jets: generated jets (the project's Pythia 8 + FastJet generator, cached).
        generator_seed: dataset seed of the generated jets.
        resolutions: image sides.
        seeds: training seeds of the usual-size reference at every resolution.
        count: images sampled per set.
        bootstrap: bootstrap replicates per metric uncertainty.
        ladder: parameter budgets of the smaller networks trained at the largest resolution
            (seed of the first entry of ``seeds``), with DDPM only.
        classical: the references' settings.
    """

    jets: int = 20_000
    generator_seed: int = 0
    resolutions: tuple[int, ...] = (8, 16)
    seeds: tuple[int, ...] = (0, 1, 2)
    count: int = 1000
    bootstrap: int = 10
    ladder: tuple[int, ...] = (600, 5_000, 20_000, 70_000, 270_000)
    classical: ClassicalConfig = field(default_factory=ClassicalConfig)


@dataclass(frozen=True, eq=False)
class JetsBenchmarkResult:
    """Tidy metrics of every set (with ``npix``, ``seed``, ``model``, ``sampler`` columns)."""

    metrics: pd.DataFrame
    models: pd.DataFrame
    agreement: pd.DataFrame


def run_jets_benchmark(
    bench: JetsBenchmark, *, stage: Stage | None = None, data_dir: str | None = None
) -> JetsBenchmarkResult:
    """Train, sample and score everything :class:`JetsBenchmark` describes."""
    tell = stage or (lambda _message: None)
    for npix in bench.resolutions:
        bench.classical.unet_shape().check_resolution(npix)
    frames, models, checks = [], [], []
    for npix in bench.resolutions:
        data = load_image_data(
            DataConfig(source="pythia", jets=bench.jets, generator_seed=bench.generator_seed,
                       npix=npix),
            data_dir=data_dir, notice=tell,
        )  # fmt: skip
        tell(f"{npix}x{npix}: {len(data.images)} jets ({len(data.splits.train)} train / "
             f"{len(data.splits.test)} test)")  # fmt: skip
        for seed in bench.seeds:
            tell(f"{npix}x{npix}, seed {seed}: training the usual U-Net "
                 f"({bench.classical.iterations} iterations)")  # fmt: skip
            network = usual_network(npix, bench.classical)
            reference = train_reference(
                data,
                network,
                name="usual",
                config=bench.classical,
                seed=seed,
                conditional=bench.classical.conditional,
            )
            sets, rows = _sample(reference, ("ddpm", "ddim"), bench.count, seed)
            models += rows
            if seed == bench.seeds[0]:
                sets += _controls(data, reference, bench.count, seed)
            if npix == max(bench.resolutions) and seed == bench.seeds[0]:
                for budget in bench.ladder:
                    small = _ladder_reference(data, npix, budget, bench.classical, seed, tell)
                    ladder_sets, rows = _sample(small, ("ddpm",), bench.count, seed)
                    sets += ladder_sets
                    models += rows
            tell(f"{npix}x{npix}, seed {seed}: evaluating {len(sets)} sets")
            evaluation = evaluate(sets, real_jets(data), bootstrap=bench.bootstrap, seed=seed,
                                  subsets=("all",))  # fmt: skip
            frames.append(evaluation.table.assign(npix=npix, seed=seed))
            checks.append(_agreement(evaluation, npix, seed))
    return JetsBenchmarkResult(pd.concat(frames, ignore_index=True), pd.DataFrame(models),
                               pd.concat(checks, ignore_index=True))  # fmt: skip


def _sample(
    reference: ClassicalReference, methods: tuple[str, ...], count: int, seed: int
) -> tuple[list[SampleSet], list[dict[str, Any]]]:
    sets, rows = [], []
    for method in methods:
        images, labels, seconds = reference.generate(count, seed=seed + 1, method=method)
        name = f"{reference.name}, {method.upper()}"
        sets.append(SampleSet(name, images, labels, label_source="condition"))
        rows.append({"npix": reference.npix, "seed": seed, "set": name,
                     "parameters": reference.parameters(), "train_seconds": reference.seconds,
                     "sample_seconds": seconds, "count": count})  # fmt: skip
    return sets, rows


def _controls(
    data: JetImageData, reference: ClassicalReference, count: int, seed: int
) -> list[SampleSet]:
    """Real validation jets, the mean training image repeated, and decoded Gaussian noise."""
    rng = np.random.default_rng([seed, 99])
    validation = data.part("validation")
    pick = rng.choice(len(validation), size=min(count, len(validation)), replace=False)
    mean = np.repeat(data.part("train").mean(axis=0, keepdims=True), count, axis=0)
    npix = data.images.shape[1]
    noise = reference.encoding.decode(rng.standard_normal((count, npix, npix)))
    return [
        SampleSet("control: real validation jets", validation[pick]),
        SampleSet("control: mean image", mean),
        SampleSet("control: noise", noise),
    ]


def _ladder_reference(
    data: JetImageData,
    npix: int,
    budget: int,
    config: ClassicalConfig,
    seed: int,
    tell: Stage,
) -> ClassicalReference:
    network = network_for_budget(npix, budget, steps=config.steps)
    count = sum(p.numel() for p in network.parameters())
    kind = (f"U-Net {list(network.shape.channels)}" if isinstance(network, UNetDenoiser)
            else "conv")  # fmt: skip
    tell(f"{npix}x{npix}: training the {count}-parameter {kind} (budget {budget})")
    return train_reference(data, network, name=f"{kind}, {count} params", config=config,
                           seed=seed)  # fmt: skip


def _agreement(evaluation: Evaluation, npix: int, seed: int) -> pd.DataFrame:
    check = agreement(evaluation, "usual, DDPM", "usual, DDIM")
    return check.assign(npix=npix, seed=seed)


def summary(result: JetsBenchmarkResult, bench: JetsBenchmark) -> pd.DataFrame:
    """Mean +- sd over seeds of each metric of the usual reference, beside the mean floor."""
    table = result.metrics
    rows = []
    for (npix, metric), group in table.groupby(["npix", "metric"], sort=False):
        row: dict[str, Any] = {"npix": npix, "metric": metric}
        usual = group[group["set"] == "usual, DDPM"]
        row["floor"] = float(usual["floor"].mean())
        for name, label in (("usual, DDPM", "DDPM"), ("usual, DDIM", "DDIM")):
            values = group[group["set"] == name]["value"].to_numpy(dtype=float)
            row[label] = float(np.mean(values))
            row[f"{label} sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
        for name in ("control: real validation jets", "control: mean image", "control: noise"):
            control = group[group["set"] == name]["value"].to_numpy(dtype=float)
            row[name.removeprefix("control: ")] = float(control[0]) if len(control) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
