"""The classical DDPM/DDIM references of a run, on the same jets, split and seed.

Each reference diffuses the run's normalised jet images through a
:class:`~qdm_qiskit.data.pixel_encoding.PixelEncoding` fitted on the training split, is trained
on the training split with the run's seed, and samples with diffusers' DDPM and DDIM schedulers
on the project's noise schedule. Two sizes answer two questions:

- ``usual``: the convolutional U-Net a practitioner would train (diffusers' ``UNet2DModel``,
  about 0.6 M parameters by default), optionally conditioned on quark/gluon - what classical
  diffusion achieves;
- ``matched``: the largest network with at most the quantum model's parameter count (a small
  U-Net, or a plain conv denoiser for budgets below any U-Net) trained the same way - what the
  same budget buys classically. It predicts the same target as ``usual``, so its samples keep
  their diversity even when it learns little.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch

from qdm_qiskit.baseline import (
    GaussianDiffusion,
    UNetDenoiser,
    UNetShape,
    diffusers_scheduler,
    network_for_budget,
    sample_with_scheduler,
    train_ddpm,
)
from qdm_qiskit.baseline.denoiser import MinMax, SeedNotebookDenoiser, denoise, train_denoiser
from qdm_qiskit.data import DataSplits
from qdm_qiskit.data.pixel_encoding import PixelEncoding
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.config import _choice, _integer, _positive
from qdm_qiskit.models.data import JetImageData
from qdm_qiskit.results.metrics import ssim


@dataclass(frozen=True)
class ClassicalConfig:
    """How the classical references are built, trained and sampled.

    Attributes:
        steps: diffusion steps T.
        schedule: ``cosine`` (Nichol & Dhariwal) or ``linear`` (``beta_start`` to ``beta_end``).
        beta_start: first step's ``beta`` (linear schedule).
        beta_end: last step's ``beta`` (linear schedule).
        ddim_steps: steps of the DDIM sampler (0: ``steps // 10``).
        prediction: the network's target, ``v`` (velocity), ``eps`` (noise) or ``x0``.
        encoding: pixel compression, ``sqrt`` or ``log`` (see ``PixelEncoding``).
        zero_quantile: decoded pixels below this quantile of the training split's non-empty
            pixel fractions become 0 (0 disables).
        channels: U-Net channels per resolution level (the usual-size network).
        layers_per_block: U-Net residual blocks per level.
        attention: self-attention in the U-Net's middle block.
        conditional: condition the usual-size U-Net on the quark/gluon label; samples are then
            drawn with the training split's label fractions and carry their labels.
        iterations: optimiser steps.
        batch_size: jets per optimiser step.
        learning_rate: Adam's peak step size (one-cycle schedule: warm-up, cosine decay).
        ema: decay of the weights' moving average used for sampling (0: none).
        notebook_epochs: epochs of the seed notebook's denoiser in the sanity row (the notebook
            used 10; 0 skips the row).
    """

    steps: int = 200
    schedule: Literal["linear", "cosine"] = "cosine"
    beta_start: float = 1e-4
    beta_end: float = 0.05
    ddim_steps: int = 0
    prediction: Literal["v", "eps", "x0"] = "v"
    encoding: Literal["sqrt", "log"] = "log"
    zero_quantile: float = 0.01
    channels: tuple[int, ...] = (16, 32, 64)
    layers_per_block: int = 1
    attention: bool = True
    conditional: bool = False
    iterations: int = 3600
    batch_size: int = 128
    learning_rate: float = 2e-3
    ema: float = 0.999
    notebook_epochs: int = 3

    def __post_init__(self) -> None:
        integers = (("steps", 2), ("ddim_steps", 0), ("layers_per_block", 1), ("iterations", 1),
                    ("batch_size", 1), ("notebook_epochs", 0))  # fmt: skip
        for name, low in integers:
            _integer(f"classical.{name}", getattr(self, name), low)
        _choice("classical.schedule", self.schedule, ("linear", "cosine"))
        _choice("classical.prediction", self.prediction, ("v", "eps", "x0"))
        _choice("classical.encoding", self.encoding, ("sqrt", "log"))
        _positive("classical.learning_rate", self.learning_rate)
        for name in ("beta_start", "beta_end"):
            _positive(f"classical.{name}", getattr(self, name))
            if getattr(self, name) >= 1:
                raise ConfigError(f"classical.{name} must be below 1, got {getattr(self, name)}")
        if self.ddim_steps > self.steps:
            raise ConfigError(f"classical.ddim_steps must be at most steps = {self.steps}")
        for name, value, high in (("zero_quantile", self.zero_quantile, 0.5),
                                  ("ema", self.ema, 1.0)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"classical.{name} must be a number, got {value!r}")
            if not (math.isfinite(value) and 0 <= value < high):
                raise ConfigError(f"classical.{name} must lie in [0, {high}), got {value}")
        for name in ("attention", "conditional"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"classical.{name} must be true or false")
        object.__setattr__(self, "channels", tuple(self.channels))
        self.unet_shape()  # validates the channels

    @property
    def fast_steps(self) -> int:
        """DDIM steps actually used."""
        return self.ddim_steps or max(1, self.steps // 10)

    def schedule_object(self) -> NoiseSchedule:
        """The noise schedule of the references."""
        return NoiseSchedule(
            kind=self.schedule, steps=self.steps, start=self.beta_start, end=self.beta_end
        )

    def diffusion(self) -> GaussianDiffusion:
        """The forward process of the references."""
        return GaussianDiffusion(self.schedule_object())

    def unet_shape(self) -> UNetShape:
        """The usual-size U-Net's shape."""
        return UNetShape(
            channels=self.channels,
            layers_per_block=self.layers_per_block,
            attention=self.attention,
            classes=2 if self.conditional else 0,
        )


