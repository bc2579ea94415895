"""Benchmark: does the direct state denoiser (Cacioppo et al.) beat doing nothing?

The state family amplitude-encodes a jet image (``sum_j sqrt(p_j)|j>``) and trains one PQC to
map ``|x_t>`` to ``|x_{t-1}>``. The bar every denoiser must clear is the model that returns its
input unchanged. Measured in the same run, per resolution, noise scale and seed:

- validation infidelity of the trained model against that identity model (same steps and noise);
- the norm of the loss gradient at the initial weights (near 0 at the identity: a stationary
  point);
- reconstruction: test jets noised to step ``T`` and run back through the reverse process,
  compared with the noised jets themselves, by the fidelity ``(sum_j sqrt(p_j q_j))^2`` of the
  reconstructed and the original pixel distributions (1 = the same image).

Three variants show what each fix changes:

- ``before``: every amplitude unit-variance noise (``noise_scale = amplitude``), random weights,
  ``RZ(tau)`` time embedding (the model before issue 16);
- ``noise fixed``: noise of the image's norm (``noise_scale = image``), otherwise as before;
- ``identity init``: noise fixed, zero weights and a conjugate time embedding
  (``RZ(tau) PQC RZ(-tau)``, ``init = identity``): the untrained step is the identity.

Usage: python benchmarks/bench_state.py [--quick] [--resolutions 8 16] [--seeds 0 1 2]
(--quick: 8x8, one seed, 3 epochs)
"""

from __future__ import annotations

import time

import numpy as np
import torch
from _seeded import seeded_parser, seeded_settings

from qdm_qiskit.models import RunConfig, train_model
from qdm_qiskit.models.config import DataConfig, ModelConfig, TrainConfig
from qdm_qiskit.models.data import load_image_data
from qdm_qiskit.models.factory import build_model
from qdm_qiskit.models.state import StateDenoiser
from qdm_qiskit.models.train import evaluate
from qdm_qiskit.results.metrics import wootters_rows
from qdm_qiskit.stats import mean_sd


def image_fidelity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(sum_j sqrt(a_j b_j))^2 = cos^2`` of the Wootters distance, per pair of images."""
    return np.cos(wootters_rows(a.reshape(len(a), -1), b.reshape(len(b), -1))) ** 2


#: Variant name -> (noise_scale, init).
VARIANTS = {"before": ("amplitude", "random"), "noise fixed": ("image", "random"),
            "identity init": ("image", "identity")}  # fmt: skip


def qubits(npix: int) -> int:
    """Register of an amplitude-encoded npix x npix image."""
    return int(np.log2(npix * npix))


def config(npix: int, variant: str, seed: int, epochs: int) -> RunConfig:
    noise_scale, init = VARIANTS[variant]
    return RunConfig(
        data=DataConfig(npix=npix),
        model=ModelConfig(
            family="state",
            num_qubits=qubits(npix),
            layers=6,
            steps=4,
            noise_scale=noise_scale,
            init=init,
        ),
        train=TrainConfig(epochs=epochs, batch_size=64, learning_rate=0.02, seed=seed),
    )


def start_gradient(run: RunConfig, train: np.ndarray) -> float:
    """Norm of the loss gradient at the initial weights (training split, one noise draw)."""
    model = build_model(run)
    model.loss(model.encode(train), torch.Generator().manual_seed(1)).backward()
    assert model.weights.grad is not None
    return float(model.weights.grad.norm())


def measure(run: RunConfig) -> dict[str, float]:
    data = load_image_data(run.data)
    gradient = start_gradient(run, data.part("train"))
    started = time.perf_counter()
    result = train_model(run, data=data)
    seconds = time.perf_counter() - started
    model = result.model
    assert isinstance(model, StateDenoiser)
    validation = model.encode(data.part("validation"))
    trained = evaluate(model, validation, seed=123, batch_size=256)
    generator = torch.Generator().manual_seed(123)
    with torch.no_grad():
        identity = float(model.identity_loss(validation, generator))
    test = data.part("test")
    reconstructed = image_fidelity(model.reconstruct(test, seed=7), test)
    noised = image_fidelity(model.noised_images(test, seed=7), test)
    return {"train_s": seconds, "start_gradient": gradient, "infidelity": trained,
            "identity_infidelity": identity,
            "reconstruction": float(reconstructed.mean()),
            "noised_input": float(noised.mean())}  # fmt: skip


def main() -> None:
    args = seeded_parser(__doc__.splitlines()[0], resolutions=[8, 16], epochs=30).parse_args()
    resolutions, seeds, epochs = seeded_settings(args, quick=8)
    torch.manual_seed(0)
    print("| npix | qubits | variant | validation infidelity | identity | reconstruction "
          "fidelity | noised input | gradient at start | train s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for npix in resolutions:
        for variant in VARIANTS:
            rows = [measure(config(npix, variant, seed, epochs)) for seed in seeds]

            def cell(key: str, form: str = ".3f", rows: list[dict[str, float]] = rows) -> str:
                return mean_sd([r[key] for r in rows], form)

            print(f"| {npix}x{npix} | {qubits(npix)} | {variant} | "
                  f"{cell('infidelity')} | {cell('identity_infidelity')} | "
                  f"{cell('reconstruction')} | {cell('noised_input')} | "
                  f"{cell('start_gradient', '.4f')} | "
                  f"{cell('train_s')} |", flush=True)  # fmt: skip
    print(f"seeds {seeds}, {epochs} epochs, shipped jets (train/validation/test split seed 0)")


if __name__ == "__main__":
    main()
