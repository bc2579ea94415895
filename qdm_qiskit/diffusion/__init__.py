"""Forward (noising) processes in closed form and their schedules (numpy only, no qiskit).

Shared by the circuit builders, the quantum models and the classical DDPM baseline.
"""

from qdm_qiskit.diffusion.channels import (
    amplitude_damped_state,
    amplitude_damping_kraus,
    depolarized_state,
)
from qdm_qiskit.diffusion.classical_noise import NoisedAmplitudes, gaussian_noised_amplitudes
from qdm_qiskit.diffusion.schedules import NoiseSchedule

__all__ = [
    "NoiseSchedule",
    "NoisedAmplitudes",
    "amplitude_damped_state",
    "amplitude_damping_kraus",
    "depolarized_state",
    "gaussian_noised_amplitudes",
]
