"""Configuration of a quantum-native ensemble diffusion run (QuDDPM / MSQuDDPM).

A config file has the same sections as every training config, ``[data]``, ``[model]`` and
``[train]``, with ``model.family = "ensemble"``; :func:`qdm_qiskit.models.config.load_any_config`
dispatches on that field. The defaults are QuDDPM's 2-qubit cluster task (Zhang et al., PRL 132,
100602): 2 data qubits and 1 ancilla, T = 20 steps of 6 layers (720 circuit parameters),
scrambling strengths ``linspace(1, 4, T)``, the fidelity-kernel MMD loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.config import (
    RunSections,
    _choice,
    _integer,
    _positive,
    sections_from_dict,
)

TASKS = ("cluster", "circle", "jets")


@dataclass(frozen=True)
class EnsembleDataConfig:
    """The target ensemble of quantum states (the standard QuDDPM benchmark tasks).

    Attributes:
        task: ``cluster`` (states near ``|0...0>``: amplitude 1 on ``|0...0>`` and complex
            Gaussian amplitudes of size ``scale`` elsewhere, normalised), ``circle`` (each
            qubit ``cos(phi)|0> + sin(phi)|1>``, ``phi`` uniform: the great circle with
            ``<Y> = 0``) or ``jets`` (amplitude-encoded jet images ``sum_j sqrt(p_j)|j>`` on
            ``log2(npix^2)`` qubits: measuring the state in the computational basis draws pixels
            with the image's intensities).
        scale: spread of the cluster (QuDDPM: 0.08).
        train_size: states the model is trained on (QuDDPM: 100); ``jets``: the first jets of
            the training split.
        test_size: held-out states, and generated samples evaluated against them; ``jets``: the
            first jets of the test split.
        seed: seed of the data (train and test sets are disjoint draws); ``jets``: the split
            seed.
        npix: ``jets`` only: the image side.
        source: ``jets`` only: ``sample`` (the shipped jets), ``pythia`` (the generated-jet
            cache, 20000 jets of dataset seed 0) or EnergyFlow ``.npz`` files.
    """

    task: Literal["cluster", "circle", "jets"] = "cluster"
    scale: float = 0.08
    train_size: int = 100
    test_size: int = 100
    seed: int = 12
    npix: int = 4
    source: str = "sample"

    def __post_init__(self) -> None:
        _choice("data.task", self.task, TASKS)
        _positive("data.scale", self.scale)
        _integer("data.train_size", self.train_size, 2, 100_000)
        _integer("data.test_size", self.test_size, 2, 100_000)
        _integer("data.seed", self.seed, 0, 2**32 - 1)
        _integer("data.npix", self.npix, 2, 64)
        if not isinstance(self.source, str) or not self.source:
            raise ConfigError("data.source must be 'sample', 'pythia' or a path to .npz files")
        if self.task != "jets" and (self.npix, self.source) != (4, "sample"):
            raise ConfigError("data.npix and data.source apply to the jets task only")


@dataclass(frozen=True)
class EnsembleModelConfig:
    """The forward process and the per-step reverse circuits.

    Attributes:
        family: always ``ensemble``.
        num_qubits: data qubits n.
        ancillas: ancilla qubits, measured after every reverse step (at least 1: the
            measurement is what makes the reverse map non-unitary).
        layers: hardware-efficient layers per reverse step (``2 (n + ancillas)`` angles each).
        steps: diffusion steps T; every step has its own parameters.
        forward: ``scramble`` (QuDDPM: random RZ RY RZ + RZZ layers, pure states) or
            ``depolarizing`` (MSQuDDPM: ``rho -> alpha_bar rho + (1 - alpha_bar) I/d``, mixed
            states).
        strength_schedule: scrambling strengths ``h_t`` (QuDDPM's ``diff_hs``): ``linear``,
            ``linspace(strength_start, strength_end, T)`` (cluster tasks), or ``quadratic``,
            ``strength_start + (strength_end - strength_start) (t/T)^2`` (circle task:
            ``1e-3 t^2`` for T = 40).
        strength_start: scrambling strength at the start of the schedule.
        strength_end: scrambling strength of step T.
        schedule: depolarizing schedule, ``linear`` or ``cosine``.
        beta_start: first step's depolarizing probability (linear schedule).
        beta_end: last step's depolarizing probability (linear schedule).
        entangler: ``cz`` or ``cx``.
    """

    family: Literal["ensemble"] = "ensemble"
    num_qubits: int = 2
    ancillas: int = 1
    layers: int = 6
    steps: int = 20
    forward: Literal["scramble", "depolarizing"] = "scramble"
    strength_schedule: Literal["linear", "quadratic"] = "linear"
    strength_start: float = 1.0
    strength_end: float = 4.0
    schedule: Literal["linear", "cosine"] = "cosine"
    beta_start: float = 0.05
    beta_end: float = 0.5
    entangler: Literal["cz", "cx"] = "cz"

    def __post_init__(self) -> None:
        _choice("model.family", self.family, ("ensemble",))
        _integer("model.num_qubits", self.num_qubits, 1, 10)
        _integer("model.ancillas", self.ancillas, 1, 6)
        _integer("model.layers", self.layers, 1, 200)
        _integer("model.steps", self.steps, 1, 1000)
        _choice("model.forward", self.forward, ("scramble", "depolarizing"))
        _choice("model.strength_schedule", self.strength_schedule, ("linear", "quadratic"))
        _positive("model.strength_end", self.strength_end)
        start = self.strength_start
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not start >= 0:
            raise ConfigError(f"model.strength_start must be a number >= 0, got {start!r}")
        _choice("model.schedule", self.schedule, ("linear", "cosine"))
        for name in ("beta_start", "beta_end"):
            value = getattr(self, name)
            _positive(f"model.{name}", value)
            if value >= 1:
                raise ConfigError(f"model.{name} must be below 1, got {value}")
        _choice("model.entangler", self.entangler, ("cz", "cx"))
        if self.num_qubits + self.ancillas > 12:
            raise ConfigError(
                f"num_qubits + ancillas = {self.num_qubits + self.ancillas} exceeds 12; ensemble "
                "losses compare every pair of states and grow quickly"
            )


@dataclass(frozen=True)
class EnsembleTrainConfig:
    """Step-by-step training (QuDDPM trains step T first, then T-1, ..., then 1).

    Attributes:
        loss: ``mmd`` (fidelity-kernel maximum mean discrepancy, QuDDPM's "natural distance"),
            ``outcome_mmd`` (the same with the classical fidelity of the computational-basis
            outcome distributions: phase-blind, for ensembles read out by measurement such as
            the ``jets`` task) or ``wasserstein`` (optimal transport with cost ``1 - fidelity``).
        iterations: Adam steps per diffusion step (QuDDPM: 2001 at lr 5e-4).
        learning_rate: Adam's step size.
        seed: seed of the initial weights, the prior states and the measurement outcomes.
        dtype: ``complex64`` or ``complex128``.
    """

    loss: Literal["mmd", "outcome_mmd", "wasserstein"] = "mmd"
    iterations: int = 400
    learning_rate: float = 0.03
    seed: int = 0
    dtype: Literal["complex64", "complex128"] = "complex64"

    def __post_init__(self) -> None:
        _choice("train.loss", self.loss, ("mmd", "outcome_mmd", "wasserstein"))
        _integer("train.iterations", self.iterations, 1, 1_000_000)
        _positive("train.learning_rate", self.learning_rate)
        _integer("train.seed", self.seed, 0, 2**32 - 1)
        _choice("train.dtype", self.dtype, ("complex64", "complex128"))


@dataclass(frozen=True)
class EnsembleRunConfig(RunSections):
    """A whole ensemble-diffusion run."""

    data: EnsembleDataConfig = field(default_factory=EnsembleDataConfig)
    model: EnsembleModelConfig = field(default_factory=EnsembleModelConfig)
    train: EnsembleTrainConfig = field(default_factory=EnsembleTrainConfig)

    def __post_init__(self) -> None:
        if self.data.task != "cluster" and self.data.scale != EnsembleDataConfig.scale:
            raise ConfigError("data.scale applies to the cluster task only")
        pixels, n = self.data.npix**2, self.model.num_qubits
        if self.data.task == "jets" and pixels != 2**n:
            raise ConfigError(
                f"the jets task amplitude-encodes npix**2 = {pixels} pixels, which needs "
                f"2**num_qubits = {pixels}; got num_qubits = {n}"
            )


#: QuDDPM's published configurations (Francis-Hsu/QuantGenMdl notebooks), with their reported
#: test distances at t = 0 for comparison: (config, metric, QuDDPM's test value).
QUDDPM_CLUSTER_1 = EnsembleRunConfig(
    model=EnsembleModelConfig(num_qubits=1, ancillas=1, layers=4, steps=20),
)
QUDDPM_CLUSTER_2 = EnsembleRunConfig()
QUDDPM_CIRCLE = EnsembleRunConfig(
    data=EnsembleDataConfig(task="circle"),
    model=EnsembleModelConfig(
        num_qubits=1,
        ancillas=2,
        layers=6,
        steps=40,
        strength_schedule="quadratic",
        strength_start=0.0,
        strength_end=1.6,
    ),
    train=EnsembleTrainConfig(loss="wasserstein"),
)


def ensemble_config_from_dict(data: Any, *, context: str = "config") -> EnsembleRunConfig:
    """Validate a mapping of sections into an :class:`EnsembleRunConfig`."""
    sections = {"data": EnsembleDataConfig, "model": EnsembleModelConfig,
                "train": EnsembleTrainConfig}  # fmt: skip
    return EnsembleRunConfig(**sections_from_dict(data, sections, context=context))
