"""The classical DDPM/DDIM references of a quantum run, on the same jets, splits and seed.

Both networks diffuse exactly the vectors the angle family diffuses (``2 sqrt(p) - 1`` per
pixel of the run's normalised images, :func:`~qdm_qiskit.models.angle.pixel_values`), are
trained on the run's training split with the run's seed, and decode through the same inverse.
Two sizes answer two questions:

- ``matched``: an MLP whose parameter count is the quantum model's (quantum + classical) -
  the same budget;
- ``usual``: a small MLP of the size a practitioner would pick - what classical achieves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch

from qdm_qiskit.baseline import GaussianDiffusion, MLPDenoiser, mlp_for_budget, sample, train_ddpm
from qdm_qiskit.baseline.denoiser import MinMax, SeedNotebookDenoiser, denoise, train_denoiser
from qdm_qiskit.data import DataSplits
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.angle import images_from_pixel_values, pixel_values
from qdm_qiskit.models.config import _choice, _integer, _positive
from qdm_qiskit.models.data import JetImageData
from qdm_qiskit.results.metrics import ssim


@dataclass(frozen=True)
class ClassicalConfig:
    """How the classical references are built and trained.

    Attributes:
        steps: diffusion steps T of the DDPM.
        schedule: ``linear`` or ``cosine``.
        beta_start: first step's ``beta`` (linear schedule).
        beta_end: last step's ``beta`` (linear schedule).
        ddim_steps: steps of the DDIM sampler (0: ``steps // 10``).
        hidden: hidden width of the usual-size MLP.
        depth: hidden layers of the usual-size MLP.
        epochs: passes over the training split.
        batch_size: jets per optimiser step.
        learning_rate: Adam's step size.
        notebook_epochs: epochs of the seed notebook's denoiser in the sanity row (the notebook
            used 10; 0 skips the row).
    """

    steps: int = 200
    schedule: Literal["linear", "cosine"] = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.05
    ddim_steps: int = 0
    hidden: int = 128
    depth: int = 3
    epochs: int = 400
    batch_size: int = 128
    learning_rate: float = 2e-3
    notebook_epochs: int = 3

    def __post_init__(self) -> None:
        for name, low in (("steps", 2), ("ddim_steps", 0), ("hidden", 1), ("depth", 1),
                          ("epochs", 1), ("batch_size", 1), ("notebook_epochs", 0)):  # fmt: skip
            _integer(f"classical.{name}", getattr(self, name), low)
        _choice("classical.schedule", self.schedule, ("linear", "cosine"))
        _positive("classical.learning_rate", self.learning_rate)
        for name in ("beta_start", "beta_end"):
            _positive(f"classical.{name}", getattr(self, name))
            if getattr(self, name) >= 1:
                raise ConfigError(f"classical.{name} must be below 1, got {getattr(self, name)}")
        if self.ddim_steps > self.steps:
            raise ConfigError(f"classical.ddim_steps must be at most steps = {self.steps}")

    @property
    def fast_steps(self) -> int:
        """DDIM steps actually used."""
        return self.ddim_steps or max(1, self.steps // 10)

    def diffusion(self) -> GaussianDiffusion:
        """The forward process of the references."""
        schedule = NoiseSchedule(
            kind=self.schedule, steps=self.steps, start=self.beta_start, end=self.beta_end
        )
        return GaussianDiffusion(schedule)


@dataclass(frozen=True, eq=False)
class ClassicalReference:
    """A trained (or deliberately untrained) classical DDPM on jet images."""

    name: str
    network: MLPDenoiser
    diffusion: GaussianDiffusion
    config: ClassicalConfig
    npix: int
    history: pd.DataFrame
    seconds: float
    seed: int
    prediction: str = "eps"

    def parameters(self) -> int:
        """Trainable parameters (all classical)."""
        return self.network.parameter_count()

    def generate(self, count: int, *, seed: int, method: str = "ddpm") -> tuple[np.ndarray, float]:
        """``count`` images and the seconds it took, by DDPM (T steps) or DDIM (``fast_steps``).

        The predicted ``x_0`` is clipped to the representation's box ``[-1, 1]`` at every step,
        as the angle family does.
        """
        started = time.perf_counter()
        steps = self.config.fast_steps if method == "ddim" else None
        values = sample(
            self.network, self.diffusion, count, self.npix**2, seed=seed, method=method,
            steps=steps, clip=1.0, prediction=self.prediction,
        )  # fmt: skip
        images = images_from_pixel_values(values.double().numpy(), self.npix)
        return images, time.perf_counter() - started


def train_reference(
    data: JetImageData,
    network: MLPDenoiser,
    *,
    name: str,
    config: ClassicalConfig,
    seed: int,
    prediction: str = "eps",
    train: bool = True,
) -> ClassicalReference:
    """Train ``network`` on the training split to predict the noise or the clean jet.

    ``prediction`` is ``eps`` or ``x0``; ``train=False`` keeps the initial weights, which are
    drawn from ``seed`` either way.
    """
    npix = data.images.shape[1]
    _reset(network, seed)
    diffusion = config.diffusion()
    started = time.perf_counter()
    history = pd.DataFrame(columns=["epoch", "train_loss", "seconds"])
    if train:
        vectors = torch.tensor(pixel_values(data.part("train")), dtype=torch.float32)
        history = train_ddpm(network, diffusion, vectors, epochs=config.epochs,
                             batch_size=config.batch_size, learning_rate=config.learning_rate,
                             seed=seed, prediction=prediction)  # fmt: skip
    seconds = time.perf_counter() - started
    return ClassicalReference(name, network, diffusion, config, npix, history, seconds, seed,
                              prediction)  # fmt: skip


def _reset(network: torch.nn.Module, seed: int) -> None:
    """Initial weights from ``seed`` alone, with PyTorch's default bounds.

    Every layer's weight and bias are drawn uniformly in ``+-1/sqrt(fan_in)``, with ``fan_in``
    the size of one output slice of the weight (inputs, or inputs times kernel), from a local
    generator: no global random state is touched.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in network.modules():
            weight = getattr(layer, "weight", None)
            if not isinstance(weight, torch.nn.Parameter):
                continue
            bound = 1.0 / math.sqrt(max(weight[0].numel(), 1))
            weight.uniform_(-bound, bound, generator=generator)
            bias = getattr(layer, "bias", None)
            if isinstance(bias, torch.nn.Parameter):
                bias.uniform_(-bound, bound, generator=generator)


