"""Builders by name, for configs: ``build_circuit("denoising_circuit", {...})``.

Arguments are checked against the builder's signature before the call, so an unknown or missing
argument is reported by name (with a close-match suggestion) rather than as a TypeError.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from qiskit import QuantumCircuit

from qdm_qiskit.circuits.ansatz import hardware_efficient_ansatz, strongly_entangling_ansatz
from qdm_qiskit.circuits.denoiser import denoising_circuit
from qdm_qiskit.circuits.encoding import amplitude_encoding, angle_encoding, label_encoding
from qdm_qiskit.circuits.noise import (
    amplitude_damping_circuit,
    depolarizing_circuit,
    scrambling_circuit,
    scrambling_layer,
)
from qdm_qiskit.circuits.reservoir import reservoir_circuit
from qdm_qiskit.circuits.reupload import reuploading_denoiser
from qdm_qiskit.diffusion.schedules import NoiseSchedule
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.options import did_you_mean, options_from_dict

BUILDERS: dict[str, Callable[..., QuantumCircuit]] = {
    builder.__name__: builder
    for builder in (
        angle_encoding,
        amplitude_encoding,
        label_encoding,
        hardware_efficient_ansatz,
        strongly_entangling_ansatz,
        denoising_circuit,
        reuploading_denoiser,
        depolarizing_circuit,
        amplitude_damping_circuit,
        scrambling_layer,
        scrambling_circuit,
        reservoir_circuit,
    )
}


def build_circuit(builder: str, arguments: Mapping[str, Any]) -> QuantumCircuit:
    """Call builder ``builder`` with ``arguments`` from a config.

    A ``schedule`` argument may be a table of :class:`NoiseSchedule` fields.

    Raises:
        ConfigError: unknown builder, unknown/missing argument, or an invalid value.
    """
    function = BUILDERS.get(builder)
    if function is None:
        raise ConfigError(
            f"unknown builder {builder!r}{did_you_mean(builder, BUILDERS)}; "
            f"known: {', '.join(BUILDERS)}"
        )
    signature = inspect.signature(function)
    names = list(signature.parameters)
    for key in arguments:
        if key not in signature.parameters:
            raise ConfigError(f"{builder}: unknown argument {key!r}{did_you_mean(key, names)}")
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.default is inspect.Parameter.empty and name not in arguments
    ]
    if missing:
        raise ConfigError(f"{builder}: missing argument(s) {', '.join(missing)}")
    values = {key: _convert(key, value) for key, value in arguments.items()}
    try:
        return function(**values)
    except ConfigError as exc:
        raise ConfigError(f"{builder}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{builder}: {exc}") from exc


def _convert(key: str, value: Any) -> Any:
    if key == "schedule" and isinstance(value, Mapping):
        return options_from_dict(NoiseSchedule, value, context="schedule")
    if isinstance(value, list):
        return tuple(value)
    return value
