"""The Trotterized XXZ quantum reservoir: forward evolution for t_f, backward for tau_b.

From the talk "Quantum Diffusion Models for HEP" (seed 000): an XXZ Heisenberg chain
``H0 = sum_i X_i X_{i+1} + Y_i Y_{i+1} + Delta Z_i Z_{i+1}`` on the ``n`` input qubits and on the
``m`` ancillas, coupled through the last input qubit and the first ancilla:
``H = H0 (x) I + I (x) H0 + lambda H_int`` with ``H_int`` the same XXZ bond on (input n, ancilla 1).

The circuit evolves forward with ``H`` for the parameter ``t_f`` and backward for the parameter
``tau_b`` with the *uncoupled* chains (``backward_coupling = 0`` by default): that is the reading
under which the talk's trivial case holds, ``lambda = 0`` and ``tau_b = t_f`` give back the input
exactly; with ``lambda > 0`` information leaks into the ancillas and the input is reconstructed
only approximately. Qubits ``0..n-1`` are the inputs, ``n..n+m-1`` the ancillas.
"""

from __future__ import annotations

from functools import partial
from typing import Literal

import numpy as np
from qiskit import QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.quantum_info import SparsePauliOp
from qiskit.synthesis import LieTrotter, SuzukiTrotter
from scipy.linalg import expm

from qdm_qiskit.circuits._naming import INPUT, check_choice, check_count, check_qubits, describe
from qdm_qiskit.errors import ConfigError

Boundary = Literal["open", "periodic"]


def xxz_bonds(num_qubits: int, boundary: Boundary, offset: int = 0) -> list[tuple[int, int]]:
    """Nearest-neighbour bonds of a chain on qubits ``offset..offset+num_qubits-1``.

    ``periodic`` closes the chain with ``(last, first)`` when it has more than two sites (with
    two sites that bond already exists).
    """
    bonds = [(offset + i, offset + i + 1) for i in range(num_qubits - 1)]
    if boundary == "periodic" and num_qubits > 2:
        bonds.append((offset + num_qubits - 1, offset))
    return bonds


def _xxz_terms(bonds: list[tuple[int, int]], delta: float, scale: float = 1.0) -> list:
    return [
        (label, [a, b], scale * coeff)
        for a, b in bonds
        for label, coeff in (("XX", 1.0), ("YY", 1.0), ("ZZ", delta))
    ]


def xxz_hamiltonian(*, num_qubits: int, delta: float, boundary: Boundary = "open") -> SparsePauliOp:
    """``H0 = sum_i X_i X_{i+1} + Y_i Y_{i+1} + Delta Z_i Z_{i+1}`` on one chain."""
    n = check_qubits("num_qubits", num_qubits)
    check_choice("boundary", boundary, ("open", "periodic"))
    _check_finite("delta", delta)
    terms = _xxz_terms(xxz_bonds(n, boundary), delta)
    if not terms:
        return SparsePauliOp("I" * n, coeffs=[0.0])
    return SparsePauliOp.from_sparse_list(terms, num_qubits=n).simplify()


def reservoir_hamiltonian(
    *,
    num_inputs: int,
    num_ancillas: int,
    delta: float,
    coupling: float,
    boundary: Boundary = "open",
) -> SparsePauliOp:
    """``H = H0 (x) I + I (x) H0 + lambda H_int`` on inputs then ancillas.

    Raises:
        ConfigError: for invalid sizes or non-finite ``delta``/``coupling``.
    """
    n = check_qubits("num_inputs", num_inputs)
    m = check_qubits("num_ancillas", num_ancillas, minimum=0)
    check_choice("boundary", boundary, ("open", "periodic"))
    _check_finite("delta", delta)
    _check_finite("coupling", coupling)
    terms = _xxz_terms(xxz_bonds(n, boundary), delta)
    terms += _xxz_terms(xxz_bonds(m, boundary, offset=n), delta)
    if m and coupling:
        terms += _xxz_terms([(n - 1, n)], delta, scale=coupling)
    if not terms:
        return SparsePauliOp("I" * (n + m), coeffs=[0.0])
    return SparsePauliOp.from_sparse_list(terms, num_qubits=n + m).simplify()


