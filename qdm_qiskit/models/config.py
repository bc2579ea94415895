"""Typed, validated configuration of a training run: data, model and trainer sections.

A config file (TOML or JSON) has the sections ``[data]``, ``[model]`` and ``[train]``; unknown
fields are rejected with a suggestion. :data:`QUICK_RUN` is the embedded default of ``qdm run``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from qdm_qiskit.data.cache import MAX_CACHE_SEED, MAX_SHARDS, SHARD_JETS
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.options import (
    did_you_mean,
    options_from_dict,
    options_to_dict,
    read_config_file,
)

Family = Literal["state", "angle"]  # "ensemble": see qdm_qiskit.models.ensemble
FAMILIES = ("state", "angle")
#: Jets generated for ``source = "pythia"`` unless ``data.jets`` says otherwise.
GENERATED_JETS = 20_000


def _integer(name: str, value: object, minimum: int = 1, maximum: int = 10**7) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}")


def _positive(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value > 0)
    ):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class DataConfig:
    """Which jets, and how they become training vectors.

    Attributes:
        source: ``"sample"`` (the 3000 shipped jets), ``"pythia"`` (the project's generator,
            ``jets`` jets of dataset seed ``generator_seed``, made once and cached in the
            workspace's ``data/jets``), or the path (or glob pattern) of EnergyFlow ``.npz`` files.
        npix: jet-image side; ``npix**2`` pixels.
        label: ``all``, ``quark`` or ``gluon`` jets.
        max_jets: use at most this many jets (after the label filter), 0 for all.
        split_seed: seed of the train/validation/test split.
        jets: ``source = "pythia"`` only: how many jets to generate (or reuse from the cache).
        generator_seed: ``source = "pythia"`` only: the dataset seed of the generated jets.
    """

    source: str = "sample"
    npix: int = 4
    label: Literal["all", "quark", "gluon"] = "all"
    max_jets: int = 0
    split_seed: int = 0
    jets: int = GENERATED_JETS
    generator_seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.source, str) or not self.source:
            raise ConfigError("data.source must be 'sample', 'pythia' or a path to .npz files")
        _integer("data.npix", self.npix, 2, 64)
        _choice("data.label", self.label, ("all", "quark", "gluon"))
        _integer("data.max_jets", self.max_jets, 0)
        _integer("data.split_seed", self.split_seed, 0, 2**32 - 1)
        _integer("data.jets", self.jets, 1, SHARD_JETS * MAX_SHARDS)
        _integer("data.generator_seed", self.generator_seed, 0, MAX_CACHE_SEED)
        generated = (self.jets, self.generator_seed) != (GENERATED_JETS, 0)
        if self.source != "pythia" and generated:
            raise ConfigError(
                "data.jets and data.generator_seed apply to source = 'pythia' only "
                f"(source is {self.source!r})"
            )


@dataclass(frozen=True)
class ModelConfig:
    """A quantum diffusion model.

    Attributes:
        family: ``state`` (direct state denoiser, Cacioppo et al.: amplitude-encoded images,
            Gaussian noise on amplitudes, infidelity loss) or ``angle`` (angle-encoded patch
            denoiser, Kolle/Baidachna style: ``<Z_i>`` readout, MSE loss).
        num_qubits: data qubits; ``state`` needs ``2**num_qubits == npix**2``; ``angle`` reads
            the image in patches of ``num_qubits`` pixels (at most ``npix**2``; the last patch is
            zero-padded when ``num_qubits`` does not divide ``npix**2``).
        layers: ansatz layers per denoising step.
        steps: diffusion steps T.
        schedule: ``linear`` or ``cosine`` noise schedule.
        beta_start: first step's noise probability (linear schedule).
        beta_end: last step's noise probability (linear schedule).
        entangler: ``cz`` or ``cx`` in the hardware-efficient ansatz.
        complex_noise: complex Gaussian noise on amplitudes (``state``).
        prediction: ``angle``: what the network predicts, ``x0``, ``noise`` (``eps``) or ``v``
            (``sqrt(abar) eps - sqrt(1 - abar) x0``, Salimans & Ho 2022). An ``x0`` network
            trained with MSE predicts ``E[x0 | x_t]``, which a weak network shrinks to the mean
            image; with ``noise`` or ``v`` the randomness of the reverse steps carries through.
        context: ``angle``: what each patch's circuit reads. ``patch``: its own ``num_qubits``
            pixels (no information flows between patches); ``image``: the whole image,
            re-uploaded chunk by chunk with that patch last (:func:`reuploading_denoiser`,
            ``patches`` times the circuit depth and weights).
        standardise: ``angle``: diffuse per-pixel standardised values (mean and spread of the
            training split), so that every pixel spans the noise's range and the prior the
            sampler starts from matches the data's scale; decoded samples drop pixel fractions
            below the training split's 1% quantile of lit pixels.
        noise_scale: ``state``: ``image`` draws noise of expected norm 1, the norm of the
            encoded image, so that ``alpha_bar`` is the signal's share of the state; ``amplitude``
            gives every amplitude unit variance (norm ``sqrt(2^n)``: at ``alpha_bar = 0.95`` a
            64-pixel state is already 77% noise), the behaviour before issue 16.
        init: ``state``: ``random`` weights (``0.1 N(0, 1)``) or ``identity``: zero weights, an
            even number of CZ layers (``CZ^2 = 1``) and a ``conjugate`` time embedding
            (``RZ(tau) PQC RZ(-tau)``), so that the untrained reverse step returns its input
            unchanged, the bar a denoiser must beat, and training can only start from there
            (identity-block initialisation, Grant et al. 2019).
    """

    family: Family = "state"
    num_qubits: int = 4
    layers: int = 4
    steps: int = 4
    schedule: Literal["linear", "cosine"] = "linear"
    beta_start: float = 0.05
    beta_end: float = 0.5
    entangler: Literal["cz", "cx"] = "cz"
    complex_noise: bool = True
    prediction: Literal["x0", "noise", "v"] = "x0"
    context: Literal["patch", "image"] = "patch"
    standardise: bool = False
    noise_scale: Literal["image", "amplitude"] = "image"
    init: Literal["random", "identity"] = "random"

    def __post_init__(self) -> None:
        _choice("model.family", self.family, FAMILIES)
        _integer("model.num_qubits", self.num_qubits, 1, 16)
        _integer("model.layers", self.layers, 1, 200)
        _integer("model.steps", self.steps, 1, 1000)
        _choice("model.schedule", self.schedule, ("linear", "cosine"))
        for name in ("beta_start", "beta_end"):
            value = getattr(self, name)
            _positive(f"model.{name}", value)
            if value >= 1:
                raise ConfigError(f"model.{name} must be below 1, got {value}")
        _choice("model.entangler", self.entangler, ("cz", "cx"))
        if not isinstance(self.complex_noise, bool):
            raise ConfigError("model.complex_noise must be true or false")
        _choice("model.prediction", self.prediction, ("x0", "noise", "v"))
        _choice("model.context", self.context, ("patch", "image"))
        if not isinstance(self.standardise, bool):
            raise ConfigError("model.standardise must be true or false")
        if self.family != "angle":
            for name, default in (("prediction", "x0"), ("context", "patch"),
                                  ("standardise", False)):  # fmt: skip
                if getattr(self, name) != default:
                    raise ConfigError(f"model.{name} applies to the angle family only")
        _choice("model.noise_scale", self.noise_scale, ("image", "amplitude"))
        _choice("model.init", self.init, ("random", "identity"))
        if self.init == "identity":
            if self.family != "state":
                raise ConfigError("model.init = 'identity' applies to the state family only")
            if self.layers % 2 or self.entangler != "cz":
                raise ConfigError(
                    "model.init = 'identity' needs an even number of layers and entangler = "
                    f"'cz' (CZ layers cancel in pairs); got layers = {self.layers}, "
                    f"entangler = {self.entangler!r}"
                )


@dataclass(frozen=True)
class TrainConfig:
    """The optimiser loop.

    Attributes:
        epochs: passes over the training split.
        batch_size: samples per step.
        learning_rate: Adam's step size.
        lr_schedule: ``constant`` or ``cosine`` (decay to 5% over the epochs).
        patience: stop after this many epochs without a better validation loss (0: never).
        seed: seed of weights, noise draws and batch order.
        dtype: ``complex64`` (fast) or ``complex128``.
    """

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 0.05
    lr_schedule: Literal["constant", "cosine"] = "cosine"
    patience: int = 0
    seed: int = 0
    dtype: Literal["complex64", "complex128"] = "complex64"

    def __post_init__(self) -> None:
        _integer("train.epochs", self.epochs, 1, 100_000)
        _integer("train.batch_size", self.batch_size, 1, 1_000_000)
        _positive("train.learning_rate", self.learning_rate)
        _choice("train.lr_schedule", self.lr_schedule, ("constant", "cosine"))
        _integer("train.patience", self.patience, 0, 100_000)
        _integer("train.seed", self.seed, 0, 2**32 - 1)
        _choice("train.dtype", self.dtype, ("complex64", "complex128"))


class RunSections:
    """What every run config (``data``, ``model``, ``train`` sections) provides."""

    train: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready sections (stored in checkpoints and results)."""
        return {f.name: options_to_dict(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    def with_seed(self, seed: int) -> Any:
        """The same run with another training seed."""
        return replace(self, train=replace(self.train, seed=seed))  # type: ignore[type-var]


@dataclass(frozen=True)
class RunConfig(RunSections):
    """A whole training run."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        pixels = self.data.npix**2
        n = self.model.num_qubits
        if self.model.family == "state" and pixels != 2**n:
            raise ConfigError(
                f"the state model amplitude-encodes npix**2 = {pixels} pixels, which needs "
                f"2**num_qubits = {pixels}; got num_qubits = {n} (latent dimension {2**n})"
            )
        if self.model.family == "angle" and n > pixels:
            raise ConfigError(
                f"the angle model reads patches of num_qubits = {n} pixels, more than the "
                f"npix**2 = {pixels} pixels of the image"
            )


#: The sections of a :class:`RunConfig` and their option classes.
RUN_SECTIONS: dict[str, type] = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def run_config_from_dict(data: Any, *, context: str = "config") -> RunConfig:
    """Validate a mapping of sections into a :class:`RunConfig` (unknown sections rejected)."""
    return RunConfig(**sections_from_dict(data, RUN_SECTIONS, context=context))


def sections_from_dict(
    data: Any, sections: dict[str, type], *, context: str = "config"
) -> dict[str, Any]:
    """Validate ``[data]``, ``[model]``, ``[train]``-style sections into their option classes."""
    if not isinstance(data, dict):
        raise ConfigError(f"{context}: expected a table with [{'], ['.join(sections)}]")
    unknown = sorted(set(data) - set(sections))
    if unknown:
        hint = did_you_mean(unknown[0], sections)
        raise ConfigError(
            f"{context}: unknown section {unknown[0]!r}{hint}; known: {', '.join(sections)}"
        )
    return {
        name: options_from_dict(cls, data.get(name, {}), context=f"{context} [{name}]")
        for name, cls in sections.items()
    }


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a TOML/JSON run config."""
    return run_config_from_dict(
        read_config_file(path, kind="config", described="a training config"), context=str(path)
    )


#: ``qdm run``'s embedded default: 4x4 jet images, the angle-encoded denoiser on 4 qubits with 10
#: diffusion steps of a cosine schedule (which reaches noise), ``v``-prediction on per-pixel
#: standardised pixels (samples keep the jets' spread instead of collapsing to the mean image);
#: trains in seconds and samples on a noisy fake device in well under a minute.
QUICK_RUN = RunConfig(
    data=DataConfig(npix=4, max_jets=1200),
    model=ModelConfig(
        family="angle",
        num_qubits=4,
        layers=4,
        steps=10,
        schedule="cosine",
        prediction="v",
        standardise=True,
    ),
    train=TrainConfig(epochs=10, batch_size=32, learning_rate=0.03),
)


def config_from_dict(data: Any, *, context: str = "config") -> Any:
    """A :class:`RunConfig`, or an ensemble config when ``model.family = "ensemble"``."""
    model = data.get("model") if isinstance(data, dict) else None
    if isinstance(model, dict) and model.get("family") == "ensemble":
        from qdm_qiskit.models.ensemble.config import ensemble_config_from_dict

        return ensemble_config_from_dict(data, context=context)
    return run_config_from_dict(data, context=context)


def load_any_config(path: str | Path) -> Any:
    """Read and validate a training config of any family (TOML/JSON)."""
    return config_from_dict(
        read_config_file(path, kind="config", described="a training config"), context=str(path)
    )
