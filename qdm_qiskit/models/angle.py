"""Angle-encoded jet-image denoiser (Kolle et al.; Baidachna et al.).

A Gaussian DDPM whose denoising network is a PQC applied to image patches.

Representation: pixel values ``u = 2 sqrt(p) - 1`` in ``[-1, 1]``, optionally standardised per
pixel (``model.standardise``). Forward process: the DDPM's ``x_t = sqrt(abar_t) x_0 +
sqrt(1 - abar_t) eps``. The image is cut into patches of ``num_qubits`` pixels (the last one
zero-padded); for each patch a circuit angle-encodes (``RY(2 arctan x_i)``) either that patch
(``context = "patch"``: a hardware-efficient PQC after ``RZ(tau_t)`` on every qubit) or the whole
image, re-uploaded patch by patch with its own patch last (``context = "image"``:
:func:`~qdm_qiskit.circuits.reupload.reuploading_denoiser`, so information flows between
patches). ``<Z_i>`` goes through a per-pixel affine head (``a_j <Z> + b_j``: ``2 npix^2``
classical parameters, which give the patch-shared PQC the pixel position) to predict ``x_0``,
``eps`` (``"noise"``) or ``v``. Loss: MSE. Sampling: DDPM ancestral steps with the implied
``x_0`` clipped to the representation's range.
"""

from __future__ import annotations

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from qdm_qiskit.circuits import denoising_circuit
from qdm_qiskit.circuits.reupload import reuploading_denoiser
from qdm_qiskit.engine import expectation_z
from qdm_qiskit.models.base import (
    Executor,
    ParameterCount,
    QuantumDiffusionModel,
)
from qdm_qiskit.models.config import RunConfig


def pixel_values(images: np.ndarray) -> np.ndarray:
    """The diffusion representation of normalised images: ``2 sqrt(p) - 1`` per pixel.

    ``(N, npix, npix)`` -> ``(N, npix^2)`` in ``[-1, 1]``; shared by the angle family and the
    classical reference, so that both diffuse the same vectors.
    """
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    return 2.0 * np.sqrt(np.clip(flat, 0.0, 1.0)) - 1.0


def images_from_pixel_values(values: np.ndarray, npix: int) -> np.ndarray:
    """Inverse of :func:`pixel_values` (clipped to ``[-1, 1]``), renormalised to unit sum.

    A vector with no intensity left becomes the flat image; NaN rows stay NaN, so that a
    diverged sampler is reported rather than hidden.
    """
    pixels = ((np.clip(values, -1.0, 1.0) + 1.0) / 2.0) ** 2
    total = pixels.sum(axis=1, keepdims=True)
    pixels = np.where(total > 0, pixels / np.where(total > 0, total, 1), 1.0 / pixels.shape[1])
    pixels = np.where(np.isnan(total), np.nan, pixels)
    return pixels.reshape(len(values), npix, npix)


