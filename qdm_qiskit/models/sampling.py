"""Run a model's reverse-process circuits on any target through the job manager.

:class:`JobExecutor` is the bridge between :meth:`QuantumDiffusionModel.sample` and
:func:`qdm_qiskit.jobs.run_tasks`: every call is one ledgered run (plan -> submit -> collect ->
results store), joined back to the model's rows by binding index, never by list position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.manager import Workspace, run_tasks
from qdm_qiskit.jobs.targets import device_backend, parse_target

if TYPE_CHECKING:
    from qdm_qiskit.models.base import QuantumDiffusionModel


#: Target name that means "the torch engine, exact state vectors, no job manager".
ENGINE = "engine"


@dataclass
class JobExecutor:
    """Executes circuit tasks on ``target`` and returns per-binding arrays.

    Sampler tasks (no observables) return outcome probabilities ``(N, 2^k)`` of the ``meas``
    register (M3 quasi-probabilities, clipped and renormalised, when the mitigation preset
    corrects readout); Estimator tasks return expectation values ``(N, K)``.

    Attributes:
        target: a job-manager target (``aer``, ``aer:FakeFez``, ``fake:FakeManilaV2``).
        workspace: where the ledger and results store live.
        shots: shots per binding (Sampler) and ``1/sqrt(shots)`` precision (Estimator).
        mitigation: a mitigation preset name.
        seed: simulator seed of the runs.
        run_ids: the runs made so far, in call order.
    """

    target: str
    workspace: Workspace
    shots: int = 1024
    mitigation: str = "none"
    seed: int = 0
    name: str = "sample"
    run_ids: list[str] = field(default_factory=list)

    def __call__(
        self,
        *,
        name: str,
        circuit: QuantumCircuit,
        values: np.ndarray,
        observables: Sequence[tuple[str, SparsePauliOp]] = (),
    ) -> np.ndarray:
        """Run one task and return its rows in binding order."""
        task = CircuitTask(name, circuit, values, tuple(observables))
        primitive = "estimator" if observables else "sampler"
        results = run_tasks(
            [task],
            target=self.target,
            primitive=primitive,
            workspace=self.workspace,
            name=f"{self.name}-{name}",
            mitigation=self.mitigation,
            shots=self.shots,
            precision=1.0 / np.sqrt(self.shots),
            seed=self.seed + len(self.run_ids),
        )
        self.run_ids.append(results.run_id)
        if observables:
            return _expectation_rows(
                results.expectations, name, [o for o, _ in observables], len(values)
            )
        width = next(r.size for r in circuit.cregs if r.name == "meas")
        return probability_rows(results.counts, name, width, len(values))


def _expectation_rows(
    frame: pd.DataFrame | None, name: str, observables: list[str], rows: int
) -> np.ndarray:
    if frame is None:
        raise QdmError("the run returned no expectation values")
    mine = frame[frame["circuit"] == name]
    table = mine.pivot_table(index="binding", columns="observable", values="value")
    table = table.reindex(index=range(rows), columns=observables)
    if table.isna().any().any():
        raise QdmError(f"task {name!r}: some expectation values are missing from the results")
    return table.to_numpy()


def probability_rows(frame: pd.DataFrame | None, name: str, width: int, rows: int) -> np.ndarray:
    """Outcome probabilities ``(rows, 2^width)`` of task ``name``'s ``meas`` register.

    M3 quasi-probabilities are used when present (clipped at zero and renormalised).
    """
    if frame is None:
        raise QdmError("the run returned no counts")
    mine = frame[(frame["circuit"] == name) & (frame["register"] == "meas")]
    weight = "quasi_probability" if "quasi_probability" in mine.columns else "count"
    outcomes = np.zeros((rows, 2**width))
    index = np.array([int(b, 2) for b in mine["bitstring"]], dtype=np.int64)
    np.add.at(
        outcomes,
        (mine["binding"].to_numpy(dtype=np.int64), index),
        mine[weight].to_numpy(dtype=float),
    )
    outcomes = np.clip(outcomes, 0.0, None)
    totals = outcomes.sum(axis=1, keepdims=True)
    if np.any(totals <= 0):
        raise QdmError(f"task {name!r}: some bindings have no counts in the results")
    return outcomes / totals


def check_sampling(model: QuantumDiffusionModel, *, target: str, count: int, shots: int) -> None:
    """Refuse bad sampling settings before any work (one clear error line each)."""
    check_target(target, count=count, shots=shots, width=model.circuit.num_qubits)


def check_target(target: str, *, count: int, shots: int, width: int) -> None:
    """Refuse a bad count, shots, target name or a target narrower than ``width`` qubits."""
    for name, value in (("the number of samples", count), ("shots", shots)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if target == ENGINE:
        return
    spec = parse_target(target)
    if spec.kind == "ibm":
        return  # checked by the job manager against the live backend
    available = getattr(device_backend(spec), "num_qubits", None)
    if available is not None and width > available:
        raise ConfigError(f"the model needs {width} qubits but {target} has {available}")
