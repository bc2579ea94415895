"""Conventions shared by the builders: argument checks and the metadata every circuit carries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector

from qdm_qiskit.errors import ConfigError

#: Roles of named parameter vectors, recorded in ``circuit.metadata["parameter_roles"]``:
#: ``weight`` (trained), ``input`` (bound per sample: data, time angles, labels).
WEIGHT, INPUT = "weight", "input"

#: Generous upper bounds that keep a typo (``num_qubits = 1000000``) from exhausting memory.
MAX_QUBITS = 1024
MAX_REPETITIONS = 100_000

#: Label prefix of identity gates that carry simulated noise (``depolarizing_noise_model``):
#: simulator-only, refused by ``transpile_isa``.
NOISE_MARKER_PREFIX = "depolarize_"

_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_count(
    name: str, value: object, *, minimum: int = 1, maximum: int = MAX_REPETITIONS
) -> int:
    """Return ``value`` if it is an integer in ``[minimum, maximum]``, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be an integer in [{minimum}, {maximum}], got {value!r}")
    return value


def check_qubits(name: str, value: object, *, minimum: int = 1, maximum: int = MAX_QUBITS) -> int:
    """Like :func:`check_count`, with the qubit-count bound."""
    return check_count(name, value, minimum=minimum, maximum=maximum)


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool (a config's ``"no"`` must not count as true)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def check_prefix(name: str, value: object) -> str:
    """Return ``value`` if it is a valid parameter-vector name (a letter, then letters/digits/_)."""
    if not isinstance(value, str) or not _PREFIX.match(value):
        raise ConfigError(f"{name} must be a name such as 'theta', got {value!r}")
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
