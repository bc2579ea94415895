"""A data re-uploading denoiser: the whole image enters one small register, chunk by chunk.

A patch-local circuit (one patch of ``n`` pixels per ``n``-qubit circuit) cannot move information
between patches, so a jet's core never tells its periphery where it is. Re-uploading (Perez-Salinas
et al. 2020) lets ``n`` qubits read ``chunks * n`` features: chunk ``k`` is angle-encoded
(``RY(x[k n + i])`` on qubit ``i``) onto the state the previous blocks left, the time angle
``RZ(tau[0])`` follows on every qubit, then the chunk's own hardware-efficient block
``theta_c{k}``. Each chunk has its own weights, so a caller that feeds the chunks in an order
*relative to the patch being predicted* (that patch last, next to the readout) gets a
translation-equivariant network, the quantum analogue of a convolution over patches.
"""

from __future__ import annotations

from typing import Literal

from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from qdm_qiskit.circuits._naming import INPUT, check_choice, check_count, check_qubits, describe
from qdm_qiskit.circuits.ansatz import hardware_efficient_ansatz


def reuploading_denoiser(
    *,
    num_qubits: int,
    chunks: int,
    layers: int,
    entangler: Literal["cz", "cx"] = "cz",
) -> QuantumCircuit:
    """``chunks`` re-uploads of ``num_qubits`` angle features, each followed by its own block.

    Parameters: inputs ``x`` (``chunks * num_qubits`` angles, chunk-major) and ``tau`` (1 time
    angle); weights ``theta_c{k}`` (``2 * layers * num_qubits`` each, RY/RZ + ring entangler),
    zero-padded ``k`` so that they sort in chunk order. Read ``<Z_i>`` at the end.

    Example:
        >>> qc = reuploading_denoiser(num_qubits=4, chunks=4, layers=2)
        >>> qc.metadata["num_weights"], len(qc.parameters)
        (64, 81)
    """
    n = check_qubits("num_qubits", num_qubits)
    count = check_count("chunks", chunks, maximum=4096)
    depth = check_count("layers", layers)
    check_choice("entangler", entangler, ("cz", "cx"))
    x, tau = ParameterVector("x", count * n), ParameterVector("tau", 1)
    register = QuantumRegister(n, "data")
    circuit = QuantumCircuit(register, name="reuploading_denoiser")
    roles, vectors = {"x": INPUT, "tau": INPUT}, [x, tau]
    width = len(str(count - 1))
    for k in range(count):
        for qubit in range(n):
            circuit.ry(x[k * n + qubit], qubit)
            circuit.rz(tau[0], qubit)
        block = hardware_efficient_ansatz(
            num_qubits=n, layers=depth, entangler=entangler, prefix=f"theta_c{k:0{width}d}"
        )
        circuit.compose(block, qubits=register, inplace=True)
        roles.update(block.metadata["parameter_roles"])
        vectors.append(block.parameters[0].vector)  # type: ignore[attr-defined]
    return describe(
        circuit,
        builder="reuploading_denoiser",
        arguments={"num_qubits": n, "chunks": count, "layers": depth, "entangler": entangler},
        roles=roles,
        vectors=vectors,
    )
