"""The denoising (reverse-process) circuit: encoder, timestep conditioning, PQC, ancillas.

One builder covers the quantum diffusion model families of the literature:

- *direct state denoiser* (Cacioppo et al.): ``encoding="amplitude"``, one shared PQC applied at
  every step, ``P(theta)|x_t> = |x_{t-1}>``;
- *quantum-native ensemble diffusion* (QuDDPM, MSQuDDPM): ``encoding="none"`` (the input is the
  noised quantum state), ``conditioning="per_step"`` (a separate parameter set per diffusion step),
  ancillas measured and reset after each step for a non-unitary reverse map;
- *angle-encoded denoiser* (Kolle et al., Baidachna et al.): ``encoding="angle"``, optionally with
  data re-uploading before every PQC block and a time-embedding angle.

With ``steps > 1`` the circuit chains the reverse steps ``t = T, ..., 1`` in one circuit, so a
whole reverse process runs as one hardware job (ancillas are reset between steps).
"""

from __future__ import annotations

from typing import Literal

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector

from qdm_qiskit.circuits._naming import (
    INPUT,
    check_bool,
    check_choice,
    check_count,
    check_qubits,
    describe,
)
from qdm_qiskit.circuits.ansatz import hardware_efficient_ansatz, strongly_entangling_ansatz
from qdm_qiskit.circuits.encoding import amplitude_encoding, angle_encoding
from qdm_qiskit.errors import ConfigError

Ansatz = Literal["hardware_efficient", "strongly_entangling"]
Conditioning = Literal["per_step", "time_embedding"]
Embedding = Literal["phase", "conjugate"]
Encoding = Literal["none", "angle", "amplitude", "amplitude_complex"]


