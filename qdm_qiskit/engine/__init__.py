"""The training engine: Qiskit circuits compiled to a batched, differentiable torch simulator.

Circuits are defined once with :mod:`qdm_qiskit.circuits`; this room runs them for training
(forward and backward in torch, CPU or CUDA) and hands the same circuits to the job manager for
sampling on Aer or hardware.
"""

from qdm_qiskit.engine.ir import Program, compile_program, density_program
from qdm_qiskit.engine.readout import (
    density_matrix,
    expectation,
    expectation_z,
    fidelity,
    measure_qubits,
    probabilities,
    reduced_density_matrix,
)
from qdm_qiskit.engine.simulator import CompiledCircuit, default_device, input_parameter_names

__all__ = [
    "CompiledCircuit",
    "Program",
    "compile_program",
    "default_device",
    "density_matrix",
    "density_program",
    "expectation",
    "expectation_z",
    "fidelity",
    "input_parameter_names",
    "measure_qubits",
    "probabilities",
    "reduced_density_matrix",
]
