"""Direct state denoiser (Cacioppo et al., arXiv 2311.15444): a PQC maps |x_t> to |x_{t-1}>.

Representation: a jet image ``p`` (pixels summing to 1) is the state ``sum_j sqrt(p_j) |j>`` on
``n = log2(npix^2)`` qubits, so measuring the generated state in the computational basis samples
pixels with the image's intensities: a hardware sample *is* a jet image estimate.

Forward process: ``x_t = normalise(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps)`` with (complex)
Gaussian ``eps`` scaled to the image's norm (``E|eps|^2 = 1``, ``model.noise_scale = "image"``),
so that ``abar_t`` is the signal's share of the state; ``x_{t-1}`` uses the same ``eps``, so a
training pair lies on one noising path.
Reverse step: one shared PQC (hardware-efficient, ``layers`` deep) preceded by ``RZ(tau_t)`` on
every qubit, the timestep embedding. Loss: infidelity ``1 - |<x_{t-1}|P(theta, tau_t)|x_t>|^2``.
Sampling: a normalised complex Gaussian state, then the PQC for ``t = T, ..., 1``.
With ``model.init = "identity"`` the step is ``RZ(tau_t) PQC RZ(-tau_t)`` with zero weights: the
untrained model returns its input, the bar a denoiser must beat (``identity_loss``,
``noised_images``; ``benchmarks/bench_state.py`` measures both).

A limitation to know (and the reason the paper reports reconstructions): the reverse process is
one fixed unitary, and a unitary maps the Haar-random ensemble of normalised complex Gaussian
states onto itself. Generation from pure noise therefore cannot beat an untrained model; what
the model learns is to *reconstruct* noised jets (:meth:`reconstruct`). Non-unitary reverse
steps (ancillas measured and reset, QuDDPM) are what make quantum-state generation possible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from qdm_qiskit.circuits import amplitude_encoding_values, denoising_circuit
from qdm_qiskit.engine import fidelity, probabilities
from qdm_qiskit.models.base import (
    Executor,
    ParameterCount,
    QuantumDiffusionModel,
    sampling_rows,
    time_angles,
)
from qdm_qiskit.models.config import ModelConfig, RunConfig


class StateDenoiser(QuantumDiffusionModel):
    """See the module docstring."""

    family = "state"

    def __init__(self, config: RunConfig, *, device: torch.device | str | None = None) -> None:
        model = config.model
        circuit = denoising_circuit(**_step_options(model))
        super().__init__(config, circuit, device=device)
        alpha_bars = torch.tensor(self.schedule.alpha_bars, dtype=self.engine.real_dtype)
        self.register_buffer("alpha_bars", alpha_bars.to(self.engine.device), persistent=False)
        taus = torch.tensor(time_angles(model.steps), dtype=self.engine.real_dtype)
        self.register_buffer("taus", taus.to(self.engine.device), persistent=False)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """``0.1 N(0, 1)`` angles, or zeros (the identity step) with ``model.init = "identity"``."""
        if self.config.model.init == "identity":
            with torch.no_grad():
                self.weights.zero_()
            return
        super().reset_parameters(generator)

    def parameter_count(self) -> ParameterCount:
        """All parameters are circuit angles."""
        return ParameterCount(quantum=self.engine.num_weights, classical=0)

    def encode(self, images: np.ndarray) -> torch.Tensor:
        """``sqrt`` of the pixel intensities: unit vectors ``(N, 2^n)``."""
        flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
        amplitudes = np.sqrt(np.clip(flat, 0.0, None))
        amplitudes /= np.linalg.norm(amplitudes, axis=1, keepdims=True)
        return torch.tensor(amplitudes, dtype=self.engine.dtype, device=self.device)

    def _noise(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """Gaussian noise per amplitude, of unit expected norm per row unless ``amplitude``."""
        scale = 1.0
        if self.config.model.noise_scale == "image":
            scale = 1.0 / np.sqrt(shape[-1])
        real = torch.randn(shape, generator=generator, dtype=self.engine.real_dtype) * scale
        if not self.config.model.complex_noise:
            return real.to(self.device).to(self.engine.dtype)
        imag = torch.randn(shape, generator=generator, dtype=self.engine.real_dtype) * scale
        return (torch.complex(real, imag) / np.sqrt(2.0)).to(self.device)

    def noised(self, x0: torch.Tensor, steps: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Normalised ``sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` per row."""
        alpha = self.alpha_bars[steps][:, None]
        mixed = alpha.sqrt() * x0 + (1 - alpha).sqrt() * noise
        return mixed / torch.linalg.vector_norm(mixed, dim=1, keepdim=True)

    def denoise_step(self, states: torch.Tensor, step: int | torch.Tensor) -> torch.Tensor:
        """Apply the PQC of step ``t`` (a scalar or one per row) to a batch of states."""
        batch = states.shape[0]
        steps = torch.as_tensor(step, device=self.device).expand(batch)
        return self.engine(self.weights, self.taus[steps][:, None], initial_state=states)

    def _training_pair(
        self, batch: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(|x_t>, |x_{t-1}>, t)`` at random steps, both on one noising path."""
        steps = torch.randint(
            1, self.config.model.steps + 1, (batch.shape[0],), generator=generator
        )
        steps = steps.to(self.device)
        noise = self._noise(tuple(batch.shape), generator)
        return self.noised(batch, steps, noise), self.noised(batch, steps - 1, noise), steps

    def loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Mean infidelity of the predicted ``|x_{t-1}>`` at random steps."""
        noisy, target, steps = self._training_pair(batch, generator)
        return (1.0 - fidelity(self.denoise_step(noisy, steps), target)).mean()

    def identity_loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """:meth:`loss` of a model that returns ``|x_t>`` unchanged: the bar a denoiser must beat.

        Draws the same steps and noise as :meth:`loss` from an equally seeded generator.
        """
        noisy, target, _ = self._training_pair(batch, generator)
        return (1.0 - fidelity(noisy, target)).mean()

    def prior(self, count: int, seed: int) -> torch.Tensor:
        """Starting states of the reverse process: normalised complex Gaussian vectors."""
        generator = torch.Generator().manual_seed(seed)
        noise = self._noise((count, 2**self.num_qubits), generator)
        if not self.config.model.complex_noise:
            noise = noise.to(self.engine.dtype)
        return noise / torch.linalg.vector_norm(noise, dim=1, keepdim=True)

    @torch.no_grad()
    def sample(self, count: int, *, seed: int, executor: Executor | None = None) -> np.ndarray:
        """Images generated from pure noise (see the module docstring for why they stay random)."""
        return self._reverse(self.prior(count, seed), executor)

    @torch.no_grad()
    def reconstruct(
        self, images: np.ndarray, *, seed: int, executor: Executor | None = None
    ) -> np.ndarray:
        """Noise ``images`` to step ``T`` (the forward process) and run the reverse process."""
        return self._reverse(self._noised_to_end(images, seed), executor)

    @torch.no_grad()
    def noised_images(self, images: np.ndarray, *, seed: int) -> np.ndarray:
        """The images :meth:`reconstruct` starts from (same seed, same noise), unreconstructed.

        Returning these is what a denoiser that does nothing achieves.
        """
        pixels = probabilities(self._noised_to_end(images, seed)).double().cpu().numpy()
        return pixels.reshape(np.shape(images))

    def _noised_to_end(self, images: np.ndarray, seed: int) -> torch.Tensor:
        x0 = self.encode(images)
        generator = torch.Generator().manual_seed(seed)
        steps = torch.full((x0.shape[0],), self.config.model.steps, device=self.device)
        return self.noised(x0, steps, self._noise(tuple(x0.shape), generator))

    @torch.no_grad()
    def _reverse(self, states: torch.Tensor, executor: Executor | None) -> np.ndarray:
        count = states.shape[0]
        if executor is None:
            for step in range(self.config.model.steps, 0, -1):
                states = self.denoise_step(states, step)
            pixels = probabilities(states).double().cpu().numpy()
        else:
            circuit, values = self.sampling_circuit(states)
            pixels = executor(name="reverse", circuit=circuit, values=values)
        npix = self.config.data.npix
        pixels = pixels / pixels.sum(axis=1, keepdims=True)
        return pixels.reshape(count, npix, npix)

    def sampling_circuit(self, states: torch.Tensor) -> tuple:
        """The whole reverse process as one measured circuit and its parameter rows.

        Amplitude-encodes the starting states, then chains the ``T`` denoising steps, so one
        binding per generated image runs on any target.
        """
        model = self.config.model
        circuit = denoising_circuit(
            **_step_options(model),
            steps=model.steps,
            encoding="amplitude_complex",
            measure_data=True,
        )
        start = amplitude_encoding_values(
            states.detach().cpu().numpy().astype(np.complex128), complex_amplitudes=True
        ).parameters
        taus = time_angles(model.steps)
        named: dict[str, np.ndarray | float] = dict(
            zip(self.engine.weight_names, self.weights.detach().double().cpu().numpy(), strict=True)
        )
        for k in range(model.steps):
            named[f"tau[{k}]"] = taus[k + 1]  # RZ(tau[t-1]) precedes step t
        return circuit, sampling_rows(circuit, start, named.__getitem__)


def _step_options(model: ModelConfig) -> dict[str, Any]:
    """The denoising step's builder options, shared by the engine and the sampling circuit."""
    return {
        "num_data_qubits": model.num_qubits,
        "layers": model.layers,
        "conditioning": "time_embedding",
        "embedding": "conjugate" if model.init == "identity" else "phase",
        "entangler": model.entangler,
    }
