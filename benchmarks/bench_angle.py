"""Benchmark: does the angle family (hybrid DDPM, PQC denoiser) generate diverse jets?

Before issue 16 every sample of the angle family was close to the mean image. Each variant is
trained on the same jets, split and seed and sampled exactly on the engine; the samples are
compared with the test jets (variance ratio: summed per-pixel variance against the real one;
W1 of mass/pT, pT^D and girth; pixel Frechet distance; classifier AUC, 0.5 = indistinguishable).

- ``before``: ``x0``-prediction on ``2 sqrt(p) - 1`` pixels, a linear schedule that stops at
  ``alpha_bar_T = 0.18`` (``qdm run``'s model before issue 16);
- ``v, standardised``: cosine schedule (``alpha_bar_T ~ 0``), ``v``-prediction, per-pixel
  standardised pixels with zero suppression at decoding (``qdm run``'s model now);
- ``eps, standardised``: the same with ``eps``-prediction;
- ``image context``: ``v, standardised`` with every circuit re-uploading the whole image
  (``context = image``, 2 layers per chunk);
- ``zero network``: the trained ``v, standardised`` model with its head set to 0, so that every
  prediction is 0: samples are independent per-pixel Gaussians of the training split's mean and
  spread. A quantum denoiser earns its place only by beating this row.

Usage: python benchmarks/bench_angle.py [--quick] [--resolutions 4 8] [--seeds 0 1 2]
(--quick: 4x4, one seed, 3 epochs)
"""

from __future__ import annotations

import copy
import time
from dataclasses import replace

import torch
from _seeded import seeded_parser, seeded_settings

from qdm_qiskit.models import RunConfig, train_model
from qdm_qiskit.models.angle import AngleDenoiser
from qdm_qiskit.models.config import QUICK_RUN, DataConfig
from qdm_qiskit.models.data import load_image_data
from qdm_qiskit.results.evaluation import SampleSet, evaluate
from qdm_qiskit.stats import mean_sd
from qdm_qiskit.workflows.compare import real_jets

#: Variant -> model fields changed from ``qdm run``'s model.
BEFORE = {"schedule": "linear", "prediction": "x0", "standardise": False}
VARIANTS = {
    "before": BEFORE,
    "v, standardised": {},
    "eps, standardised": {"prediction": "noise"},
    "image context": {"context": "image", "layers": 2},
}
ZERO = "zero network"
COUNTS = ("parameters", "train_s")
METRICS = ("variance_ratio", "w1_mass_over_pt", "w1_ptd", "w1_girth", "pixel_fd",
           "classifier_auc")  # fmt: skip


def config(npix: int, variant: str, seed: int, epochs: int) -> RunConfig:
    """``qdm run``'s model with the variant's changes, on all shipped jets."""
    return replace(
        QUICK_RUN,
        data=DataConfig(npix=npix),
        model=replace(QUICK_RUN.model, **VARIANTS[variant]),
        train=replace(QUICK_RUN.train, epochs=epochs, seed=seed),
    )


def zero_network(model: AngleDenoiser) -> AngleDenoiser:
    """A copy whose every prediction is 0 (head scale and bias zeroed)."""
    zeroed = copy.deepcopy(model)
    with torch.no_grad():
        zeroed.head_scale.zero_()
        zeroed.head_bias.zero_()
    return zeroed


def measure(npix: int, seed: int, epochs: int, count: int) -> dict[str, dict[str, float]]:
    """Metric values of every variant (and the zero network) for one resolution and seed."""
    data = load_image_data(DataConfig(npix=npix))
    sets, seconds, params = [], {}, {}
    for variant in VARIANTS:
        started = time.perf_counter()
        model = train_model(config(npix, variant, seed, epochs), data=data).model
        seconds[variant] = time.perf_counter() - started
        params[variant] = model.parameter_count().total
        sets.append(SampleSet(variant, model.sample(count, seed=seed + 1)))
        if variant == "v, standardised":
            assert isinstance(model, AngleDenoiser)
            sets.append(SampleSet(ZERO, zero_network(model).sample(count, seed=seed + 1)))
            seconds[ZERO], params[ZERO] = 0.0, 0
    table = evaluate(sets, real_jets(data), bootstrap=3, seed=seed, subsets=("all",)).table
    rows: dict[str, dict[str, float]] = {}
    for name in [*VARIANTS, ZERO]:
        mine = table[table["set"] == name].set_index("metric")
        rows[name] = {m: float(mine.loc[m, "value"]) for m in METRICS}
        rows[name]["train_s"], rows[name]["parameters"] = seconds[name], params[name]
    floor = table[table["set"] == ZERO].set_index("metric")
    rows["real (floor)"] = {m: float(floor.loc[m, "floor"]) for m in METRICS}
    return rows


def main() -> None:
    parser = seeded_parser(__doc__.splitlines()[0], resolutions=[4, 8], epochs=10)
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    resolutions, seeds, epochs = seeded_settings(args, quick=4)
    torch.manual_seed(0)
    columns = [*METRICS, *COUNTS]
    print("| npix | variant | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for npix in resolutions:
        runs = [measure(npix, seed, epochs, args.count) for seed in seeds]
        for name in runs[0]:
            cells = [
                mean_sd([run[name][key] for run in runs], ".0f" if key in COUNTS else ".3g")
                if key in runs[0][name]
                else ""
                for key in columns
            ]
            print(f"| {npix}x{npix} | {name} | " + " | ".join(cells) + " |", flush=True)
    print(f"seeds {seeds}, {epochs} epochs, {args.count} samples per set, 4 qubits, 10 steps; "
          "shipped jets (split seed 0); mean +- sd over seeds")  # fmt: skip


if __name__ == "__main__":
    main()
