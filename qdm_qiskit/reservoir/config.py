"""Typed, validated configuration of a reservoir reverse-time experiment.

A config file (TOML or JSON) has three sections; unknown fields are rejected with a suggestion::

    [inputs]            # which states |psi_k> enter the reservoir
    source = "histogram" # jets | histogram | gaussian | bimodal | exponential | cluster | ...
    num_qubits = 4

    [reservoir]         # the XXZ chain and the evolution times (seed 000's talk)
    num_ancillas = 2
    delta = 1.0
    coupling = 0.7      # lambda
    t_f = 15.0
    tau_b = 0.1
    backward = "inputs" # which Hamiltonian the backward step uses: inputs (H0) | full (H)
    reading = "duration" # tau_b is the backward time | the backward Trotter step over t_f

    [engine]
    name = "exact"      # exact | trotter | a job-manager target (aer, aer:FakeManilaV2, ibm:...)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from qdm_qiskit.data.observables import OBSERVABLES
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.mitigation import PRESETS
from qdm_qiskit.jobs.targets import parse_target
from qdm_qiskit.models.config import (
    RunSections,
    _choice,
    _integer,
    _positive,
    sections_from_dict,
)
from qdm_qiskit.options import read_config_file

#: Per-jet states; histograms of jet observables; textbook distributions (amplitude-encoded
#: histograms with seeded random parameters); quantum-state ensembles.
DISTRIBUTIONS = ("gaussian", "bimodal", "exponential")
ENSEMBLES = ("cluster", "circle", "haar")
SOURCES = ("jets", "histogram", *DISTRIBUTIONS, *ENSEMBLES)
READINGS = ("duration", "time_step")
FEATURES = ("observables", "image", "latents")
ANCILLA_STATES = ("zero", "one", "plus", "neel")
BACKWARD = ("inputs", "full")
LOCAL_ENGINES = ("exact", "trotter")
#: Observables angle-encoded by default, one per qubit, in this order: the shape variables that
#: separate quark from gluon jets come first.
DEFAULT_OBSERVABLES = ("ptd", "girth", "multiplicity", "mass", "lambda_half", "lambda_1", "pt")


def _finite(name: str, value: object, minimum: float = -math.inf) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < minimum
    ):
        bound = "" if minimum == -math.inf else f" >= {minimum:g}"
        raise ConfigError(f"{name} must be a finite number{bound}, got {value!r}")


@dataclass(frozen=True)
class InputsConfig:
    """The input states ``|psi_k>`` on ``num_qubits`` qubits.

    Attributes:
        source: what each state encodes. ``jets``: one jet per state (``features``,
            ``encoding``). ``histogram``: the distribution of one jet observable per state, as a
            ``2^n``-bin histogram over the jets whose square roots are the amplitudes (the state
            *is* the data distribution; one state per name in ``observables``). ``gaussian``,
            ``bimodal``, ``exponential``: ``count`` textbook distributions with seeded random
            parameters, discretised on ``2^n`` bins of ``[0, 1]`` and encoded the same way.
            ``cluster`` (states near ``|0...0>``), ``circle`` (real product states on the Bloch
            great circle) or ``haar`` (Haar-random states): quantum-state ensembles.
        path: jets file: ``sample`` (the shipped jets) or an EnergyFlow ``.npz``.
        features: jets only. ``observables`` (jet observables, one per qubit), ``image``
            (``2^n`` pixels of a jet image, ``n`` even) or ``latents`` (PCA latents of 8x8 images).
        encoding: jets only. ``angle``: feature ``x`` min-max scaled over the jets to ``[0, 1]``
            becomes ``RY(pi x)`` on its qubit. ``amplitude``: ``2^n`` values become the amplitudes
            (``sqrt`` of the pixel intensities for images, so the measured distribution is the
            image; signed latents normalised).
        observables: names for ``features = "observables"`` (default: the first ``n`` of
            :data:`DEFAULT_OBSERVABLES`) or, for ``histogram``, the observables whose
            distributions are encoded (default: the first four).
        label: ``all``, ``quark`` or ``gluon`` jets.
        count: number of input states ``K`` (not for ``histogram``).
        scale: spread of the ``cluster`` ensemble.
        seed: which jets are drawn, or the textbook draws.
    """

    source: str = "histogram"
    path: str = "sample"
    features: Literal["observables", "image", "latents"] = "observables"
    encoding: Literal["angle", "amplitude"] = "angle"
    observables: tuple[str, ...] = ()
    label: Literal["all", "quark", "gluon"] = "all"
    num_qubits: int = 4
    count: int = 100
    scale: float = 0.08
    seed: int = 0

    def __post_init__(self) -> None:
        _choice("inputs.source", self.source, SOURCES)
        _choice("inputs.features", self.features, FEATURES)
        _choice("inputs.encoding", self.encoding, ("angle", "amplitude"))
        _choice("inputs.label", self.label, ("all", "quark", "gluon"))
        _integer("inputs.num_qubits", self.num_qubits, 1, 12)
        _integer("inputs.count", self.count, 1, 1_000_000)
        _positive("inputs.scale", self.scale)
        _integer("inputs.seed", self.seed, 0, 2**32 - 1)
        if not isinstance(self.path, str) or not self.path:
            raise ConfigError(f"inputs.path must be 'sample' or a file path, got {self.path!r}")
        for name in self.observables:
            _choice("inputs.observables", name, OBSERVABLES)
        if self.source != "jets":
            return
        n = self.num_qubits
        if self.features == "observables":
            if self.encoding == "amplitude":
                raise ConfigError(
                    "inputs: observables are angle-encoded (one per qubit); for amplitude "
                    "encoding use features = 'image' or 'latents'"
                )
            if len(self.observable_names) != n:
                raise ConfigError(
                    f"inputs.observables: {n} qubits need {n} observables, got "
                    f"{len(self.observable_names)} ({', '.join(self.observable_names)})"
                )
        if self.features == "image" and (self.encoding != "amplitude" or n % 2):
            raise ConfigError(
                "inputs: jet images are amplitude-encoded on an even number of qubits "
                f"(2^n pixels, npix = 2^(n/2)); got encoding = {self.encoding!r}, "
                f"num_qubits = {n}"
            )

    @property
    def observable_names(self) -> tuple[str, ...]:
        """The observables encoded: one per qubit (jets) or one per state (histogram)."""
        if self.observables:
            return self.observables
        return DEFAULT_OBSERVABLES[: 4 if self.source == "histogram" else self.num_qubits]


@dataclass(frozen=True)
class ReservoirConfig:
    """The XXZ reservoir: chain, coupling, ancillas and the two evolution times.

    Attributes:
        num_ancillas: ``m`` ancilla qubits (an XXZ chain of their own).
        delta: the anisotropy ``Delta`` of ``H0``.
        coupling: ``lambda``, the strength of the bond between the last input and first ancilla.
        t_f: forward evolution time under ``H``.
        tau_b: backward evolution time.
        backward: the Hamiltonian of the backward step. ``inputs``: ``H0`` on the inputs, no
            coupling (the ancilla chain evolves under its own ``H0``, which leaves the input
            register's state unchanged, so this is "the ancillas left alone"; the talk's
            reading, under which ``lambda = 0`` and ``tau_b = t_f`` give back the input).
            ``full``: the coupled ``H``, the exact time reversal of the forward step when
            ``tau_b = t_f``, for any ``lambda``.
        reading: what ``tau_b`` means. ``duration`` (default, the literal reading): the backward
            step evolves for time ``tau_b``. ``time_step``: the backward step runs for the whole
            ``t_f`` as a digital Trotter product with step ``tau_b`` (``round(t_f / tau_b)``
            steps of order ``engine.order``) after the forward evolution; the ``exact`` engine
            then keeps the forward evolution exact (analog) and the backward product exact.
            The talk's ``tau_b = 0.1`` with ``t_f = 15`` suggests this reading.
        ancilla_state: ``zero``, ``one``, ``plus`` (``|+>`` on every ancilla) or ``neel``
            (``|0101...>``).
        boundary: ``open`` or ``periodic`` chains.
    """

    num_ancillas: int = 2
    delta: float = 1.0
    coupling: float = 0.7
    t_f: float = 15.0
    tau_b: float = 0.1
    backward: Literal["inputs", "full"] = "inputs"
    reading: Literal["duration", "time_step"] = "duration"
    ancilla_state: Literal["zero", "one", "plus", "neel"] = "zero"
    boundary: Literal["open", "periodic"] = "open"

    def __post_init__(self) -> None:
        _integer("reservoir.num_ancillas", self.num_ancillas, 0, 12)
        _finite("reservoir.delta", self.delta)
        _finite("reservoir.coupling", self.coupling)
        _finite("reservoir.t_f", self.t_f, 0.0)
        _finite("reservoir.tau_b", self.tau_b, 0.0)
        _choice("reservoir.backward", self.backward, BACKWARD)
        _choice("reservoir.reading", self.reading, READINGS)
        if self.reading == "time_step":
            _positive("reservoir.tau_b", self.tau_b)
            _integer("reservoir: t_f / tau_b steps", self.backward_steps, 1, 100_000)
        _choice("reservoir.ancilla_state", self.ancilla_state, ANCILLA_STATES)
        _choice("reservoir.boundary", self.boundary, ("open", "periodic"))

    @property
    def backward_steps(self) -> int:
        """Trotter steps of the backward product in the ``time_step`` reading."""
        return max(1, round(self.t_f / self.tau_b)) if self.tau_b > 0 else 0

    @property
    def backward_time(self) -> float:
        """How long the backward step evolves."""
        return self.t_f if self.reading == "time_step" else self.tau_b

    @property
    def backward_coupling(self) -> float:
        """The ``lambda`` of the backward Hamiltonian."""
        return self.coupling if self.backward == "full" else 0.0


@dataclass(frozen=True)
class EngineConfig:
    """How the evolution is computed.

    Attributes:
        name: ``exact`` (matrix exponentials, no Trotter error), ``trotter`` (the Trotterized
            circuit on the torch statevector engine) or a job-manager target such as ``aer``,
            ``aer:FakeManilaV2``, ``fake:FakeFez`` or ``ibm:<backend>`` (the Trotterized circuit
            measured with ``shots`` shots per input state).
        trotter_steps: Trotter steps of each evolution (forward and backward).
        order: 1 (Lie-Trotter) or 2 (Suzuki-Trotter).
        shots: shots per input state on a target.
        mitigation: mitigation preset on a target.
        seed: simulator seed on a target.
        optimization_level: preset pass manager level on a target. Default 1: the Trotter
            circuits are already native rotations, and level 2 does not give the same ISA
            circuit twice for some targets in Qiskit 2.6 even with a fixed seed, which would
            break the same-seed, same-result rule.
    """

    name: str = "exact"
    trotter_steps: int = 150
    order: int = 2
    shots: int = 4000
    mitigation: str = "none"
    seed: int = 0
    optimization_level: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ConfigError(f"engine.name must be a string, got {self.name!r}")
        if self.name not in LOCAL_ENGINES:
            try:
                parse_target(self.name)
            except ConfigError as exc:
                raise ConfigError(f"engine.name: exact, trotter or a target; {exc}") from exc
        _integer("engine.trotter_steps", self.trotter_steps, 1, 100_000)
        if self.order not in (1, 2) or isinstance(self.order, bool):
            raise ConfigError(f"engine.order must be 1 or 2, got {self.order!r}")
        _integer("engine.shots", self.shots, 1, 10_000_000)
        _choice("engine.mitigation", self.mitigation, tuple(PRESETS))
        _integer("engine.seed", self.seed, 0, 2**32 - 1)
        _integer("engine.optimization_level", self.optimization_level, 0, 3)

    @property
    def is_target(self) -> bool:
        """Whether the engine is a job-manager target (shots, ledger) rather than local."""
        return self.name not in LOCAL_ENGINES


@dataclass(frozen=True)
class ReservoirRunConfig(RunSections):
    """A whole reservoir experiment (``to_dict``: JSON-ready sections, stored with results)."""

    inputs: InputsConfig = field(default_factory=InputsConfig)
    reservoir: ReservoirConfig = field(default_factory=ReservoirConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)

    def with_seed(self, seed: int) -> ReservoirRunConfig:
        """The same experiment with another seed for the input draw and the simulator."""
        return replace(
            self, inputs=replace(self.inputs, seed=seed), engine=replace(self.engine, seed=seed)
        )

    @property
    def num_qubits(self) -> int:
        """Inputs plus ancillas."""
        return self.inputs.num_qubits + self.reservoir.num_ancillas


SECTIONS = {"inputs": InputsConfig, "reservoir": ReservoirConfig, "engine": EngineConfig}


def reservoir_config_from_dict(data: Any, *, context: str = "config") -> ReservoirRunConfig:
    """Validate a mapping of ``[inputs]``, ``[reservoir]``, ``[engine]`` sections."""
    return ReservoirRunConfig(**sections_from_dict(data, SECTIONS, context=context))


def load_reservoir_config(path: str | Path) -> ReservoirRunConfig:
    """Read and validate a TOML/JSON reservoir config."""
    data = read_config_file(path, kind="config", described="a reservoir config")
    return reservoir_config_from_dict(data, context=str(path))


#: The talk's setting (seed 000): t_f = 15, Delta = 1, tau_b = 0.1, lambda = 0.7.
TALK_SETTING = ReservoirRunConfig()
