"""Measure what the QDM families and the reservoir cost as the number of qubits grows.

Three kinds of measurement, each a tidy row ``family, n, target, quantity, value``:

* **device** (transpile only, up to the device width): ISA depth, two-qubit gates and estimated
  duration of one circuit on each target, and the QPU seconds of a full sampling run;
* **simulation** (up to the largest ``n`` that fits the machine and the time budget): torch
  engine time per sample, state memory per sample, training-step time per sample;
* **classical**: FLOPs and time per generated sample of the usual DDPM on the same data.

The circuits are the ones the families run: ``angle`` (angle encoding, time embedding, the
hardware-efficient PQC), ``state`` (amplitude encoding of ``2^n`` pixels before the PQC: what
hardware must prepare, the engine starts from the state itself) and ``reservoir`` (one Trotter
step forward and one backward, with the configured ancillas).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from qiskit import QuantumCircuit

from qdm_qiskit.baseline import GaussianDiffusion, MLPDenoiser, sample
from qdm_qiskit.circuits import denoising_circuit, reservoir_circuit
from qdm_qiskit.circuits.transpile import TranspileOptions, circuit_summary, transpile_isa
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.engine import CompiledCircuit
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.plan import rep_delay_seconds
from qdm_qiskit.jobs.targets import resolve_target
from qdm_qiskit.models.config import _choice, _integer, _positive

FAMILIES = ("angle", "state", "reservoir")
#: Amplitude encoding needs 2^n - 2 CNOTs: transpiling it beyond this width takes minutes.
MAX_AMPLITUDE_QUBITS = 10
#: Bytes per amplitude of the engine's training dtype (complex64).
AMPLITUDE_BYTES = 8


@dataclass(frozen=True)
class ScalingConfig:
    """What to measure.

    Attributes:
        families: any of ``angle``, ``state``, ``reservoir``.
        sim_qubits: ``n`` simulated on the torch engine (those that fit memory).
        device_qubits: ``n`` transpiled for the targets (those within the device width).
        targets: fake devices with gate durations, e.g. ``fake:FakeTorino``.
        layers: PQC layers of the QDM families.
        entanglement: the QDM PQCs' entangling pattern. ``linear`` (default here) embeds in a
            heavy-hex lattice for every ``n``, so its cost law is clean; ``ring`` (the models'
            default) needs SWAPs whenever no ``n``-cycle of the device fits, which makes its
            device cost jump with ``n``; pass it to price the trained models exactly.
        steps: diffusion steps ``T`` (circuit executions per generated sample).
        ancillas: reservoir ancillas.
        batch: samples per timed engine call.
        samples: generated samples of the "full sampling run" priced in QPU seconds.
        precision: Wootters-distance precision of each measured distribution; sets the shots.
        repeats: timing repeats (the median is kept).
        optimization_level: preset pass manager level for the device measurements.
        seed: seed of weights, inputs and the transpiler.
    """

    families: tuple[str, ...] = FAMILIES
    sim_qubits: tuple[int, ...] = (2, 4, 6, 8, 10, 12, 14)
    device_qubits: tuple[int, ...] = (2, 4, 6, 8, 10, 16, 32, 64)
    targets: tuple[str, ...] = ("fake:FakeTorino",)
    layers: int = 4
    entanglement: str = "linear"
    steps: int = 10
    ancillas: int = 2
    batch: int = 32
    samples: int = 1000
    precision: float = 0.05
    repeats: int = 3
    optimization_level: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for family in self.families:
            if family not in FAMILIES:
                raise ConfigError(f"scaling family must be one of {', '.join(FAMILIES)}, got "
                                  f"{family!r}")  # fmt: skip
        if not self.families:
            raise ConfigError("scaling needs at least one family")
        for n in (*self.sim_qubits, *self.device_qubits):
            _integer("scaling qubits", n, 1, 1000)
        for name in ("layers", "steps", "batch", "samples", "repeats"):
            _integer(f"scaling.{name}", getattr(self, name), 1, 10**7)
        _integer("scaling.ancillas", self.ancillas, 0, 100)
        _choice("scaling.entanglement", self.entanglement, ("linear", "ring"))
        _positive("scaling.precision", self.precision)
        _integer("scaling.optimization_level", self.optimization_level, 0, 3)
        _integer("scaling.seed", self.seed, 0, 2**32 - 1)


@dataclass
class Measurements:
    """Rows gathered so far, and notes on what was left out and why."""

    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, family: str, n: int, target: str, quantity: str, value: float) -> None:
        """Record one value."""
        self.rows.append({"family": family, "n": n, "target": target, "quantity": quantity,
                          "value": float(value)})  # fmt: skip

    def frame(self) -> pd.DataFrame:
        """The tidy table."""
        columns = ["family", "n", "target", "quantity", "value"]
        return pd.DataFrame(self.rows, columns=columns)


def shots_for_precision(num_qubits: int, precision: float) -> int:
    """Shots whose empirical distribution is within ``precision`` in Wootters distance.

    For ``d = 2^n`` outcomes and ``N`` shots, ``1 - BC ~ chi^2 / 8`` with ``E[chi^2] = (d-1)/N``,
    and ``arccos(1 - x) ~ sqrt(2 x)``: the expected distance is ``sqrt((d - 1) / (4 N))``.
    """
    return max(1, math.ceil((2**num_qubits - 1) / (4.0 * precision**2)))


def family_circuit(family: str, n: int, config: ScalingConfig, *, hardware: bool) -> QuantumCircuit:
    """The circuit a family runs per reverse step on ``n`` data qubits.

    ``hardware`` adds the amplitude encoding the ``state`` family needs on a device (the engine
    starts from the state vector instead).
    """
    if family in ("angle", "state"):
        encoding = "angle" if family == "angle" else "amplitude" if hardware else "none"
        return denoising_circuit(
            num_data_qubits=n,
            layers=config.layers,
            encoding=encoding,  # type: ignore[arg-type]
            conditioning="time_embedding",
            entanglement=config.entanglement,  # type: ignore[arg-type]
        )
    return reservoir_circuit(num_inputs=n, num_ancillas=config.ancillas, trotter_steps=1)


def data_dimension(family: str, n: int) -> int:
    """Features the family handles on ``n`` qubits: ``n`` angles or ``2^n`` amplitudes."""
    return n if family == "angle" else 2**n


def register_width(family: str, n: int, config: ScalingConfig) -> int:
    """Qubits of a family's circuit on ``n`` data qubits (the reservoir adds its ancillas)."""
    return n + (config.ancillas if family == "reservoir" else 0)