class AngleDenoiser(QuantumDiffusionModel):
    """See the module docstring."""

    betas: torch.Tensor
    pixel_mean: torch.Tensor
    pixel_scale: torch.Tensor
    zero_below: torch.Tensor

    family = "angle"

    def __init__(self, config: RunConfig, *, device: torch.device | str | None = None) -> None:
        model = config.model
        self.pixels = config.data.npix**2
        self.patches = -(-self.pixels // model.num_qubits)
        if model.context == "image":
            circuit = reuploading_denoiser(
                num_qubits=model.num_qubits,
                chunks=self.patches,
                layers=model.layers,
                entangler=model.entangler,
            )
        else:
            circuit = denoising_circuit(
                num_data_qubits=model.num_qubits,
                layers=model.layers,
                encoding="angle",
                conditioning="time_embedding",
                entangler=model.entangler,
            )
        super().__init__(config, circuit, device=device)
        self.head_scale = torch.nn.Parameter(self._real(np.ones(self.pixels)))
        self.head_bias = torch.nn.Parameter(self._real(np.zeros(self.pixels)))
        betas = np.concatenate([[0.0], self.schedule.betas])  # betas[t] for t = 1..T
        self.register_buffer("betas", self._real(betas), persistent=False)
        if model.standardise:  # fitted on the training split by fit(); saved with the weights
            self.register_buffer("pixel_mean", self._real(np.zeros(self.pixels)))
            self.register_buffer("pixel_scale", self._real(np.ones(self.pixels)))
            self.register_buffer("zero_below", self._real(np.zeros(())))
        names = self.engine.input_names
        self._tau_column = names.index("tau[0]")
        self._x_columns = [i for i, name in enumerate(names) if name != "tau[0]"]

    def parameter_count(self) -> ParameterCount:
        """Circuit angles; the per-pixel head is classical."""
        return ParameterCount(quantum=self.engine.num_weights, classical=2 * self.pixels)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Uniform angles in ``[-pi, pi)``; identity head."""
        with torch.no_grad():
            draw = torch.rand(self.weights.shape, generator=generator, dtype=self.weights.dtype)
            self.weights.copy_((2 * draw - 1) * np.pi)
            self.head_scale.fill_(1.0)
            self.head_bias.fill_(0.0)

    def fit(self, train_images: np.ndarray) -> None:
        """Per-pixel mean and spread, and the zero-suppression threshold, of the training split.

        A pixel that never varies gets spread 1 (it stays at its mean). No-op without
        ``model.standardise``.
        """
        if not self.config.model.standardise:
            return
        values = pixel_values(train_images)
        lit = np.asarray(train_images, dtype=np.float64)
        lit = lit[lit > 0]
        spread = values.std(axis=0)
        with torch.no_grad():
            self.pixel_mean.copy_(self._real(values.mean(axis=0)))
            self.pixel_scale.copy_(self._real(np.where(spread > 1e-6, spread, 1.0)))
            self.zero_below.fill_(float(np.quantile(lit, 0.01)) if lit.size else 0.0)

    def encode(self, images: np.ndarray) -> torch.Tensor:
        """``2 sqrt(p) - 1`` per pixel, standardised with ``model.standardise``: ``(N, npix^2)``."""
        values = torch.tensor(
            pixel_values(images), dtype=self.engine.real_dtype, device=self.device
        )
        if self.config.model.standardise:
            values = (values - self.pixel_mean) / self.pixel_scale
        return values

    def decode(self, values: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encode`, renormalised to unit total intensity."""
        if not self.config.model.standardise:
            return images_from_pixel_values(values, self.config.data.npix)
        mean = self.pixel_mean.double().cpu().numpy()
        scale = self.pixel_scale.double().cpu().numpy()
        pixels = ((np.clip(values * scale + mean, -1.0, 1.0) + 1.0) / 2.0) ** 2
        pixels = np.where(pixels < float(self.zero_below), 0.0, pixels)
        return images_from_pixel_values(2.0 * np.sqrt(pixels) - 1.0, self.config.data.npix)

    def circuit_inputs(self, x_t: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """Per-patch circuit inputs ``(B * patches, inputs)`` in the engine's input order.

        ``patch`` context: each row holds one patch's angles; ``image``: every patch of the image,
        rotated so that the row's own patch comes last.
        """
        n, patches = self.num_qubits, self.patches
        padded = torch.nn.functional.pad(x_t, (0, patches * n - self.pixels))
        angles = 2.0 * torch.atan(padded).reshape(-1, patches, n)
        if self.config.model.context == "image":
            order = (torch.arange(patches)[:, None] + torch.arange(1, patches + 1)) % patches
            angles = angles[:, order.to(angles.device)]  # (B, patch, chunk, n)
        rows = angles.reshape(x_t.shape[0] * patches, -1)
        taus = self.taus[steps].repeat_interleave(patches)[:, None]
        inputs = torch.empty((rows.shape[0], rows.shape[1] + 1), dtype=rows.dtype,
                             device=rows.device)  # fmt: skip
        inputs[:, self._tau_column] = taus[:, 0]
        inputs[:, self._x_columns] = rows
        return inputs

    def predict(self, x_t: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """The network output per pixel: ``x_0``, ``eps`` or ``v`` prediction, ``(B, npix^2)``."""
        inputs = self.circuit_inputs(x_t, steps)
        readout = expectation_z(self.engine(self.weights, inputs))
        return self.head(readout.reshape(x_t.shape[0], -1))

    def head(self, readout: torch.Tensor) -> torch.Tensor:
        """Per-pixel affine map of the ``<Z>`` readout ``(B, patches * n)`` (padding dropped)."""
        return readout[:, : self.pixels] * self.head_scale + self.head_bias

    def _forward_noise(
        self, x0: torch.Tensor, steps: torch.Tensor, generator: torch.Generator
    ) -> tuple:
        noise = torch.randn(tuple(x0.shape), generator=generator, dtype=x0.dtype).to(self.device)
        alpha = self.alpha_bars[steps][:, None]
        return alpha.sqrt() * x0 + (1 - alpha).sqrt() * noise, noise

    def loss(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """MSE of the ``x_0``, ``eps`` or ``v`` prediction at random steps."""
        steps = torch.randint(
            1, self.config.model.steps + 1, (batch.shape[0],), generator=generator
        )
        steps = steps.to(self.device)
        x_t, noise = self._forward_noise(batch, steps, generator)
        prediction = self.config.model.prediction
        if prediction == "noise":
            target = noise
        elif prediction == "v":
            alpha = self.alpha_bars[steps][:, None]
            target = alpha.sqrt() * noise - (1 - alpha).sqrt() * batch
        else:
            target = batch
        return ((self.predict(x_t, steps) - target) ** 2).mean()

    def _x0_from_output(self, output: torch.Tensor, x_t: torch.Tensor, step: int) -> torch.Tensor:
        prediction = self.config.model.prediction
        alpha = self.alpha_bars[step]
        if prediction == "x0":
            x0 = output
        elif prediction == "v":
            x0 = alpha.sqrt() * x_t - (1 - alpha).sqrt() * output
        else:
            x0 = (x_t - (1 - alpha).sqrt() * output) / alpha.sqrt()
        if not self.config.model.standardise:
            return x0.clamp(-1.0, 1.0)
        low = (-1.0 - self.pixel_mean) / self.pixel_scale  # the standardised image of [-1, 1]
        high = (1.0 - self.pixel_mean) / self.pixel_scale
        return torch.maximum(torch.minimum(x0, high), low)

    def reverse_step(
        self, x_t: torch.Tensor, x0: torch.Tensor, step: int, noise: torch.Tensor
    ) -> torch.Tensor:
        """DDPM posterior ``q(x_{t-1} | x_t, x_0)``: its mean plus ``sigma_t`` noise (t > 1)."""
        beta, alpha_bar, previous = (
            self.betas[step],
            self.alpha_bars[step],
            self.alpha_bars[step - 1],
        )
        mean = (previous.sqrt() * beta / (1 - alpha_bar)) * x0 + (
            (1 - beta).sqrt() * (1 - previous) / (1 - alpha_bar)
        ) * x_t
        if step == 1:
            return mean
        variance = beta * (1 - previous) / (1 - alpha_bar)
        return mean + variance.sqrt() * noise

    @torch.no_grad()
    def sample(self, count: int, *, seed: int, executor: Executor | None = None) -> np.ndarray:
        """Generated images; with an executor each reverse step is one Estimator run."""
        generator = torch.Generator().manual_seed(seed)
        real = self.engine.real_dtype
        x_t = torch.randn((count, self.pixels), generator=generator, dtype=real).to(self.device)
        for step in range(self.config.model.steps, 0, -1):
            steps = torch.full((count,), step, device=self.device)
            if executor is None:
                output = self.predict(x_t, steps)
            else:
                output = self._remote_predict(x_t, steps, executor, step)
            x0 = self._x0_from_output(output, x_t, step)
            noise = torch.randn((count, self.pixels), generator=generator, dtype=real).to(
                self.device
            )
            x_t = self.reverse_step(x_t, x0, step, noise)
        return self.decode(x_t.double().cpu().numpy())

    def _remote_predict(
        self, x_t: torch.Tensor, steps: torch.Tensor, executor: Executor, step: int
    ) -> torch.Tensor:
        inputs = self.circuit_inputs(x_t, steps)
        values = self.engine.parameter_values(self.weights, inputs)
        n = self.num_qubits
        observables = [
            (f"z{q}", SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], num_qubits=n))
            for q in range(n)
        ]
        readout = executor(
            name=f"step{step:03d}", circuit=self.circuit, values=values, observables=observables
        )
        output = torch.tensor(readout, dtype=x_t.dtype, device=self.device)
        output = output.reshape(x_t.shape[0], -1)
        return self.head(output)
