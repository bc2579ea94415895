"""The ``qdm build`` configuration: which circuits to build, and for which target.

A TOML (or JSON) file::

    target = "fake:FakeFez"            # optional; the CLI's --target overrides it

    [transpile]                        # optional TranspileOptions
    optimization_level = 2
    seed_transpiler = 0

    [[circuits]]
    name = "denoiser"                  # file name stem under the output directory
    builder = "denoising_circuit"
    [circuits.arguments]
    num_data_qubits = 2
    num_ancillas = 1
    layers = 6
    steps = 20
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qdm_qiskit.circuits.registry import BUILDERS
from qdm_qiskit.circuits.transpile import TranspileOptions
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.options import did_you_mean, options_from_dict, read_config_file

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class CircuitSpec:
    """One circuit of a build.

    Attributes:
        name: output file stem (letters, digits, ``_ . -``), unique within the build.
        builder: a key of :data:`qdm_qiskit.circuits.registry.BUILDERS`.
        arguments: keyword arguments of the builder.
    """

    name: str
    builder: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(f"circuit name {self.name!r} must be letters, digits, '_', '.', '-'")
        if self.builder not in BUILDERS:
            hint = did_you_mean(str(self.builder), BUILDERS)
            raise ConfigError(f"circuit {self.name!r}: unknown builder {self.builder!r}{hint}")
        if not isinstance(self.arguments, Mapping):
            raise ConfigError(f"circuit {self.name!r}: arguments must be a table")


@dataclass(frozen=True)
class BuildConfig:
    """A set of circuits to build, optionally transpiled for one target.

    Attributes:
        circuits: the circuits, at least one.
        target: execution target (``aer``, ``aer:<fake>``, ``fake:<fake>``, ``ibm:<backend>``).
        transpile: transpilation options.
    """

    circuits: tuple[CircuitSpec, ...]
    target: str | None = None
    transpile: TranspileOptions = field(default_factory=TranspileOptions)

    def __post_init__(self) -> None:
        if not self.circuits:
            raise ConfigError("a build config needs at least one [[circuits]] entry")
        names = [spec.name for spec in self.circuits]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"circuit names must be unique: {', '.join(duplicates)}")


def parse_build_config(data: Mapping[str, Any], *, source: str = "config") -> BuildConfig:
    """Validate a mapping (parsed TOML/JSON) into a :class:`BuildConfig`."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a table at the top level")
    known = {"circuits", "target", "transpile"}
    for key in data:
        if key not in known:
            raise ConfigError(
                f"{source}: unknown section {key!r}; known: {', '.join(sorted(known))}"
            )
    entries = data.get("circuits", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: 'circuits' must be a list of tables ([[circuits]])")
    specs = tuple(
        options_from_dict(CircuitSpec, entry, context=f"{source}: circuits[{i}]")
        for i, entry in enumerate(entries)
    )
    transpile = options_from_dict(
        TranspileOptions, data.get("transpile", {}), context=f"{source}: transpile"
    )
    target = data.get("target")
    if target is not None and not isinstance(target, str):
        raise ConfigError(f"{source}: target must be a string such as 'fake:FakeFez'")
    try:
        return BuildConfig(circuits=specs, target=target, transpile=transpile)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc


def load_build_config(path: str | Path) -> BuildConfig:
    """Read a TOML (``.toml``) or JSON (``.json``) build config.

    Raises:
        ConfigError: unreadable file or invalid content, naming the file.
    """
    data = read_config_file(path, kind="config", described="a build config")
    return parse_build_config(data, source=str(path))
