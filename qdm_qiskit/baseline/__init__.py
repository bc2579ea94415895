"""Classical DDPM/DDIM reference (torch and diffusers, no qiskit): schedule, network, trainer apart.

- :class:`GaussianDiffusion`: the forward process ``q(x_t | x_0)`` and the project's own DDPM and
  DDIM reverse updates, from a :class:`qdm_qiskit.diffusion.NoiseSchedule` (the same schedule
  object the quantum models use);
- :func:`diffusers_scheduler` / :func:`sample_with_scheduler`: diffusers' ``DDPMScheduler`` and
  ``DDIMScheduler`` on that schedule (the samplers of the U-Net reference, checked step by step
  against :class:`GaussianDiffusion`);
- networks: :class:`UNetDenoiser` (diffusers' ``UNet2DModel``, optionally class-conditioned),
  :class:`ConvDenoiser` (budgets below any U-Net), :func:`network_for_budget`, and the vector
  :class:`MLPDenoiser`;
- :func:`train_ddpm` and :func:`sample`: the training loop and the project's own samplers.
"""

from qdm_qiskit.baseline.conv import ConvDenoiser
from qdm_qiskit.baseline.network import MLPDenoiser, mlp_for_budget
from qdm_qiskit.baseline.process import GaussianDiffusion
from qdm_qiskit.baseline.schedulers import diffusers_scheduler, sample_with_scheduler
from qdm_qiskit.baseline.sizing import network_for_budget, unet_ladder
from qdm_qiskit.baseline.trainer import sample, train_ddpm
from qdm_qiskit.baseline.unet import UNetDenoiser, UNetShape

__all__ = [
    "ConvDenoiser",
    "GaussianDiffusion",
    "MLPDenoiser",
    "UNetDenoiser",
    "UNetShape",
    "diffusers_scheduler",
    "mlp_for_budget",
    "network_for_budget",
    "sample",
    "sample_with_scheduler",
    "train_ddpm",
    "unet_ladder",
]
