"""Quantum forward (noising) processes as circuits, driven by a :class:`NoiseSchedule`.

- Depolarizing: ``rho -> (1 - p_s) rho + p_s I/d`` for steps ``s = 1..t``, whose closed form is
  ``alpha_bar_t rho_0 + (1 - alpha_bar_t) I/d``. Two realisations: ``"kraus"`` appends the channel
  itself (a Kraus instruction that Aer's density-matrix method simulates exactly), ``"labels"``
  appends identity gates labelled ``depolarize_s`` and :func:`depolarizing_noise_model` attaches
  the channel to those labels, the way device noise is attached to gates. The markers are for
  simulating the circuit as built: transpiling would drop the identities (and their noise), so
  ``transpile_isa`` refuses circuits that carry them.
- Amplitude damping on every qubit with ``gamma_s = p_s`` (fixed point ``|0...0>``).
- Random scrambling (QuDDPM): per step, ``RZ RY RZ`` on every qubit with angles uniform in
  ``[-pi/8, pi/8] * h_s`` and ``RZZ(g / (2 sqrt(n)))`` on every pair with ``g`` uniform in
  ``[0.4, 0.6] * h_s``, where the strength ``h_s = max_strength * p_s`` follows the schedule.
"""

from __future__ import annotations

import itertools
from functools import reduce
from typing import TYPE_CHECKING, Literal

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector
from qiskit.circuit.library import UnitaryGate
from qiskit.quantum_info import Kraus

from qdm_qiskit.circuits._naming import (
    INPUT,
    NOISE_MARKER_PREFIX,
    check_choice,
    check_prefix,
    check_qubits,
    describe,
)
from qdm_qiskit.diffusion.channels import amplitude_damping_kraus
from qdm_qiskit.diffusion.schedules import NoiseSchedule
from qdm_qiskit.errors import ConfigError

if TYPE_CHECKING:
    from qiskit_aer.noise import NoiseModel

_PAULIS = (
    np.eye(2, dtype=complex),
    np.array([[0, 1], [1, 0]], dtype=complex),
    np.array([[0, -1j], [1j, 0]], dtype=complex),
    np.diag([1.0, -1.0]).astype(complex),
)
MAX_CHANNEL_QUBITS = 5  # 4^n Kraus operators of 2^n x 2^n: keep the channel small


def depolarizing_kraus(p: float, num_qubits: int) -> Kraus:
    """Global depolarizing channel ``rho -> (1 - p) rho + p I/d`` as Kraus operators.

    Uses ``I/d = 4^-n sum_P P rho P`` over the n-qubit Paulis, so the Kraus operators are
    ``sqrt(1 - p + p/4^n) I`` and ``sqrt(p/4^n) P`` for every other Pauli ``P``.
    """
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"depolarizing probability must lie in [0, 1], got {p}")
    count = 4**num_qubits
    operators = []
    for index, paulis in enumerate(itertools.product(_PAULIS, repeat=num_qubits)):
        weight = 1 - p + p / count if index == 0 else p / count
        operators.append(np.sqrt(weight) * reduce(np.kron, paulis))
    return Kraus(operators)


def depolarizing_circuit(
    *,
    num_qubits: int,
    schedule: NoiseSchedule,
    step: int,
    realisation: Literal["kraus", "labels"] = "kraus",
) -> QuantumCircuit:
    """Apply the global depolarizing channels of steps ``1..step`` of ``schedule``.

    Compose it after a state preparation; simulate with Aer's density-matrix method (with
    :func:`depolarizing_noise_model` for the ``labels`` realisation). No parameters.
    """
    n = _check_channel_width(num_qubits)
    _check_schedule(schedule)
    schedule.check_step(step)
    check_choice("realisation", realisation, ("kraus", "labels"))
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name=f"depolarize_to_{step}")
    for s, p in enumerate(schedule.betas[:step], start=1):
        if realisation == "kraus":
            circuit.append(depolarizing_kraus(float(p), n).to_instruction(), range(n))
        else:
            circuit.append(UnitaryGate(np.eye(2**n), label=f"{NOISE_MARKER_PREFIX}{s}"), range(n))
    return describe(
        circuit,
        builder="depolarizing_circuit",
        arguments={
            "num_qubits": n,
            "schedule": _schedule_args(schedule),
            "step": step,
            "realisation": realisation,
        },
        roles={},
    )


def depolarizing_noise_model(*, num_qubits: int, schedule: NoiseSchedule) -> NoiseModel:
    """An Aer noise model attaching step ``s``'s channel to gates labelled ``depolarize_s``."""
    from qiskit_aer.noise import NoiseModel, depolarizing_error  # simulator side, on demand

    n = _check_channel_width(num_qubits)
    _check_schedule(schedule)
    model = NoiseModel()
    for s, p in enumerate(schedule.betas, start=1):
        # On whichever n qubits the marker sits, not only 0..n-1.
        error = depolarizing_error(float(p), n)
        model.add_all_qubit_quantum_error(error, f"{NOISE_MARKER_PREFIX}{s}")
    return model


