"""Run a reservoir experiment and score the reconstruction: build -> run -> combine -> write.

The score of seed 000's talk is the **Wootters distance** ``arccos sum_x sqrt(p(x) q(x))``
between the distribution ``p`` an input state encodes (its computational-basis distribution)
and the distribution ``q`` measured on the input register after the evolution. It is reported
per state, as their mean (``wootters``), and between the ensemble averages
(``wootters_ensemble``); exact and Trotter engines also give the per-state fidelity
``<psi_k| rho_k |psi_k>`` of the reduced state.

On a job-manager target the experiment is one ledgered run of the measurement circuit, one
binding per input state. Local targets run to completion in :func:`run_reservoir`; ``ibm:``
targets are submitted by :func:`submit_reservoir`, gathered with ``qdm collect`` and scored by
:func:`combine_reservoir`, joined by run id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qdm_qiskit._io import artifact_directory, atomic_write_bytes, atomic_write_json
from qdm_qiskit.circuits.transpile import TranspileOptions
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.manager import Workspace, plan_tasks, run_tasks, submit_plan
from qdm_qiskit.jobs.targets import parse_target
from qdm_qiskit.models.sampling import probability_rows
from qdm_qiskit.provenance import package_versions
from qdm_qiskit.reservoir.config import ReservoirRunConfig
from qdm_qiskit.reservoir.evolve import (
    ReducedInputs,
    evolve_exact,
    evolve_trotter,
    reservoir_measurement_circuit,
)
from qdm_qiskit.reservoir.inputs import InputStates, input_states
from qdm_qiskit.results.metrics import wootters_rows
from qdm_qiskit.results.report import markdown_table
from qdm_qiskit.results.store import ResultStore

TASK = "reservoir"


@dataclass(frozen=True, eq=False)
class ReservoirResult:
    """Inputs, reconstructions and scores of one experiment.

    Attributes:
        config: the experiment.
        description: what the input states encode.
        inputs: ``(K, 2^n)`` input distributions.
        outputs: ``(K, 2^n)`` distributions measured on the input register.
        fidelities: ``(K,)`` per-state fidelities (``None`` on a target: counts only).
        seconds: wall time of the evolution.
        run_ids: job-manager runs (targets only).
    """

    config: ReservoirRunConfig
    description: str
    inputs: np.ndarray
    outputs: np.ndarray
    fidelities: np.ndarray | None
    seconds: float
    run_ids: tuple[str, ...] = ()

    @cached_property
    def distances(self) -> np.ndarray:
        """``(K,)`` per-state Wootters distances."""
        return wootters_rows(self.inputs, self.outputs)

    @property
    def per_state(self) -> pd.DataFrame:
        """One row per input state: its Wootters distance and fidelity."""
        return pd.DataFrame(
            {
                "state": np.arange(len(self.inputs)),
                "wootters": self.distances,
                "fidelity": np.nan if self.fidelities is None else self.fidelities,
            }
        )

    @property
    def metrics(self) -> dict[str, float]:
        """The scores: mean/max per-state Wootters distance, ensemble distance, fidelity."""
        per_state = self.distances
        ensemble = wootters_rows(self.inputs.mean(0, keepdims=True),
                                 self.outputs.mean(0, keepdims=True))  # fmt: skip
        fidelity = self.fidelities
        return {
            "wootters": float(per_state.mean()),
            "wootters_max": float(per_state.max()),
            "wootters_ensemble": float(ensemble[0]),
            "fidelity": float("nan") if fidelity is None else float(fidelity.mean()),
            "fidelity_min": float("nan") if fidelity is None else float(fidelity.min()),
            "states": float(len(per_state)),
            "seconds": self.seconds,
        }


def reservoir_task(config: ReservoirRunConfig, inputs: InputStates) -> CircuitTask:
    """The measurement circuit with one binding per input state."""
    circuit = reservoir_measurement_circuit(inputs.circuit, config.reservoir, config.engine)
    return CircuitTask(TASK, circuit, inputs.values)


def run_reservoir(
    config: ReservoirRunConfig, *, workspace: Workspace | None = None
) -> ReservoirResult:
    """Prepare the inputs, evolve them on the configured engine, and score the result.

    Raises:
        ConfigError: for an ``ibm:`` engine (use :func:`submit_reservoir`, then
            :func:`combine_reservoir`).
    """
    workspace = workspace or Workspace()
    inputs = input_states(config.inputs)
    engine = config.engine
    start = time.perf_counter()
    run_ids: tuple[str, ...] = ()
    if engine.name == "exact":
        reduced = evolve_exact(inputs.states, config.reservoir, engine)
    elif engine.name == "trotter":
        reduced = evolve_trotter(inputs.states, config.reservoir, engine)
    else:
        if parse_target(engine.name).kind == "ibm":
            raise ConfigError(
                f"engine {engine.name!r} runs remotely: submit it (qdm reservoir --submit), "
                "gather it with qdm collect, then score it (qdm reservoir --combine RUN_ID)"
            )
        results = run_tasks(
            [reservoir_task(config, inputs)],
            target=engine.name,
            workspace=workspace,
            name=TASK,
            config=config.to_dict(),
            **_job_options(config),
        )
        run_ids = (results.run_id,)
        reduced = ReducedInputs(_measured(results, inputs), None)
    seconds = time.perf_counter() - start
    return ReservoirResult(
        config, inputs.description, inputs.distributions, reduced.distributions,
        reduced.fidelities, seconds, run_ids,
    )  # fmt: skip


def _job_options(config: ReservoirRunConfig) -> dict[str, Any]:
    engine = config.engine
    return {"shots": engine.shots, "mitigation": engine.mitigation, "seed": engine.seed,
            "transpile": TranspileOptions(optimization_level=engine.optimization_level,
                                          seed_transpiler=engine.seed)}  # fmt: skip


def _measured(results: Any, inputs: InputStates) -> np.ndarray:
    width = inputs.circuit.num_qubits
    return probability_rows(results.counts, TASK, width, len(inputs.values))


def submit_reservoir(config: ReservoirRunConfig, *, workspace: Workspace | None = None) -> str:
    """Plan and submit the measurement circuits to the engine's target; return the run id."""
    if not config.engine.is_target:
        raise ConfigError(f"engine {config.engine.name!r} is local: nothing to submit")
    workspace = workspace or Workspace()
    plan = plan_tasks([reservoir_task(config, input_states(config.inputs))],
                      target=config.engine.name, **_job_options(config))  # fmt: skip
    return submit_plan(plan, workspace=workspace, name=TASK, config=config.to_dict())


