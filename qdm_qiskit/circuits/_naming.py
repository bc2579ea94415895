"""Conventions shared by the builders: size validation and the metadata every circuit carries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qdm_qiskit.errors import ConfigError

#: Roles of named parameter vectors, recorded in ``circuit.metadata["parameter_roles"]``:
#: ``weight`` (trained), ``input`` (bound per sample: data, time angles, labels).
WEIGHT, INPUT = "weight", "input"


def check_count(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an integer >= ``minimum``, else raise :class:`ConfigError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`ConfigError`."""
    options = tuple(choices)
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return str(value)


def describe(
    circuit: QuantumCircuit,
    *,
    builder: str,
    arguments: Mapping[str, Any],
    roles: Mapping[str, str],
    vectors: Iterable[ParameterVector] = (),
) -> QuantumCircuit:
    """Attach the builder's record to ``circuit.metadata`` and return the circuit.

    The metadata says which builder made the circuit with which arguments, the role of each
    parameter vector, and the number of trainable (weight) parameters.
    """
    sizes = {vector.name: len(vector) for vector in vectors}
    circuit.metadata = {
        "builder": builder,
        "arguments": dict(arguments),
        "parameter_roles": dict(roles),
        "num_weights": sum(sizes.get(name, 0) for name, role in roles.items() if role == WEIGHT),
    }
    return circuit
