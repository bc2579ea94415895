"""Classical DDPM/DDIM reference (torch only, no qiskit): schedule, network and trainer apart.

- :class:`GaussianDiffusion`: the forward process ``q(x_t | x_0)`` and the DDPM and DDIM reverse
  updates, from a :class:`qdm_qiskit.diffusion.NoiseSchedule` (the same schedule object the
  quantum models use);
- :class:`MLPDenoiser`: an epsilon-prediction network with a sinusoidal time embedding, sized by
  hand or to a parameter budget (:func:`mlp_for_budget`, to match a quantum model);
- :func:`train_ddpm` and :func:`sample`: the training loop and the samplers.
"""

from qdm_qiskit.baseline.network import MLPDenoiser, mlp_for_budget
from qdm_qiskit.baseline.process import GaussianDiffusion
from qdm_qiskit.baseline.trainer import sample, train_ddpm

__all__ = ["GaussianDiffusion", "MLPDenoiser", "mlp_for_budget", "sample", "train_ddpm"]