def reverse_steps(family: str, config: ScalingConfig) -> int:
    """Circuit executions per generated sample: ``T`` for the QDMs, one for the reservoir."""
    return 1 if family == "reservoir" else config.steps


def largest_simulable_qubits(memory_bytes: int, batch: int, *, overhead: float = 8.0) -> int:
    """The largest ``n`` whose batch of states (with ``overhead`` copies) fits the memory.

    Zero when not even one qubit fits.
    """
    n = 0
    while (2 ** (n + 1)) * AMPLITUDE_BYTES * batch * overhead <= memory_bytes:
        n += 1
    return n


def simulation_limit(batch: int) -> int:
    """Largest register simulated at ``batch``: what fits half the memory (64 when unknown)."""
    memory = machine_memory()
    return largest_simulable_qubits(memory // 2, batch) if memory else 64


def simulated_widths(family: str, config: ScalingConfig, out: Measurements) -> list[int]:
    """The ``sim_qubits`` of a family that fit this machine (notes say which did not)."""
    limit = simulation_limit(config.batch)
    widths = []
    for n in config.sim_qubits:
        total = register_width(family, n, config)
        if total > limit:
            out.notes.append(f"{family}: n = {n} skipped, {total} qubits do not fit half of "
                             f"this machine's memory at batch {config.batch}")  # fmt: skip
        else:
            widths.append(n)
    return widths


def machine_memory() -> int:
    """Physical memory in bytes (0 when the platform does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 0


def measure_device(config: ScalingConfig, out: Measurements) -> None:
    """ISA depth, two-qubit gates, duration and QPU seconds, per family, target and ``n``."""
    options = TranspileOptions(optimization_level=config.optimization_level,
                               seed_transpiler=config.seed)  # fmt: skip
    for target_name in config.targets:
        device = resolve_target(target_name)
        width, delay = device.num_qubits, rep_delay_seconds(device)
        for family in config.families:
            for n in config.device_qubits:
                total = register_width(family, n, config)
                if total > width or (family == "state" and n > MAX_AMPLITUDE_QUBITS):
                    continue
                circuit = family_circuit(family, n, config, hardware=True)
                isa = transpile_isa(circuit, target=device, options=options)
                summary = circuit_summary(isa, target=device)
                out.add(family, n, target_name, "depth", summary.depth)
                out.add(family, n, target_name, "two_qubit_gates", summary.two_qubit_gates)
                if summary.duration_us is None:
                    continue
                duration = summary.duration_us * 1e-6
                out.add(family, n, target_name, "duration_s", duration)
                executions = config.samples * reverse_steps(family, config)
                shots = shots_for_precision(n, config.precision)
                out.add(family, n, target_name, "qpu_seconds",
                        executions * shots * (duration + delay))  # fmt: skip
    if "state" in config.families and max(config.device_qubits, default=0) > MAX_AMPLITUDE_QUBITS:
        out.notes.append(f"state family transpiled up to n = {MAX_AMPLITUDE_QUBITS} only: "
                         "its amplitude encoding has 2^n - 2 CNOTs")  # fmt: skip


def _median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: allocation and first-call overheads stay out of the timing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure_simulation(config: ScalingConfig, out: Measurements) -> None:
    """Engine time and memory per sample and training-step time, up to what fits."""
    generator = torch.Generator().manual_seed(config.seed)
    for family in config.families:
        for n in simulated_widths(family, config, out):
            total = register_width(family, n, config)
            engine = CompiledCircuit(family_circuit(family, n, config, hardware=False),
                                     device="cpu")  # fmt: skip
            forward, train = _engine_seconds(engine, config, total, generator)
            out.add(family, n, "engine", "sim_seconds", forward / config.batch)
            out.add(family, n, "engine", "state_bytes", AMPLITUDE_BYTES * 2**total)
            out.add(family, n, "engine", "quantum_parameters", engine.num_weights)
            if train is not None:
                out.add(family, n, "engine", "train_step_seconds", train / config.batch)


def _engine_seconds(
    engine: CompiledCircuit, config: ScalingConfig, qubits: int, generator: torch.Generator
) -> tuple[float, float | None]:
    """Median seconds of a batched forward pass, and of forward + backward (with weights)."""
    weights = torch.rand(engine.num_weights, generator=generator)
    inputs = torch.rand(config.batch, len(engine.input_names), generator=generator)
    start = _random_states(config.batch, qubits, generator)

    def forward() -> None:
        with torch.no_grad():
            engine(weights, inputs, start)

    def train_step() -> None:
        trainable = weights.clone().requires_grad_(True)
        torch.sum(torch.abs(engine(trainable, inputs, start)[:, 0]) ** 2).backward()

    seconds = _median_seconds(forward, config.repeats)
    train = _median_seconds(train_step, config.repeats) if engine.num_weights else None
    return seconds, train


def _random_states(batch: int, qubits: int, generator: torch.Generator) -> torch.Tensor:
    real = torch.randn(batch, 2**qubits, generator=generator)
    imag = torch.randn(batch, 2**qubits, generator=generator)
    states = torch.complex(real, imag)
    return states / torch.linalg.vector_norm(states, dim=1, keepdim=True)


def ddpm_flops(network: MLPDenoiser, steps: int) -> int:
    """Multiply-add FLOPs (2 per weight of each linear layer) of ``steps`` network calls."""
    weights = sum(m.weight.numel() for m in network.modules() if isinstance(m, torch.nn.Linear))
    return 2 * weights * steps


def measure_classical(config: ScalingConfig, out: Measurements) -> None:
    """The usual DDPM (hidden 128, depth 3) on the same data: FLOPs and time per sample."""
    seen: dict[int, tuple[float, int, int]] = {}
    for family in config.families:
        for n in simulated_widths(family, config, Measurements()):  # noted by the simulation
            dim = data_dimension(family, n)
            if dim not in seen:
                seen[dim] = _ddpm_costs(dim, config)
            seconds, flops, parameters = seen[dim]
            out.add(family, n, "cpu", "ddpm_seconds", seconds)
            out.add(family, n, "cpu", "ddpm_flops", flops)
            out.add(family, n, "cpu", "ddpm_parameters", parameters)


def _ddpm_costs(dim: int, config: ScalingConfig) -> tuple[float, int, int]:
    """Seconds and FLOPs per DDPM sample (T steps) on ``dim`` features, and parameters."""
    torch.manual_seed(config.seed)
    network = MLPDenoiser(dim, steps=config.steps).eval()
    schedule = NoiseSchedule(kind="linear", steps=config.steps, start=1e-4, end=0.05)
    diffusion = GaussianDiffusion(schedule)

    def generate() -> None:
        with torch.no_grad():
            sample(network, diffusion, config.batch, dim, seed=config.seed)

    seconds = _median_seconds(generate, config.repeats) / config.batch
    return seconds, ddpm_flops(network, config.steps), network.parameter_count()


def measure_shots(config: ScalingConfig, out: Measurements) -> None:
    """Shots per measured distribution for the configured precision."""
    for family in config.families:
        for n in sorted(set(config.sim_qubits) | set(config.device_qubits)):
            if n <= 30:
                out.add(family, n, "-", "shots", shots_for_precision(n, config.precision))
