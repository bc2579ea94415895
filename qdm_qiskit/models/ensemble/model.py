"""The ensemble diffusion model: one PQC per reverse step, followed by ancilla measurement.

Reverse step ``t`` (QuDDPM's ``backCircuit`` + ``randomMeasure``): the data state joins
``ancillas`` qubits in ``|0>``, a hardware-efficient PQC with its own parameters acts on all of
them, and the ancillas are measured; the post-measurement data state (normalised) is the step's
output. The measurement is what lets the reverse process map Haar noise onto a structured
ensemble, which no unitary can do. The engine runs this as a *trajectory*: one sampled outcome
per state (:func:`qdm_qiskit.engine.measure_qubits`); on a device the same circuit measures the
ancillas mid-circuit and resets them (:meth:`EnsembleDiffusion.sampling_circuit`).

With the depolarizing forward process (MSQuDDPM) states are density matrices and the engine runs
in density-matrix mode; the prior is the maximally mixed state.
"""

from __future__ import annotations

import re

import numpy as np
import torch
from qiskit import QuantumCircuit

from qdm_qiskit.circuits import amplitude_encoding_values, denoising_circuit
from qdm_qiskit.engine import CompiledCircuit, density_matrix, measure_qubits
from qdm_qiskit.models.base import ParameterCount, sampling_rows, torch_dtype
from qdm_qiskit.models.ensemble.config import EnsembleRunConfig
from qdm_qiskit.models.ensemble.tasks import haar_states

_WEIGHT_INDEX = re.compile(r"\[(\d+)\]$")


class EnsembleDiffusion(torch.nn.Module):
    """See the module docstring. ``weights[t - 1]`` are the parameters of reverse step ``t``."""

    family = "ensemble"

    def __init__(
        self, config: EnsembleRunConfig, *, device: torch.device | str | None = None
    ) -> None:
        super().__init__()
        model = config.model
        self.config = config
        self.num_qubits = model.num_qubits
        self.num_ancillas = model.ancillas
        self.mixed = model.forward == "depolarizing"
        self.step_circuit = denoising_circuit(
            num_data_qubits=model.num_qubits,
            num_ancillas=model.ancillas,
            layers=model.layers,
            entangler=model.entangler,
            measure_ancillas=False,
        )
        self.engine = CompiledCircuit(
            self.step_circuit,
            density=self.mixed,
            device=device,
            dtype=torch_dtype(config.train.dtype),
        )
        weights = torch.zeros(model.steps, self.engine.num_weights, dtype=self.engine.real_dtype)
        self.weights = torch.nn.Parameter(weights.to(self.engine.device))

    @property
    def device(self) -> torch.device:
        """Where the weights and the engine live."""
        return self.weights.device

    def parameter_count(self) -> ParameterCount:
        """Every parameter is a circuit angle: ``T * 2 (n + ancillas) * layers``."""
        return ParameterCount(quantum=self.weights.numel(), classical=0)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Angles drawn from ``N(0, 1)``, independently for every step."""
        with torch.no_grad():
            values = torch.randn(self.weights.shape, generator=generator, dtype=torch.float64)
            self.weights.copy_(values.to(self.weights.dtype))

    # ---- states --------------------------------------------------------------------------
    def as_states(self, values: np.ndarray | torch.Tensor) -> torch.Tensor:
        """An ensemble in the engine's dtype on its device (density matrices when mixed)."""
        states = torch.as_tensor(values).to(self.engine.dtype).to(self.device)
        return density_matrix(states) if self.mixed else states

    def prior(self, count: int, *, seed: int) -> torch.Tensor:
        """Reverse-process inputs: Haar-random states, or ``I/d`` for the depolarizing model."""
        if self.mixed:
            dim = 2**self.num_qubits
            eye = torch.eye(dim, dtype=self.engine.dtype, device=self.device) / dim
            return eye.expand(count, dim, dim).clone()
        return self.as_states(haar_states(num_qubits=self.num_qubits, size=count, seed=seed))

    def _embed(self, states: torch.Tensor) -> torch.Tensor:
        """Data states with the ancillas in ``|0>`` (ancillas are the high qubits)."""
        dim, total = 2**self.num_qubits, 2 ** (self.num_qubits + self.num_ancillas)
        if states.dim() == 2:
            full = states.new_zeros(states.shape[0], total)
            full[:, :dim] = states
            return full
        full = states.new_zeros(states.shape[0], total, total)
        full[:, :dim, :dim] = states
        return full

    def step(
        self,
        states: torch.Tensor,
        t: int,
        generator: torch.Generator,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Reverse step ``t`` (``T .. 1``); ``weights`` stands in for ``weights[t - 1]``."""
        theta = self.weights[t - 1] if weights is None else weights
        full = self.engine(theta, initial_state=self._embed(states))
        ancillas = range(self.num_qubits, self.num_qubits + self.num_ancillas)
        _, post = measure_qubits(full, ancillas, self.num_qubits + self.num_ancillas, generator)
        return post

    @torch.no_grad()
    def generate(
        self, prior: torch.Tensor, generator: torch.Generator, *, stop: int = 0
    ) -> list[torch.Tensor]:
        """Run steps ``T .. stop + 1`` from ``prior``: the ensembles at ``t = T, ..., stop``."""
        trajectory = [prior]
        for t in range(self.config.model.steps, stop, -1):
            trajectory.append(self.step(trajectory[-1], t, generator))
        return trajectory

    # ---- devices -------------------------------------------------------------------------
    def sampling_circuit(self, prior: np.ndarray) -> tuple[QuantumCircuit, np.ndarray]:
        """The whole reverse process as one circuit with mid-circuit measurement, and its rows.

        Each row amplitude-encodes one prior state (pure, ``(count, 2^n)``), then runs the ``T``
        steps, measuring and resetting the ancillas after each, and measures the data into
        ``meas``. Averaged over rows, the outcome distribution is the diagonal of the generated
        ensemble's mean state.
        """
        model = self.config.model
        circuit = denoising_circuit(
            num_data_qubits=model.num_qubits,
            num_ancillas=model.ancillas,
            layers=model.layers,
            steps=model.steps,
            encoding="amplitude_complex",
            entangler=model.entangler,
            measure_data=True,
        )
        start = amplitude_encoding_values(
            np.asarray(prior, dtype=np.complex128), complex_amplitudes=True
        ).parameters
        column = {_weight_index(name): k for k, name in enumerate(self.engine.weight_names)}
        weights = self.weights.detach().double().cpu().numpy()

        def weight(name: str) -> float:  # theta_t{t}[k]
            t = int(name[len("theta_t") : name.index("[")])
            return float(weights[t - 1, column[_weight_index(name)]])

        return circuit, sampling_rows(circuit, start, weight)


def _weight_index(name: str) -> int:
    """``k`` of a parameter named ``theta_t<t>[k]``."""
    match = _WEIGHT_INDEX.search(name)
    if match is None:  # pragma: no cover - the builder names every weight this way
        raise ValueError(f"unexpected weight name {name!r}")
    return int(match.group(1))
