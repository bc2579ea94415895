"""Forward processes that carry a state ensemble to noise, step by step.

- ``scramble`` (QuDDPM): step ``s`` applies a random :func:`~qdm_qiskit.circuits.scrambling_layer`
  of strength ``h_s`` to every state (fresh angles per state). The ensemble at step ``t`` is the
  data passed through ``t`` layers drawn anew for each ``t`` (as QuDDPM's
  ``set_diffusionData_t``), so each step's set is an independent draw of that marginal. The
  layers run on the torch engine from the same circuit a device would run.
- ``depolarizing`` (MSQuDDPM): ``rho_t = alpha_bar_t rho_0 + (1 - alpha_bar_t) I/d`` in closed
  form (:func:`qdm_qiskit.diffusion.depolarized_state`), mixed states.
"""

from __future__ import annotations

import numpy as np
import torch

from qdm_qiskit.circuits import scrambling_angles, scrambling_layer
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.engine import CompiledCircuit, density_matrix
from qdm_qiskit.models.ensemble.config import EnsembleModelConfig


def scrambling_strengths(model: EnsembleModelConfig) -> np.ndarray:
    """``h_1 .. h_T`` of the scrambling schedule."""
    steps = model.steps
    if model.strength_schedule == "quadratic":
        fraction = (np.arange(1, steps + 1) / steps) ** 2
        return model.strength_start + (model.strength_end - model.strength_start) * fraction
    if steps == 1:  # step T has strength_end, also when it is the only step
        return np.array([model.strength_end], dtype=float)
    return np.linspace(model.strength_start, model.strength_end, steps)


def depolarizing_schedule(model: EnsembleModelConfig) -> NoiseSchedule:
    """The depolarizing probabilities ``p_1 .. p_T``."""
    return NoiseSchedule(
        kind=model.schedule, steps=model.steps, start=model.beta_start, end=model.beta_end
    )


def diffuse(states: np.ndarray, model: EnsembleModelConfig, *, seed: int) -> list[torch.Tensor]:
    """The ensemble at every step ``t = 0..T``: ``T + 1`` tensors (complex128).

    Pure states ``(N, 2^n)`` for ``scramble``; density matrices ``(N, 2^n, 2^n)`` for
    ``depolarizing``.
    """
    x0 = torch.as_tensor(states, dtype=torch.complex128)
    if model.forward == "depolarizing":
        rho0 = density_matrix(x0)
        identity = torch.eye(x0.shape[1], dtype=torch.complex128) / x0.shape[1]
        alpha_bars = depolarizing_schedule(model).alpha_bars
        return [float(a) * rho0 + (1.0 - float(a)) * identity for a in alpha_bars]
    n = model.num_qubits
    layer = CompiledCircuit(scrambling_layer(num_qubits=n), device="cpu", dtype=torch.complex128)
    strengths = scrambling_strengths(model)
    out = [x0]
    weights = torch.zeros(0, dtype=torch.float64)
    for t in range(1, model.steps + 1):
        rng = np.random.default_rng([seed, t])
        current = x0
        for s in range(t):
            angles = scrambling_angles(
                num_qubits=n, strength=float(strengths[s]), size=len(states), seed=rng
            )
            current = layer(weights, torch.as_tensor(angles), initial_state=current)
        out.append(current)
    return out