def matched_network(dim: int, budget: int, config: ClassicalConfig) -> MLPDenoiser:
    """The one-hidden-layer MLP (8 time features) closest to ``budget`` parameters."""
    return mlp_for_budget(dim, budget, depth=1, time_features=8, steps=config.steps)


def usual_network(dim: int, config: ClassicalConfig) -> MLPDenoiser:
    """The usual-size MLP of ``config``."""
    return MLPDenoiser(dim, hidden=config.hidden, depth=config.depth, steps=config.steps)


@dataclass(frozen=True)
class SanityRow:
    """The seed notebook's denoiser result, reproduced without its normalisation leak."""

    mse: float
    ssim: float
    noisy_mse: float
    noisy_ssim: float
    test_jets: int
    epochs: int
    seconds: float


def seed_notebook_row(
    particles: np.ndarray, splits: DataSplits, *, seed: int, epochs: int = 10, sigma: float = 0.1
) -> SanityRow:
    """Train the seed notebook's denoiser on particle arrays ``(N, M, 4)`` and score it.

    The min-max scaling is fitted on the training split. MSE and SSIM (``win_size=3,
    data_range=1``) are scored on every test jet, beside the same scores of the noisy input.
    """
    scale = MinMax.fit(particles[splits.train])

    def tensor(index: np.ndarray) -> torch.Tensor:
        return torch.tensor(scale(particles[index]), dtype=torch.float32)[:, None]

    started = time.perf_counter()
    network = SeedNotebookDenoiser()
    _reset(network, seed)
    train_denoiser(network, tensor(splits.train), sigma=sigma, epochs=epochs, seed=seed)
    clean = tensor(splits.test)
    noisy, output = denoise(network, clean, sigma=sigma, seed=seed + 1)
    seconds = time.perf_counter() - started
    clean_np, noisy_np, out_np = (t[:, 0].double().numpy() for t in (clean, noisy, output))

    def scores(made: np.ndarray) -> tuple[float, float]:
        mse = float(np.mean((made - clean_np) ** 2))
        similarity = float(np.mean([ssim(a, b, win_size=3, data_range=1.0)
                                    for a, b in zip(clean_np, made, strict=True)]))  # fmt: skip
        return mse, similarity

    mse, similarity = scores(out_np)
    noisy_mse, noisy_similarity = scores(noisy_np)
    return SanityRow(mse, similarity, noisy_mse, noisy_similarity, len(clean_np), epochs, seconds)


def sanity_markdown(row: SanityRow) -> str:
    """The sanity row as a short Markdown section."""
    return "\n".join([
        "## Sanity row: the seed notebook's denoiser",
        "",
        f"Gaussian noise sigma 0.1 on min-max normalised particle arrays (min-max fitted on the "
        f"training split, not on all jets as the notebook did); the notebook's convolutional "
        f"denoiser, {row.epochs} epochs (the notebook: 10), {row.seconds:.1f} s; scored on "
        f"{row.test_jets} test jets (SSIM with win_size 3, data_range 1).",
        "",
        "| input | MSE | SSIM |",
        "|---|---|---|",
        f"| noisy input | {row.noisy_mse:.3g} | {row.noisy_ssim:.3g} |",
        f"| denoised | {row.mse:.3g} | {row.ssim:.3g} |",
        "| seed notebook (leaky normalisation, 10 epochs) | 0.0002 | 0.958 |",
        "",
    ])  # fmt: skip
