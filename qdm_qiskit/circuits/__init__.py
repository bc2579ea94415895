"""Circuit builders: pure, keyword-only functions returning parameterized ``QuantumCircuit``s.

No backend, no I/O, no hidden randomness (seeds are arguments). The same circuit is trained in
simulation, run on Aer with noise and submitted to IBM hardware after :func:`transpile_isa`.

Every circuit carries ``metadata`` with its builder, arguments, the role of each parameter vector
(``weight`` or ``input``) and its number of weights.

Example:
    >>> from qdm_qiskit.circuits import denoising_circuit
    >>> qc = denoising_circuit(num_data_qubits=3, layers=2, encoding="angle")
    >>> qc.metadata["num_weights"], qc.metadata["parameter_roles"]
    (12, {'x': 'input', 'theta_t1': 'weight'})
"""

from qdm_qiskit.circuits.ansatz import (
    entangling_pairs,
    hardware_efficient_ansatz,
    hardware_efficient_parameter_count,
    strongly_entangling_ansatz,
)
from qdm_qiskit.circuits.config import BuildConfig, CircuitSpec, load_build_config
from qdm_qiskit.circuits.denoiser import denoising_circuit
from qdm_qiskit.circuits.encoding import (
    AmplitudeValues,
    amplitude_encoding,
    amplitude_encoding_values,
    angle_encoding,
    decode_amplitudes,
    label_encoding,
    label_encoding_values,
)
from qdm_qiskit.circuits.fingerprint import structure_hash, target_fingerprint
from qdm_qiskit.circuits.noise import (
    amplitude_damping_circuit,
    depolarizing_circuit,
    depolarizing_kraus,
    depolarizing_noise_model,
    scrambling_angles,
    scrambling_circuit,
    scrambling_layer,
)
from qdm_qiskit.circuits.registry import BUILDERS, build_circuit
from qdm_qiskit.circuits.reservoir import (
    exact_reservoir_unitary,
    reservoir_circuit,
    reservoir_hamiltonian,
    total_magnetization,
    unitary_infidelity,
    xxz_hamiltonian,
)
from qdm_qiskit.circuits.reupload import reuploading_denoiser
from qdm_qiskit.circuits.serialize import load_circuit, save_circuit
from qdm_qiskit.circuits.transpile import (
    CircuitSummary,
    TranspileCache,
    TranspileOptions,
    circuit_summary,
    isa_violations,
    layout_observable,
    summary_table,
    transpile_isa,
)

__all__ = [
    "BUILDERS",
    "AmplitudeValues",
    "BuildConfig",
    "CircuitSpec",
    "CircuitSummary",
    "TranspileCache",
    "TranspileOptions",
    "amplitude_damping_circuit",
    "amplitude_encoding",
    "amplitude_encoding_values",
    "angle_encoding",
    "build_circuit",
    "circuit_summary",
    "decode_amplitudes",
    "denoising_circuit",
    "depolarizing_circuit",
    "depolarizing_kraus",
    "depolarizing_noise_model",
    "entangling_pairs",
    "exact_reservoir_unitary",
    "hardware_efficient_ansatz",
    "hardware_efficient_parameter_count",
    "isa_violations",
    "label_encoding",
    "label_encoding_values",
    "layout_observable",
    "load_build_config",
    "load_circuit",
    "reservoir_circuit",
    "reservoir_hamiltonian",
    "reuploading_denoiser",
    "save_circuit",
    "scrambling_angles",
    "scrambling_circuit",
    "scrambling_layer",
    "strongly_entangling_ansatz",
    "structure_hash",
    "summary_table",
    "target_fingerprint",
    "total_magnetization",
    "transpile_isa",
    "unitary_infidelity",
    "xxz_hamiltonian",
]