def amplitude_damping_circuit(
    *, num_qubits: int, schedule: NoiseSchedule, step: int
) -> QuantumCircuit:
    """Apply amplitude damping with ``gamma_s = p_s`` to every qubit for steps ``1..step``."""
    n = check_qubits("num_qubits", num_qubits)
    _check_schedule(schedule)
    schedule.check_step(step)
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name=f"amplitude_damp_to_{step}")
    for p in schedule.betas[:step]:
        channel = Kraus(list(amplitude_damping_kraus(float(p)))).to_instruction()
        for qubit in range(n):
            circuit.append(channel, [qubit])
    return describe(
        circuit,
        builder="amplitude_damping_circuit",
        arguments={"num_qubits": n, "schedule": _schedule_args(schedule), "step": step},
        roles={},
    )


def scrambling_layer(*, num_qubits: int, prefix: str = "scramble") -> QuantumCircuit:
    """One QuDDPM scrambling step with bindable angles (draw them with :func:`scrambling_angles`).

    ``RZ RY RZ`` per qubit (``3n`` angles) then ``RZZ`` on every pair (``n(n-1)/2`` angles), in
    the vector ``prefix``. Binding different angles per sample scrambles an ensemble through one
    transpiled circuit.
    """
    n = check_qubits("num_qubits", num_qubits)
    check_prefix("prefix", prefix)
    pairs = list(itertools.combinations(range(n), 2))
    angles = ParameterVector(prefix, 3 * n + len(pairs))
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name="scrambling_layer")
    for qubit in range(n):
        circuit.rz(angles[3 * qubit], qubit)
        circuit.ry(angles[3 * qubit + 1], qubit)
        circuit.rz(angles[3 * qubit + 2], qubit)
    for k, (a, b) in enumerate(pairs):
        circuit.rzz(angles[3 * n + k], a, b)
    return describe(
        circuit,
        builder="scrambling_layer",
        arguments={"num_qubits": n, "prefix": prefix},
        roles={prefix: INPUT},
        vectors=[angles],
    )


def scrambling_angles(
    *, num_qubits: int, strength: float, size: int, seed: int | np.random.Generator
) -> np.ndarray:
    """Draw ``size`` sets of :func:`scrambling_layer` angles at scrambling ``strength``.

    Returns shape ``(size, 3n + n(n-1)/2)``: single-qubit angles uniform in
    ``[-pi/8, pi/8] * strength``; pair angles ``g / (2 sqrt(n))`` with ``g`` uniform in
    ``[0.4, 0.6] * strength`` (QuDDPM, ``scrambleCircuitMultiQubit``).
    """
    n = check_qubits("num_qubits", num_qubits)
    rng = _generator(seed)
    single = rng.uniform(-np.pi / 8, np.pi / 8, size=(size, 3 * n)) * strength
    pairs = rng.uniform(0.4, 0.6, size=(size, n * (n - 1) // 2)) * strength / (2 * np.sqrt(n))
    return np.concatenate([single, pairs], axis=1)


def scrambling_circuit(
    *,
    num_qubits: int,
    schedule: NoiseSchedule,
    step: int,
    seed: int,
    max_strength: float = 4.0,
) -> QuantumCircuit:
    """Scramble for steps ``1..step`` with strengths ``max_strength * p_s`` (numeric, seeded).

    The same ``seed`` gives the same circuit. For an ensemble, bind :func:`scrambling_angles`
    into :func:`scrambling_layer` instead.
    """
    n = check_qubits("num_qubits", num_qubits)
    _check_schedule(schedule)
    schedule.check_step(step)
    rng = _generator(seed)
    circuit = QuantumCircuit(QuantumRegister(n, "q"), name=f"scramble_to_{step}")
    for s, p in enumerate(schedule.betas[:step], start=1):
        layer = scrambling_layer(num_qubits=n, prefix=f"s{s}")
        values = scrambling_angles(num_qubits=n, strength=max_strength * p, size=1, seed=rng)[0]
        circuit.compose(layer.assign_parameters(values), inplace=True)
    return describe(
        circuit,
        builder="scrambling_circuit",
        arguments={
            "num_qubits": n,
            "schedule": _schedule_args(schedule),
            "step": step,
            "seed": seed,
            "max_strength": max_strength,
        },
        roles={},
    )


def _generator(seed: object) -> np.random.Generator:
    """A generator from an explicit seed: ``None`` would mean hidden, unrecorded randomness."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r}")
    return np.random.default_rng(seed)


def _check_schedule(schedule: object) -> None:
    if not isinstance(schedule, NoiseSchedule):
        raise ConfigError(
            "schedule must be a NoiseSchedule (in a config, a table of its fields), "
            f"got {schedule!r}"
        )


def _check_channel_width(num_qubits: int) -> int:
    n = check_qubits("num_qubits", num_qubits)
    if n > MAX_CHANNEL_QUBITS:
        raise ConfigError(
            f"a global channel on {n} qubits needs 4^{n} Kraus operators; "
            f"at most {MAX_CHANNEL_QUBITS} qubits are supported"
        )
    return n


def _schedule_args(schedule: NoiseSchedule) -> dict[str, object]:
    from qdm_qiskit.options import options_to_dict

    return options_to_dict(schedule)