def combine_reservoir(
    config: ReservoirRunConfig, run_id: str, *, workspace: Workspace | None = None
) -> ReservoirResult:
    """Score a collected run of :func:`submit_reservoir` (the config must be the same)."""
    workspace = workspace or Workspace()
    results = ResultStore(workspace.results_dir).load(run_id)
    _check_same_config(run_id, results.info.get("config"), config.to_dict())
    if results.counts is None:
        raise ConfigError(f"run {run_id} has no counts: not a reservoir run")
    inputs = input_states(config.inputs)
    outputs = _measured(results, inputs)
    return ReservoirResult(config, inputs.description, inputs.distributions, outputs, None,
                           0.0, (run_id,))  # fmt: skip


def _check_same_config(run_id: str, recorded: Any, config: dict[str, Any]) -> None:
    """Refuse to score a run with another config than the one it ran (names the first field)."""
    if not isinstance(recorded, dict) or set(recorded) != set(config):
        raise ConfigError(f"run {run_id} is not a reservoir run (it records no reservoir config)")
    for section, fields in config.items():
        for name, value in fields.items():
            if recorded[section].get(name) != value:
                raise ConfigError(
                    f"run {run_id} ran with {section}.{name} = "
                    f"{recorded[section].get(name)!r}, this config has {value!r}"
                )


