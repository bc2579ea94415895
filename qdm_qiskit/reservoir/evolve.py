"""The reservoir's forward-then-backward evolution, by three routes that prepare the same state.

* :func:`evolve_exact`: matrix exponentials through the eigendecomposition of ``H`` (no Trotter
  error; exact to round-off).
* :func:`evolve_trotter`: the Trotterized :func:`~qdm_qiskit.circuits.reservoir_circuit` run on
  the torch statevector engine in double precision.
* :func:`reservoir_measurement_circuit`: the whole experiment as one circuit (encoding, ancilla
  preparation, the Trotterized evolution, measurement of the inputs), for any target.

Qubits ``0..n-1`` are the inputs, ``n..n+m-1`` the ancillas, so a full state is
``kron(ancilla_state, psi)`` and its array reshapes to ``(2^m, 2^n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from qiskit import ClassicalRegister, QuantumCircuit

from qdm_qiskit.circuits.reservoir import reservoir_circuit, reservoir_hamiltonian
from qdm_qiskit.engine import CompiledCircuit
from qdm_qiskit.reservoir.config import EngineConfig, ReservoirConfig


@dataclass(frozen=True)
class ReducedInputs:
    """What the experiment keeps of the final states: the input register.

    Attributes:
        distributions: ``(K, 2^n)`` computational-basis distributions of the reduced states.
        fidelities: ``(K,)`` ``<psi_k| rho_k |psi_k>`` (``None`` when only counts exist).
    """

    distributions: np.ndarray
    fidelities: np.ndarray | None


def ancilla_vector(state: str, num_ancillas: int) -> np.ndarray:
    """The ancillas' initial state vector on ``2^m`` amplitudes (ancilla 0 the low bit)."""
    single = {
        "zero": lambda j: np.array([1.0, 0.0]),
        "one": lambda j: np.array([0.0, 1.0]),
        "plus": lambda j: np.array([1.0, 1.0]) / np.sqrt(2.0),
        "neel": lambda j: np.array([0.0, 1.0]) if j % 2 else np.array([1.0, 0.0]),
    }[state]
    vector = np.ones(1, dtype=np.complex128)
    for j in range(num_ancillas):
        vector = np.kron(single(j), vector)
    return vector


def initial_states(inputs: np.ndarray, reservoir: ReservoirConfig) -> np.ndarray:
    """``(K, 2^(n+m))`` product states ``|anc> (x) |psi_k>``."""
    ancillas = ancilla_vector(reservoir.ancilla_state, reservoir.num_ancillas)
    return (ancillas[None, :, None] * inputs[:, None, :]).reshape(len(inputs), -1)


def reduce_to_inputs(final: np.ndarray, inputs: np.ndarray) -> ReducedInputs:
    """Trace out the ancillas of final states ``(K, 2^(n+m))``; compare with ``inputs``."""
    blocks = final.reshape(len(final), -1, inputs.shape[1])  # (K, 2^m, 2^n)
    distributions = np.sum(np.abs(blocks) ** 2, axis=1)
    overlaps = np.einsum("kx,kax->ka", inputs.conj(), blocks)
    fidelities = np.sum(np.abs(overlaps) ** 2, axis=1)
    return ReducedInputs(distributions, fidelities)


def _evolve_eigh(hamiltonian: np.ndarray, states: np.ndarray, time: float) -> np.ndarray:
    """``exp(-i H time)`` applied to row states, via ``H = V diag(E) V^dagger``."""
    energies, vectors = np.linalg.eigh(hamiltonian)
    coefficients = states @ vectors.conj()  # rows: V^dagger psi
    return (coefficients * np.exp(-1j * energies * time)) @ vectors.T


