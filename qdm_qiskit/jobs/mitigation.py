"""Error-mitigation presets, mapped onto the Runtime's own options and onto M3 readout correction.

=========  ============================================  =========================================
preset     Estimator (Runtime options)                    Sampler (counts)
=========  ============================================  =========================================
none       resilience level 0, no twirling, no DD         raw counts
readout    TREX: measurement mitigation + twirling        M3 correction from per-job calibration
zne        TREX + ZNE (gate folding, factors 1, 3, 5,     refused: ZNE extrapolates expectation
           exponential then linear extrapolation)         values, not counts
full       ZNE preset + gate twirling + XY4 DD            M3 + gate/measure twirling + XY4 DD
=========  ============================================  =========================================

The Estimator options are plain dicts in the Runtime's option schema, so the same preset runs on
IBM hardware and, through the client-side primitives' local mode, on fake backends. Readout
correction for counts runs on our side: every job carries two calibration PUBs (all measured
qubits in |0>, then in |1>) and the collector corrects the counts with ``mthree`` using the
per-qubit assignment matrices measured in the same job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit

from qdm_qiskit.errors import ConfigError

PRESETS = ("none", "readout", "zne", "full")
ZNE_NOISE_FACTORS = (1, 3, 5)
ZNE_EXTRAPOLATORS = ("exponential", "linear")
CALIBRATION_REGISTER = "cal"
#: PUB ids of the readout calibration circuits carried by each job.
CALIBRATION_PUBS = ("cal0", "cal1")


def check_preset(preset: str, *, primitive: str, runtime: bool) -> str:
    """Validate a preset for a primitive and engine.

    Args:
        preset: one of :data:`PRESETS`.
        primitive: ``sampler`` or ``estimator``.
        runtime: whether the Runtime primitives run the job (``fake:``/``ibm:`` targets); Aer
            targets run Aer's own primitives, which have no mitigation options.

    Raises:
        ConfigError: for an unknown preset or one that cannot apply.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown mitigation {preset!r}; choose one of {', '.join(PRESETS)}")
    if primitive == "sampler" and preset == "zne":
        raise ConfigError(
            "mitigation 'zne' extrapolates expectation values and needs the estimator; "
            "for sampler counts use 'readout' or 'full'"
        )
    if not runtime and (
        (primitive == "estimator" and preset != "none")
        or (primitive == "sampler" and preset == "full")
    ):
        raise ConfigError(
            f"mitigation {preset!r} runs inside the Runtime primitives; use a fake:<backend> "
            "target to run it locally (aer targets support 'none', and 'readout' for the sampler)"
        )
    return preset


def estimator_options(preset: str, *, dynamic: bool = False) -> dict[str, Any]:
    """Runtime ``EstimatorOptions`` (as a dict) for a preset.

    Args:
        preset: one of :data:`PRESETS`.
        dynamic: the circuits contain mid-circuit measurements or control flow; dynamical
            decoupling is then left off (the Runtime refuses DD with dynamic circuits).
    """
    if preset == "none":
        return {
            "resilience_level": 0,
            "twirling": {"enable_gates": False, "enable_measure": False},
            "dynamical_decoupling": {"enable": False},
        }
    options: dict[str, Any] = {
        "resilience_level": 1,
        "resilience": {"measure_mitigation": True, "zne_mitigation": False},
        "twirling": {"enable_gates": False, "enable_measure": True},
    }
    if preset in ("zne", "full"):
        options["resilience_level"] = 2
        options["resilience"] = {
            "measure_mitigation": True,
            "zne_mitigation": True,
            "zne": {
                "amplifier": "gate_folding",
                "noise_factors": list(ZNE_NOISE_FACTORS),
                "extrapolator": list(ZNE_EXTRAPOLATORS),
            },
        }
    if preset == "full":
        options["twirling"] = {"enable_gates": True, "enable_measure": True}
        options["dynamical_decoupling"] = {"enable": not dynamic, "sequence_type": "XY4"}
    return options


def sampler_options(preset: str, *, dynamic: bool = False) -> dict[str, Any]:
    """Runtime ``SamplerOptions`` (as a dict) for a preset (M3 is applied by the collector)."""
    if preset == "full":
        return {
            "twirling": {"enable_gates": True, "enable_measure": True},
            "dynamical_decoupling": {"enable": not dynamic, "sequence_type": "XY4"},
        }
    return {}