def write_reservoir(result: ReservoirResult, root: str | Path) -> Path:
    """Write ``results/reservoir-<id>/`` (appears only when complete); return its path.

    Files: ``info.json`` (config, seed, versions, metrics, run ids), ``per_state.csv``,
    ``distributions.csv`` (tidy: state, outcome, input, output), ``distributions.png`` and
    ``report.md``.
    """
    with artifact_directory(root, "reservoir") as out:
        directory = out.partial
        metrics = result.metrics
        atomic_write_json(directory / "info.json", {
            "kind": "reservoir", "config": result.config.to_dict(),
            "seed": result.config.inputs.seed, "inputs": result.description,
            "metrics": {k: None if np.isnan(v) else v for k, v in metrics.items()},
            "run_ids": list(result.run_ids),
            "versions": package_versions(),
        })  # fmt: skip
        per_state = result.per_state
        atomic_write_bytes(directory / "per_state.csv", per_state.to_csv(index=False).encode())
        atomic_write_bytes(directory / "distributions.csv",
                           distributions_frame(result).to_csv(index=False).encode())  # fmt: skip
        atomic_write_bytes(directory / "distributions.png", distributions_png(result))
        atomic_write_bytes(directory / "report.md", reservoir_markdown(result).encode())
    return out.final


def distributions_frame(result: ReservoirResult) -> pd.DataFrame:
    """Tidy input and reconstructed distributions: ``state, outcome, input, output``."""
    k, d = result.inputs.shape
    return pd.DataFrame(
        {
            "state": np.repeat(np.arange(k), d),
            "outcome": np.tile(np.arange(d), k),
            "input": result.inputs.ravel(),
            "output": result.outputs.ravel(),
        }
    )


def reservoir_markdown(result: ReservoirResult) -> str:
    """A short report: the setting, the scores, and the worst-reconstructed states."""
    res, engine = result.config.reservoir, result.config.engine
    n = result.config.inputs.num_qubits
    metrics = pd.DataFrame([result.metrics]).T.reset_index()
    metrics.columns = ["metric", "value"]
    worst = result.per_state.sort_values("wootters", ascending=False).head(5)
    return "\n".join([
        f"# Reservoir reverse-time experiment: {result.description}",
        "",
        f"n = {n} input qubits, m = {res.num_ancillas} ancillas ({res.ancilla_state}), "
        f"Delta = {res.delta:g}, lambda = {res.coupling:g}, t_f = {res.t_f:g}, "
        f"tau_b = {res.tau_b:g} ({res.reading} reading), backward Hamiltonian: "
        f"{'H' if res.backward == 'full' else 'H0 on the inputs'}; engine {engine.name}"
        + ("" if engine.name == "exact" else f", {engine.trotter_steps} Trotter steps, "
           f"order {engine.order}"),
        "",
        markdown_table(metrics),
        "",
        "Worst-reconstructed states:",
        "",
        markdown_table(worst),
        "",
        "![input and reconstructed distributions](distributions.png)",
        "",
    ])  # fmt: skip


def distributions_png(result: ReservoirResult, *, states: int = 4) -> bytes:
    """Input and reconstructed distributions of the first ``states`` states."""
    from matplotlib.figure import Figure

    from qdm_qiskit.results.figures import png_bytes

    shown = min(states, len(result.inputs))
    fig = Figure(figsize=(3.2 * shown, 2.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, shown))
    per_state = result.distances
    outcomes = np.arange(result.inputs.shape[1])
    for k, ax in enumerate(axes):
        ax.bar(outcomes, result.inputs[k], color="0.75", label="input")
        ax.step(outcomes, result.outputs[k], where="mid", color="C3", label="reconstructed")
        ax.set_title(f"state {k}: D_W = {per_state[k]:.4f}", fontsize=9)
        ax.set_xlabel("outcome")
    axes[0].set_ylabel("probability")
    axes[0].legend(fontsize=8)
    return png_bytes(fig)