def _check_finite(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def total_magnetization(num_qubits: int) -> SparsePauliOp:
    """``M = sum_i Z_i``, conserved by every XXZ chain."""
    return SparsePauliOp.from_sparse_list([("Z", [i], 1.0) for i in range(num_qubits)], num_qubits)


def reservoir_circuit(
    *,
    num_inputs: int,
    num_ancillas: int,
    delta: float = 1.0,
    coupling: float = 0.7,
    trotter_steps: int = 10,
    order: Literal[1, 2] = 1,
    boundary: Boundary = "open",
    backward_coupling: float = 0.0,
    backward_steps: int | None = None,
) -> QuantumCircuit:
    """Forward evolution ``exp(-i H t_f)`` then backward ``exp(+i H_b tau_b)``, Trotterized.

    The backward block is the adjoint of the forward-style Trotter product of ``H_b`` (terms in
    reverse order), so with ``coupling == backward_coupling`` and ``tau_b == t_f`` the circuit is
    the identity exactly, for any ``trotter_steps``.

    Each evolution is a :class:`~qiskit.circuit.library.PauliEvolutionGate` synthesised with
    ``trotter_steps`` repetitions of Lie-Trotter (``order=1``) or second-order Suzuki-Trotter
    (``order=2``) and expanded into that product of RXX, RYY and RZZ rotations, so every
    simulator and device runs the Trotterized evolution (compare with
    :func:`exact_reservoir_unitary` to measure the Trotter error). ``H_b`` is the
    reservoir Hamiltonian with ``backward_coupling`` in place of ``coupling``;
    ``backward_steps`` (default ``trotter_steps``) sets the backward product's own step count,
    so that a fine forward evolution can be undone with a coarse digital step. Parameters:
    ``t_f`` and ``tau_b`` (inputs, bound per run); no weights.

    Example:
        >>> qc = reservoir_circuit(num_inputs=3, num_ancillas=2, coupling=0.7, trotter_steps=4)
        >>> sorted(p.name for p in qc.parameters)
        ['t_f', 'tau_b']
    """
    steps = check_count("trotter_steps", trotter_steps)
    back_steps = steps if backward_steps is None else check_count("backward_steps", backward_steps)
    if order not in (1, 2):
        raise ConfigError(f"order must be 1 (Lie-Trotter) or 2 (Suzuki-Trotter), got {order!r}")
    chain = partial(reservoir_hamiltonian, num_inputs=num_inputs, num_ancillas=num_ancillas,
                    delta=delta, boundary=boundary)  # fmt: skip
    forward, backward = chain(coupling=coupling), chain(coupling=backward_coupling)

    def synthesis(reps: int) -> LieTrotter:
        return LieTrotter(reps=reps) if order == 1 else SuzukiTrotter(order=2, reps=reps)

    t_f, tau_b = Parameter("t_f"), Parameter("tau_b")
    inputs = QuantumRegister(num_inputs, "input")
    circuit = QuantumCircuit(inputs, name="xxz_reservoir")
    if num_ancillas:
        circuit.add_register(QuantumRegister(num_ancillas, "anc"))
    circuit.append(
        PauliEvolutionGate(forward, time=t_f, synthesis=synthesis(steps)), circuit.qubits
    )
    # Backward evolution: the adjoint of the forward-style Trotter product of H_b, i.e. the same
    # terms in reverse order with negated angles. Reversing the order makes the trivial case
    # (lambda = 0, tau_b = t_f) exact for any number of Trotter steps, as time reversal on a
    # digital device should; a same-order product would add the two Trotter errors instead.
    backward_block = QuantumCircuit(circuit.qubits)
    backward_block.append(PauliEvolutionGate(backward, time=tau_b, synthesis=synthesis(back_steps)),
                          backward_block.qubits)  # fmt: skip
    circuit.compose(_trotter_product(backward_block).inverse(), inplace=True)
    circuit = _trotter_product(circuit)
    return describe(
        circuit,
        builder="reservoir_circuit",
        arguments={
            "num_inputs": num_inputs,
            "num_ancillas": num_ancillas,
            "delta": delta,
            "coupling": coupling,
            "trotter_steps": steps,
            "order": order,
            "boundary": boundary,
            "backward_coupling": backward_coupling,
            "backward_steps": back_steps,
        },
        roles={"t_f": INPUT, "tau_b": INPUT},
    )


def _trotter_product(circuit: QuantumCircuit) -> QuantumCircuit:
    """Expand evolution gates into their Trotter product of RXX, RYY and RZZ rotations.

    Left as a PauliEvolutionGate, a simulator may use the exact matrix exponential instead.
    """
    return circuit.decompose(gates_to_decompose=["PauliEvolution"])


def exact_reservoir_unitary(
    *,
    num_inputs: int,
    num_ancillas: int,
    delta: float,
    coupling: float,
    t_f: float,
    tau_b: float,
    boundary: Boundary = "open",
    backward_coupling: float = 0.0,
) -> np.ndarray:
    """``exp(+i H_b tau_b) exp(-i H t_f)`` by matrix exponentials: no Trotter error."""
    chain = partial(reservoir_hamiltonian, num_inputs=num_inputs, num_ancillas=num_ancillas,
                    delta=delta, boundary=boundary)  # fmt: skip
    forward = chain(coupling=coupling).to_matrix()
    backward = chain(coupling=backward_coupling).to_matrix()
    return expm(1j * backward * tau_b) @ expm(-1j * forward * t_f)


def unitary_infidelity(u: np.ndarray, v: np.ndarray) -> float:
    """``1 - |Tr(U^dagger V)|^2 / d^2``: zero iff the unitaries agree up to a global phase."""
    d = u.shape[0]
    return float(1.0 - abs(np.trace(u.conj().T @ v)) ** 2 / d**2)