def uses_readout_calibration(preset: str, *, primitive: str) -> bool:
    """Whether jobs carry calibration PUBs and counts get M3 correction."""
    return primitive == "sampler" and preset in ("readout", "full")


def is_dynamic(circuit: QuantumCircuit) -> bool:
    """True if ``circuit`` measures or resets a qubit before its end, or has control flow."""
    finished: set[int] = set()
    for instruction in circuit.data:
        name = instruction.operation.name
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        if name in ("if_else", "while_loop", "for_loop", "switch_case", "reset"):
            return True
        if name == "barrier":
            continue
        if any(q in finished for q in qubits):
            return True
        if name == "measure":
            finished.update(qubits)
    return False


def calibration_circuits(num_qubits: int, qubits: Sequence[int]) -> tuple[QuantumCircuit, ...]:
    """The two readout-calibration circuits: ``qubits`` prepared in |0>, then in |1>.

    Both are ISA for any IBM target (``x`` and ``measure`` only) and measure ``qubits`` in order
    into a register named :data:`CALIBRATION_REGISTER`.
    """
    if not qubits:
        raise ConfigError("readout calibration needs at least one measured qubit")
    circuits = []
    for flip, name in zip((False, True), CALIBRATION_PUBS, strict=True):
        register = ClassicalRegister(len(qubits), CALIBRATION_REGISTER)
        circuit = QuantumCircuit(num_qubits, name=name)
        circuit.add_register(register)
        if flip:
            for qubit in qubits:
                circuit.x(qubit)
        circuit.measure(list(qubits), register)
        circuits.append(circuit)
    return tuple(circuits)


def assignment_matrices(
    counts0: Mapping[str, int], counts1: Mapping[str, int], num_bits: int
) -> list[np.ndarray]:
    """Per-qubit readout matrices ``A[measured, prepared]`` from the two calibration results.

    Bit ``i`` of the register is the ``i``-th calibrated qubit (Qiskit bit strings are
    little-endian: bit ``i`` is the ``i``-th character from the right).
    """
    matrices = []
    for bit in range(num_bits):
        matrix = np.zeros((2, 2))
        for prepared, counts in ((0, counts0), (1, counts1)):
            total = sum(counts.values())
            if total == 0:
                raise ConfigError("empty readout calibration result")
            ones = sum(n for s, n in counts.items() if s[::-1][bit] == "1")
            matrix[1, prepared] = ones / total
            matrix[0, prepared] = 1.0 - ones / total
        matrices.append(matrix)
    return matrices


def measured_qubits(circuit: QuantumCircuit, register: str) -> list[int]:
    """Qubit last measured into each bit of classical register ``register``, in bit order."""
    creg = next((r for r in circuit.cregs if r.name == register), None)
    if creg is None:
        raise ConfigError(f"circuit {circuit.name!r} has no classical register {register!r}")
    source: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name != "measure":
            continue
        for qubit, clbit in zip(instruction.qubits, instruction.clbits, strict=True):
            source[circuit.find_bit(clbit).index] = circuit.find_bit(qubit).index
    bits = [circuit.find_bit(bit).index for bit in creg]
    missing = [i for i, b in enumerate(bits) if b not in source]
    if missing:
        raise ConfigError(f"register {register!r} bits {missing} are never measured")
    return [source[b] for b in bits]


def readout_corrected(
    counts: Sequence[Mapping[str, int]],
    qubits: Sequence[int],
    matrices: Mapping[int, np.ndarray],
) -> list[dict[str, float]]:
    """M3-corrected quasi-probabilities for a batch of counts of one register.

    Args:
        counts: one counts mapping per binding.
        qubits: the qubit behind each bit of the register (bit 0 first).
        matrices: assignment matrix per qubit (from :func:`assignment_matrices`).

    Returns:
        One mapping bitstring -> quasi-probability per binding (it can hold small negative
        values; they sum to 1).
    """
    import mthree

    missing = [q for q in qubits if q not in matrices]
    if missing:
        raise ConfigError(f"no readout calibration for qubit(s) {missing}")
    width = max(max(matrices), max(qubits)) + 1
    mitigator = mthree.M3Mitigation()
    mitigator.cals_from_matrices([matrices.get(q) for q in range(width)])
    quasis = mitigator.apply_correction([dict(c) for c in counts], list(qubits))
    if not isinstance(quasis, list) and hasattr(quasis, "__iter__"):
        quasis = list(quasis)
    return [{k: float(v) for k, v in quasi.items()} for quasi in quasis]