#: The references of ``qdm run``'s embedded default (960 training jets of 4x4): fewer iterations.
QUICK_CLASSICAL = ClassicalConfig(iterations=1500)


@dataclass(frozen=True, eq=False)
class ClassicalReference:
    """A trained (or deliberately untrained) classical DDPM on jet images."""

    name: str
    network: torch.nn.Module
    config: ClassicalConfig
    encoding: PixelEncoding
    npix: int
    history: pd.DataFrame
    seconds: float
    seed: int
    label_fractions: tuple[float, float] | None = None

    def parameters(self) -> int:
        """Trainable parameters (all classical)."""
        return sum(p.numel() for p in self.network.parameters())

    @property
    def conditional(self) -> bool:
        """Whether samples are drawn per quark/gluon label."""
        return self.label_fractions is not None

    def generate(
        self, count: int, *, seed: int, method: str = "ddpm"
    ) -> tuple[np.ndarray, np.ndarray | None, float]:
        """``(images, labels, seconds)``: ``count`` samples by DDPM (T steps) or DDIM.

        The predicted ``x_0`` is clipped to the encoding's box ``[-1, 1]`` at every step. A
        conditional reference draws the labels with the training split's fractions (seeded) and
        returns them; otherwise ``labels`` is ``None``.
        """
        started = time.perf_counter()
        labels = None
        if self.label_fractions is not None:
            generator = np.random.default_rng([seed, 17])
            labels = (generator.random(count) < self.label_fractions[1]).astype(np.int64)
        scheduler = diffusers_scheduler(self.config.schedule_object(), method, clip=1.0,
                                        prediction=self.config.prediction)  # fmt: skip
        steps = self.config.fast_steps if method == "ddim" else self.config.steps
        self.network.eval()
        values = sample_with_scheduler(
            self.network, scheduler, (count, 1, self.npix, self.npix), seed=seed, steps=steps,
            labels=None if labels is None else torch.as_tensor(labels),
        )  # fmt: skip
        images = self.encoding.decode(values[:, 0].double().numpy())
        return images, labels, time.perf_counter() - started


def train_reference(
    data: JetImageData,
    network: torch.nn.Module,
    *,
    name: str,
    config: ClassicalConfig,
    seed: int,
    train: bool = True,
    conditional: bool = False,
) -> ClassicalReference:
    """Train ``network`` on the training split (``train=False`` keeps the initial weights).

    The initial weights are drawn from ``seed`` either way; ``conditional`` passes the
    quark/gluon labels to the network.
    """
    npix = data.images.shape[1]
    _reset(network, seed)
    training = data.part("train")
    encoding = PixelEncoding.fit(training, kind=config.encoding,
                                 zero_quantile=config.zero_quantile)  # fmt: skip
    labels = data.labels[data.splits.train]
    started = time.perf_counter()
    history = pd.DataFrame(columns=["epoch", "train_loss", "seconds"])
    if train:
        vectors = torch.tensor(encoding.encode(training), dtype=torch.float32)[:, None]
        history = train_ddpm(
            network, config.diffusion(), vectors, iterations=config.iterations,
            batch_size=config.batch_size, learning_rate=config.learning_rate, seed=seed,
            prediction=config.prediction, lr_schedule="onecycle", ema=config.ema,
            labels=torch.as_tensor(labels, dtype=torch.int64) if conditional else None,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    fractions = None
    if conditional:
        quark = float(np.mean(labels == 1))
        fractions = (1.0 - quark, quark)
    return ClassicalReference(name, network, config, encoding, npix, history, seconds, seed,
                              fractions)  # fmt: skip


def _reset(network: torch.nn.Module, seed: int) -> None:
    """Initial weights from ``seed`` alone, with PyTorch's default bounds.

    Every layer's weight and bias are drawn uniformly in ``+-1/sqrt(fan_in)``, with ``fan_in``
    the size of one output slice of the weight (inputs, or inputs times kernel), from a local
    generator: no global random state is touched. Normalisation layers keep their unit scale
    and zero shift, and class embeddings their standard normal draw.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in network.modules():
            weight = getattr(layer, "weight", None)
            if not isinstance(weight, torch.nn.Parameter):
                continue
            if isinstance(layer, (torch.nn.GroupNorm, torch.nn.LayerNorm)):
                torch.nn.init.ones_(weight)
                if layer.bias is not None:
                    torch.nn.init.zeros_(layer.bias)
                continue
            if isinstance(layer, torch.nn.Embedding):
                weight.normal_(generator=generator)
                continue
            bound = 1.0 / math.sqrt(max(weight[0].numel(), 1))
            weight.uniform_(-bound, bound, generator=generator)
            bias = getattr(layer, "bias", None)
            if isinstance(bias, torch.nn.Parameter):
                bias.uniform_(-bound, bound, generator=generator)


def matched_network(npix: int, budget: int, config: ClassicalConfig) -> torch.nn.Module:
    """The largest network with at most ``budget`` parameters (see ``network_for_budget``)."""
    return network_for_budget(npix, budget, steps=config.steps)


def usual_network(npix: int, config: ClassicalConfig) -> UNetDenoiser:
    """The usual-size U-Net of ``config``."""
    return UNetDenoiser(npix, config.unet_shape())


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
