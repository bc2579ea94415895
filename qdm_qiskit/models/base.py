"""What every quantum diffusion model provides, and the pieces they share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from qiskit import QuantumCircuit

from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.engine import CompiledCircuit
from qdm_qiskit.models.config import RunConfig

#: Runs a circuit task remotely: (name, circuit, parameter values (N, P), shots) -> per-row
#: outcome probabilities or expectation values. Supplied by :mod:`qdm_qiskit.models.sampling`.
Executor = Callable[..., np.ndarray]


@dataclass(frozen=True)
class ParameterCount:
    """Trainable parameters split by where they live."""

    quantum: int
    classical: int

    @property
    def total(self) -> int:
        """Quantum plus classical."""
        return self.quantum + self.classical


def torch_dtype(name: str) -> torch.dtype:
    """``complex64`` or ``complex128`` by name."""
    return torch.complex128 if name == "complex128" else torch.complex64


def noise_schedule(config: RunConfig) -> NoiseSchedule:
    """The model's forward-process schedule."""
    model = config.model
    return NoiseSchedule(
        kind=model.schedule, steps=model.steps, start=model.beta_start, end=model.beta_end
    )


def time_angles(steps: int) -> np.ndarray:
    """Timestep-embedding angles ``tau_t = pi t / T`` for ``t = 0..T`` (RZ on every qubit)."""
    return np.pi * np.arange(steps + 1) / steps


def sampling_rows(
    circuit: QuantumCircuit, start: np.ndarray, value: Callable[[str], np.ndarray | float]
) -> np.ndarray:
    """Parameter rows of a sampling circuit, in ``circuit.parameters`` order.

    ``amp_*`` parameters take the columns of ``start`` (``amplitude_encoding_values(...)
    .parameters``, one row per sample, in the circuit's sorted ``amp_`` order); every other
    parameter takes ``value(name)`` (a scalar or one value per row).
    """
    amplitude_names = [p.name for p in circuit.parameters if p.name.startswith("amp_")]
    rows = np.empty((len(start), circuit.num_parameters))
    for column, parameter in enumerate(circuit.parameters):
        name = parameter.name
        if name.startswith("amp_"):
            rows[:, column] = start[:, amplitude_names.index(name)]
        else:
            rows[:, column] = value(name)
    return rows


class QuantumDiffusionModel(torch.nn.Module, ABC):
    """A trained reverse process over jet images.

    Subclasses hold a :class:`CompiledCircuit` (the training engine) and a ``weights``
    parameter; they encode images into training tensors, define the loss, generate samples with
    the engine or with an :data:`Executor` (Aer, fake backends, IBM hardware via the job
    manager), and decode samples back to images.
    """

    family: str
    alpha_bars: torch.Tensor
    taus: torch.Tensor

    def __init__(
        self,
        config: RunConfig,
        circuit: QuantumCircuit,
        *,
        device: torch.device | str | None = None,
    ) -> None:
        """Compile ``circuit`` (one denoising step) and allocate its weights and schedule."""
        super().__init__()
        self.config = config
        self.schedule = noise_schedule(config)
        self.num_qubits = config.model.num_qubits
        self.circuit = circuit
        self.engine = CompiledCircuit(circuit, device=device, dtype=torch_dtype(config.train.dtype))
        self.weights = torch.nn.Parameter(self._real(np.zeros(self.engine.num_weights)))
        self.register_buffer("alpha_bars", self._real(self.schedule.alpha_bars), persistent=False)
        self.register_buffer("taus", self._real(time_angles(config.model.steps)), persistent=False)

    def _real(self, values: np.ndarray) -> torch.Tensor:
        """A real tensor in the engine's precision, on its device."""
        return torch.tensor(values, dtype=self.engine.real_dtype, device=self.engine.device)

    @property
    def device(self) -> torch.device:
        """Where the weights and the engine live."""
        return self.weights.device

    def fit(self, train_images: np.ndarray) -> None:
        """Fit what the representation learns from the training split (default: nothing).

        Called once before training, on the training split only; what it fits is saved with the
        weights, so that a loaded checkpoint encodes and decodes as it was trained.
        """

    @abstractmethod
    def encode(self, images: np.ndarray) -> torch.Tensor:
        """Images ``(N, npix, npix)`` -> training tensor on the model's device."""

    @abstractmethod
    def loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Scalar training loss of one batch; noise and timesteps drawn from ``generator``."""

    @abstractmethod
    def sample(self, count: int, *, seed: int, executor: Executor | None = None) -> np.ndarray:
        """``count`` generated images ``(count, npix, npix)``, each summing to 1.

        With ``executor=None`` the engine runs the reverse process exactly (state vectors);
        otherwise the circuits go to the executor (finite shots, device noise).
        """

    @abstractmethod
    def parameter_count(self) -> ParameterCount:
        """Trainable parameters, quantum and classical."""

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Draw initial weights (overridden per family)."""
        with torch.no_grad():
            self.weights.copy_(0.1 * torch.randn(self.weights.shape, generator=generator,
                                                 dtype=self.weights.dtype))  # fmt: skip
