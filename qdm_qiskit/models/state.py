"""Direct state denoiser (Cacioppo et al., arXiv 2311.15444): a PQC maps |x_t> to |x_{t-1}>.

Representation: a jet image ``p`` (pixels summing to 1) is the state ``sum_j sqrt(p_j) |j>`` on
``n = log2(npix^2)`` qubits, so measuring the generated state in the computational basis samples
pixels with the image's intensities: a hardware sample *is* a jet image estimate.

Forward process: ``x_t = normalise(sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps)`` with (complex)
Gaussian ``eps``; ``x_{t-1}`` uses the same ``eps``, so a training pair lies on one noising path.
Reverse step: one shared PQC (hardware-efficient, ``layers`` deep) preceded by ``RZ(tau_t)`` on
every qubit, the timestep embedding. Loss: infidelity ``1 - |<x_{t-1}|P(theta, tau_t)|x_t>|^2``.
Sampling: a normalised complex Gaussian state, then the PQC for ``t = T, ..., 1``.

A limitation to know (and the reason the paper reports reconstructions): the reverse process is
one fixed unitary, and a unitary maps the Haar-random ensemble of normalised complex Gaussian
states onto itself. Generation from pure noise therefore cannot beat an untrained model; what
the model learns is to *reconstruct* noised jets (:meth:`reconstruct`). Non-unitary reverse
steps (ancillas measured and reset, QuDDPM) are what make quantum-state generation possible.
"""

from __future__ import annotations

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
from qdm_qiskit.models.config import RunConfig


class StateDenoiser(QuantumDiffusionModel):
    """See the module docstring."""

    family = "state"

    def __init__(self, config: RunConfig, *, device: torch.device | str | None = None) -> None:
        model = config.model
        circuit = denoising_circuit(
            num_data_qubits=model.num_qubits,
            layers=model.layers,
            conditioning="time_embedding",
            entangler=model.entangler,
        )
        super().__init__(config, circuit, device=device)
        alpha_bars = torch.tensor(self.schedule.alpha_bars, dtype=self.engine.real_dtype)
        self.register_buffer("alpha_bars", alpha_bars.to(self.engine.device), persistent=False)
        taus = torch.tensor(time_angles(model.steps), dtype=self.engine.real_dtype)
        self.register_buffer("taus", taus.to(self.engine.device), persistent=False)

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
        real = torch.randn(shape, generator=generator, dtype=self.engine.real_dtype)
        if not self.config.model.complex_noise:
            return real.to(self.device).to(self.engine.dtype)
        imag = torch.randn(shape, generator=generator, dtype=self.engine.real_dtype)
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

    def loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Mean infidelity of the predicted ``|x_{t-1}>`` at random steps."""
        size = batch.shape[0]
        steps = torch.randint(1, self.config.model.steps + 1, (size,), generator=generator)
        steps = steps.to(self.device)
        noise = self._noise(tuple(batch.shape), generator)
        target = self.noised(batch, steps - 1, noise)
        predicted = self.denoise_step(self.noised(batch, steps, noise), steps)
        return (1.0 - fidelity(predicted, target)).mean()

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
        x0 = self.encode(images)
        generator = torch.Generator().manual_seed(seed)
        steps = torch.full((x0.shape[0],), self.config.model.steps, device=self.device)
        return self._reverse(
            self.noised(x0, steps, self._noise(tuple(x0.shape), generator)), executor
        )

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
            num_data_qubits=model.num_qubits,
            layers=model.layers,
            steps=model.steps,
            conditioning="time_embedding",
            encoding="amplitude_complex",
            entangler=model.entangler,
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