def denoising_circuit(
    *,
    num_data_qubits: int,
    layers: int,
    num_ancillas: int = 0,
    steps: int = 1,
    ansatz: Ansatz = "hardware_efficient",
    conditioning: Conditioning = "per_step",
    embedding: Embedding = "phase",
    encoding: Encoding = "none",
    reupload: bool = False,
    entanglement: Literal["linear", "ring"] = "ring",
    entangler: Literal["cz", "cx"] = "cz",
    measure_ancillas: bool = True,
    measure_data: bool = False,
) -> QuantumCircuit:
    """Build a reverse-process circuit of ``steps`` denoising steps.

    Registers: ``data`` (``num_data_qubits``) and ``anc`` (``num_ancillas``); ancilla outcomes of
    step ``t`` go to the classical register ``anc_t{t}``, the final data measurement (with
    ``measure_data``) to ``meas``. Step labels are zero-padded to the width of ``steps``
    (``t01 .. t20``), so that parameters and registers sort in step order.

    Parameters (``circuit.metadata["parameter_roles"]`` records each vector's role):

    - weights: ``theta`` (shared, ``conditioning="time_embedding"``) or ``theta_t{t}`` per step
      (``conditioning="per_step"``), each with the ansatz's count on data + ancilla qubits
      (hardware-efficient RY/RZ: ``2 * layers * (n + m)``; strongly entangling:
      ``3 * layers * (n + m)``);
    - inputs: ``x`` (angle encoding, ``n``), ``amp_y``/``amp_z`` (amplitude encoding) and ``tau``
      (time embedding: ``steps`` angles, ``RZ(tau[t-1])`` on every data qubit before step ``t``'s
      PQC, and with ``embedding="conjugate"`` ``RZ(-tau[t-1])`` after it; the steps run
      ``t = T, ..., 1``).

    Args:
        num_data_qubits: qubits holding the state being denoised.
        layers: ansatz layers per step.
        num_ancillas: extra qubits, measured and reset after each step when
            ``measure_ancillas`` (QuDDPM's non-unitary reverse map).
        steps: reverse steps chained in this circuit.
        ansatz: ``hardware_efficient`` (RY, RZ + entangler) or ``strongly_entangling``.
        conditioning: ``per_step`` parameter sets or shared weights with a ``time_embedding``.
        embedding: ``phase`` (``RZ(tau)`` before the PQC) or ``conjugate`` (``RZ(tau)`` before
            and ``RZ(-tau)`` after, so that a PQC equal to the identity makes the whole step the
            identity at every ``t``: the starting point a direct state denoiser needs, since
            returning ``|x_t>`` unchanged is the bar it must beat).
        encoding: how the input enters: ``none`` (prepared elsewhere), ``angle``, ``amplitude``
            (real) or ``amplitude_complex``.
        reupload: re-apply the angle encoding before every step after the first.
        entanglement: ``ring`` or ``linear`` nearest-neighbour pairs (hardware-efficient ansatz).
        entangler: ``cz`` (symmetric, default) or ``cx`` (hardware-efficient ansatz).
        measure_ancillas: measure and reset ancillas after each step.
        measure_data: measure the data qubits at the end into ``meas`` (for the Sampler).

    Example:
        >>> qc = denoising_circuit(num_data_qubits=2, num_ancillas=1, layers=6, steps=20)
        >>> qc.metadata["num_weights"]  # QuDDPM's 2-qubit cluster model
        720
    """
    n = check_qubits("num_data_qubits", num_data_qubits)
    m = check_qubits("num_ancillas", num_ancillas, minimum=0)
    depth = check_count("layers", layers)
    n_steps = check_count("steps", steps)
    check_choice("ansatz", ansatz, ("hardware_efficient", "strongly_entangling"))
    check_choice("conditioning", conditioning, ("per_step", "time_embedding"))
    check_choice("embedding", embedding, ("phase", "conjugate"))
    check_choice("encoding", encoding, ("none", "angle", "amplitude", "amplitude_complex"))
    check_choice("entanglement", entanglement, ("linear", "ring"))
    check_choice("entangler", entangler, ("cz", "cx"))
    for flag, value in (("reupload", reupload), ("measure_ancillas", measure_ancillas),
                        ("measure_data", measure_data)):  # fmt: skip
        check_bool(flag, value)
    if reupload and encoding != "angle":
        raise ConfigError("reupload needs encoding='angle' (an amplitude state cannot be re-read)")

    data, anc = QuantumRegister(n, "data"), QuantumRegister(m, "anc")
    circuit = QuantumCircuit(data, anc, name="denoiser") if m else QuantumCircuit(data)
    circuit.name = "denoiser"
    roles: dict[str, str] = {}
    vectors: list[ParameterVector] = []

    encoder = _encoder(encoding, n)
    if encoder is not None:
        circuit.compose(encoder, qubits=data, inplace=True)
        _adopt(encoder, roles, vectors)
    tau = ParameterVector("tau", n_steps) if conditioning == "time_embedding" else None
    if tau is not None:
        roles["tau"] = INPUT
        vectors.append(tau)
    shared = None
    width = len(str(n_steps))  # zero-padded step labels sort in step order: t01 ... t20
    for t in range(n_steps, 0, -1):
        if reupload and t < n_steps and encoder is not None:
            circuit.compose(encoder, qubits=data, inplace=True)
        if tau is not None:
            for qubit in data:
                circuit.rz(tau[t - 1], qubit)
        if shared is None or conditioning == "per_step":
            prefix = "theta" if conditioning == "time_embedding" else f"theta_t{t:0{width}d}"
            block = _ansatz(ansatz, n + m, depth, entanglement, entangler, prefix)
            _adopt(block, roles, vectors)
            shared = block
        circuit.compose(shared, qubits=[*data, *anc], inplace=True)
        if tau is not None and embedding == "conjugate":
            for qubit in data:
                circuit.rz(-tau[t - 1], qubit)
        if m and measure_ancillas:
            outcome = ClassicalRegister(m, f"anc_t{t:0{width}d}")
            circuit.add_register(outcome)
            circuit.measure(anc, outcome)
            if t > 1:
                circuit.reset(anc)
    if measure_data:
        meas = ClassicalRegister(n, "meas")
        circuit.add_register(meas)
        circuit.measure(data, meas)
    return describe(
        circuit,
        builder="denoising_circuit",
        arguments={
            "num_data_qubits": n,
            "layers": depth,
            "num_ancillas": m,
            "steps": n_steps,
            "ansatz": ansatz,
            "conditioning": conditioning,
            "embedding": embedding,
            "encoding": encoding,
            "reupload": reupload,
            "entanglement": entanglement,
            "entangler": entangler,
            "measure_ancillas": measure_ancillas,
            "measure_data": measure_data,
        },
        roles=roles,
        vectors=vectors,
    )


def _encoder(encoding: str, n: int) -> QuantumCircuit | None:
    if encoding == "angle":
        return angle_encoding(num_qubits=n)
    if encoding in ("amplitude", "amplitude_complex"):
        return amplitude_encoding(num_qubits=n, complex_amplitudes=encoding == "amplitude_complex")
    return None


def _ansatz(
    kind: str, width: int, layers: int, entanglement: str, entangler: str, prefix: str
) -> QuantumCircuit:
    if kind == "strongly_entangling":
        return strongly_entangling_ansatz(num_qubits=width, layers=layers, prefix=prefix)
    return hardware_efficient_ansatz(
        num_qubits=width,
        layers=layers,
        entanglement=entanglement,  # type: ignore[arg-type]
        entangler=entangler,  # type: ignore[arg-type]
        prefix=prefix,
    )


def _adopt(block: QuantumCircuit, roles: dict[str, str], vectors: list[ParameterVector]) -> None:
    """Record a sub-builder's parameter vectors and roles in the composite's bookkeeping."""
    roles.update(block.metadata["parameter_roles"])
    seen = {v.name for v in vectors}
    for parameter in block.parameters:
        vector = getattr(parameter, "vector", None)
        if vector is not None and vector.name not in seen:
            vectors.append(vector)
            seen.add(vector.name)