def evolve_exact(
    inputs: np.ndarray, reservoir: ReservoirConfig, engine: EngineConfig
) -> ReducedInputs:
    """Forward for ``t_f`` under ``H`` by exact exponentials, then the backward step.

    In the ``duration`` reading the backward step is exact too. In the ``time_step`` reading it
    is the digital Trotter product with step ``tau_b`` over ``t_f`` (``engine.order``), applied
    exactly: the forward evolution stands for an analog device, the backward for a digital one.
    """
    chain = {
        "num_inputs": inputs.shape[1].bit_length() - 1,
        "num_ancillas": reservoir.num_ancillas,
        "delta": reservoir.delta,
        "boundary": reservoir.boundary,
    }
    forward = reservoir_hamiltonian(coupling=reservoir.coupling, **chain).to_matrix()
    states = _evolve_eigh(forward, initial_states(inputs, reservoir), reservoir.t_f)
    if reservoir.reading == "time_step":
        circuit = trotter_circuit(chain["num_inputs"], reservoir, engine, forward_steps=1)
        states = _run_circuit(circuit, states, t_f=0.0, tau_b=reservoir.t_f)
    else:
        same = reservoir.backward_coupling == reservoir.coupling
        backward = (
            forward
            if same
            else reservoir_hamiltonian(coupling=reservoir.backward_coupling, **chain).to_matrix()
        )
        states = _evolve_eigh(backward, states, -reservoir.tau_b)
    return reduce_to_inputs(states, inputs)


def trotter_circuit(
    num_inputs: int,
    reservoir: ReservoirConfig,
    engine: EngineConfig,
    *,
    forward_steps: int | None = None,
) -> QuantumCircuit:
    """The Trotterized evolution with parameters ``t_f`` and ``tau_b``.

    The forward product has ``engine.trotter_steps`` steps; the backward product as many in the
    ``duration`` reading and ``round(t_f / tau_b)`` in the ``time_step`` reading (bind
    ``tau_b`` to :attr:`ReservoirConfig.backward_time`).
    """
    steps = engine.trotter_steps if forward_steps is None else forward_steps
    return reservoir_circuit(
        num_inputs=num_inputs,
        num_ancillas=reservoir.num_ancillas,
        delta=reservoir.delta,
        coupling=reservoir.coupling,
        trotter_steps=steps,
        order=engine.order,  # type: ignore[arg-type]
        boundary=reservoir.boundary,
        backward_coupling=reservoir.backward_coupling,
        backward_steps=reservoir.backward_steps if reservoir.reading == "time_step" else steps,
    )


def _run_circuit(
    circuit: QuantumCircuit, states: np.ndarray, *, t_f: float, tau_b: float
) -> np.ndarray:
    """Run the reservoir circuit on row states with the torch engine (complex128, CPU)."""
    compiled = CompiledCircuit(circuit, dtype=torch.complex128, device="cpu")
    times = {"t_f": t_f, "tau_b": tau_b}
    rows = [[times[name] for name in compiled.input_names]] * len(states)
    values = torch.tensor(rows, dtype=torch.float64)
    with torch.no_grad():
        weights = torch.zeros(compiled.num_weights, dtype=torch.float64)
        return compiled(weights, values, torch.from_numpy(states)).numpy()


def evolve_trotter(
    inputs: np.ndarray, reservoir: ReservoirConfig, engine: EngineConfig
) -> ReducedInputs:
    """The Trotterized circuit, forward and backward, on the torch engine."""
    circuit = trotter_circuit(inputs.shape[1].bit_length() - 1, reservoir, engine)
    start = initial_states(inputs, reservoir)
    final = _run_circuit(circuit, start, t_f=reservoir.t_f, tau_b=reservoir.backward_time)
    return reduce_to_inputs(final, inputs)


def reservoir_measurement_circuit(
    encoding: QuantumCircuit, reservoir: ReservoirConfig, engine: EngineConfig
) -> QuantumCircuit:
    """Encode the input, prepare the ancillas, evolve, measure the inputs into ``meas``.

    ``t_f`` and ``tau_b`` are bound; the free parameters are the encoder's, so per-state values
    come straight from :class:`~qdm_qiskit.reservoir.inputs.InputStates`.
    """
    n, m = encoding.num_qubits, reservoir.num_ancillas
    evolution = trotter_circuit(n, reservoir, engine)
    times = {"t_f": reservoir.t_f, "tau_b": reservoir.backward_time}
    times = {p: times[p.name] for p in evolution.parameters}
    circuit = QuantumCircuit(*evolution.qregs, ClassicalRegister(n, "meas"), name="reservoir")
    circuit.compose(encoding, qubits=range(n), inplace=True)
    for j in range(m):
        if reservoir.ancilla_state == "one" or (reservoir.ancilla_state == "neel" and j % 2):
            circuit.x(n + j)
        elif reservoir.ancilla_state == "plus":
            circuit.h(n + j)
    circuit.compose(evolution.assign_parameters(times), inplace=True)
    circuit.measure(range(n), range(n))
    circuit.metadata = {"builder": "reservoir_measurement_circuit"}
    return circuit
