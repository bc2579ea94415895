"""Hardware-in-the-loop: a model's PQC as a qiskit-machine-learning QNN on any target.

The engine trains; this module evaluates and fine-tunes the *same* circuit with real primitives
(Aer with device noise, the Runtime's local-testing primitives, IBM hardware). Two changes to
qiskit-machine-learning's defaults keep it usable:

- :class:`BatchedParamShiftGradient` sends every shifted parameter set of every sample and
  observable in **one** ``run()`` call, as PUBs of at most ``chunk_size`` rows (one per circuit
  and chunk), instead of one PUB per shifted binding;
- circuits are transpiled once for the target (``pass_manager``) and observables follow the
  layout, as the Runtime requires (ISA circuits).

Families: the angle model's PQC maps angle inputs to ``<Z_i>``; the state model's step is
wrapped in a compute-uncompute circuit (amplitude-encode ``|x_t>``, the step, the inverse
encoding of the target ``|x_{t-1}>``) whose ``|0...0>`` projector expectation is the fidelity its
loss needs, so both run on an ``EstimatorQNN`` with the same batched gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from qiskit.circuit import Parameter, ParameterVector, QuantumCircuit
from qiskit.primitives import BaseEstimatorV2
from qiskit.providers.options import Options
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_machine_learning.connectors import TorchConnector
from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient
from qiskit_machine_learning.gradients.base.estimator_gradient_result import (
    EstimatorGradientResult,
)
from qiskit_machine_learning.gradients.utils import _make_param_shift_parameter_values
from qiskit_machine_learning.neural_networks import EstimatorQNN

from qdm_qiskit.circuits import amplitude_encoding, amplitude_encoding_values
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.primitives import make_primitive
from qdm_qiskit.jobs.targets import device_backend, parse_target
from qdm_qiskit.models.angle import AngleDenoiser
from qdm_qiskit.models.base import QuantumDiffusionModel
from qdm_qiskit.models.state import StateDenoiser

#: Rows per PUB: Aer's per-binding overhead grows with PUB size beyond about 1024 rows.
DEFAULT_CHUNK = 1024


class BatchedParamShiftGradient(ParamShiftEstimatorGradient):
    """Parameter-shift gradients with all shifted bindings in one chunked estimator call.

    Attributes:
        calls: estimator ``run()`` calls made so far (one per gradient evaluation).
    """

    def __init__(self, estimator: BaseEstimatorV2, *, chunk_size: int = DEFAULT_CHUNK,
                 precision: float | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(estimator, **kwargs)
        self.chunk_size = chunk_size
        self.precision = precision
        self.calls = 0

    def _run_unique(
        self,
        circuits: Sequence[QuantumCircuit],
        observables: Sequence[SparsePauliOp],
        parameter_values: Sequence[Sequence[float]],
        parameters: Sequence[Sequence[Parameter]],
        **options: Any,
    ) -> EstimatorGradientResult:
        groups: dict[int, list[int]] = {}
        shifted: list[np.ndarray] = []
        for index, (circuit, values, params) in enumerate(
            zip(circuits, parameter_values, parameters, strict=True)
        ):
            groups.setdefault(id(circuit), []).append(index)
            shifted.append(np.asarray(_make_param_shift_parameter_values(circuit, values, params)))
        pubs, layout = [], []
        for members in groups.values():
            circuit = circuits[members[0]]
            isa = circuit if self._pass_manager is None else self._pass_manager.run(circuit)
            rows = np.concatenate([shifted[i] for i in members])
            obs = [
                observables[i]
                if self._pass_manager is None
                else observables[i].apply_layout(isa.layout)
                for i in members
                for _ in range(len(shifted[i]))
            ]
            for start in range(0, len(rows), self.chunk_size):
                stop = start + self.chunk_size
                pubs.append((isa, obs[start:stop], rows[start:stop]))
            layout.append((members, len(rows)))
        self.calls += 1
        job = self._estimator.run(pubs, precision=self.precision)
        results = np.concatenate(
            [np.asarray(r.data.evs, dtype=float).ravel() for r in job.result()]
        )
        gradients: list[np.ndarray] = [np.empty(0)] * len(circuits)
        position = 0
        for members, _count in layout:
            for i in members:
                n = len(shifted[i])
                block = results[position : position + n]
                gradients[i] = (block[: n // 2] - block[n // 2 :]) / 2
                position += n
        metadata = [{"parameters": p} for p in parameters]
        return EstimatorGradientResult(
            gradients=gradients, metadata=metadata, options=Options(**options)
        )


def target_estimator(target: str, *, seed: int | None = 0) -> tuple[BaseEstimatorV2, Any]:
    """A V2 estimator for ``target`` and the pass manager that makes ISA circuits for it."""
    spec = parse_target(target)
    if spec.kind == "aer" and spec.backend is None:
        return make_primitive("estimator", engine="aer", seed=seed), None
    device = device_backend(spec)
    manager = generate_preset_pass_manager(
        optimization_level=1, backend=device, seed_transpiler=seed
    )
    engine = "aer" if spec.kind == "aer" else "runtime"
    return make_primitive("estimator", engine=engine, mode=device, seed=seed), manager


def estimator_qnn(
    model: QuantumDiffusionModel,
    *,
    target: str = "aer",
    precision: float = 0.0,
    seed: int | None = 0,
    chunk_size: int = DEFAULT_CHUNK,
) -> tuple[TorchConnector, BatchedParamShiftGradient]:
    """The model's PQC as an ``EstimatorQNN`` + ``TorchConnector`` on ``target``.

    Angle model: the connector maps ``(B, n + 1)`` angle inputs (the engine's input order) to
    ``<Z_i>`` (:func:`qnn_prediction`). State model: it maps :func:`state_qnn_inputs` rows to
    the fidelity ``|<x_{t-1}|P(theta, tau_t)|x_t>|^2`` (:func:`qnn_fidelity`). The connector
    holds the model's current weights; its gradient is :class:`BatchedParamShiftGradient`.
    ``precision=0`` gives exact values on ideal simulators.
    """
    if isinstance(model, AngleDenoiser):
        circuit, inputs = model.circuit, list(model.engine.input_parameters)
        n = model.num_qubits
        observables = [
            SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], num_qubits=n) for q in range(n)
        ]
    elif isinstance(model, StateDenoiser):
        circuit, inputs = fidelity_circuit(model)
        observables = [zero_projector(model.num_qubits)]
    else:
        family = getattr(model, "family", type(model).__name__)
        raise ConfigError(f"the QNN path supports the angle and state families, not {family!r}")
    estimator, manager = target_estimator(target, seed=seed)
    if manager is not None:
        circuit = manager.run(circuit)
        observables = [o.apply_layout(circuit.layout) for o in observables]
    gradient = BatchedParamShiftGradient(estimator, chunk_size=chunk_size, precision=precision)
    qnn = EstimatorQNN(
        circuit=circuit,
        estimator=estimator,
        observables=observables,
        input_params=inputs,
        weight_params=list(model.engine.weight_parameters),
        gradient=gradient,
        input_gradients=False,
        default_precision=precision,
    )
    initial = model.weights.detach().double().cpu().numpy()
    return TorchConnector(qnn, initial_weights=initial), gradient


def qnn_prediction(model: AngleDenoiser, connector: torch.nn.Module, x_t: torch.Tensor,
                   steps: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """The model's prediction with the PQC evaluated by ``connector`` instead of the engine."""
    inputs = model.circuit_inputs(x_t, steps).double().cpu()
    readout = connector(inputs).to(model.device, dtype=x_t.dtype)
    return model.head(readout.reshape(x_t.shape[0], -1))


def zero_projector(num_qubits: int) -> SparsePauliOp:
    """``|0...0><0...0| = prod_q (I + Z_q) / 2`` as a sum of ``2^n`` commuting Z strings."""
    terms = []
    for mask in range(2**num_qubits):
        qubits = [q for q in range(num_qubits) if mask >> q & 1]
        terms.append(("Z" * len(qubits), qubits, 1.0 / 2**num_qubits))
    return SparsePauliOp.from_sparse_list(terms, num_qubits=num_qubits)


def fidelity_circuit(model: StateDenoiser) -> tuple[QuantumCircuit, list[Parameter]]:
    """Encode ``|x_t>``, apply the step, un-encode ``|x_{t-1}>``: ``P(0...0)`` is the fidelity.

    Returns the circuit and its input parameters in :func:`state_qnn_inputs` column order:
    ``amp_y, amp_z`` (start), ``tau[0]``, ``tgt_y, tgt_z`` (target).
    """
    n = model.num_qubits
    start = amplitude_encoding(num_qubits=n, complex_amplitudes=True)
    target = amplitude_encoding(num_qubits=n, complex_amplitudes=True)
    size = 2**n - 1
    renamed = [*ParameterVector("tgt_y", size), *ParameterVector("tgt_z", size)]
    target = target.assign_parameters(dict(zip(target.parameters, renamed, strict=True)))
    circuit = QuantumCircuit(n, name="state_step_fidelity")
    circuit.compose(start, inplace=True)
    circuit.compose(model.circuit, inplace=True)
    circuit.compose(target.inverse(), inplace=True)
    inputs = [*start.parameters, *model.engine.input_parameters, *renamed]
    return circuit, inputs


def state_qnn_inputs(
    model: StateDenoiser, x_t: torch.Tensor, x_prev: torch.Tensor, steps: torch.Tensor
) -> torch.Tensor:
    """Rows ``(B, inputs)`` of :func:`fidelity_circuit`: states at ``t``, targets at ``t - 1``."""

    def angles(states: torch.Tensor) -> np.ndarray:
        values = states.detach().cpu().numpy().astype(np.complex128)
        return amplitude_encoding_values(values, complex_amplitudes=True).parameters

    taus = model.taus[torch.as_tensor(steps, device=model.device)].detach().double().cpu()
    return torch.cat(
        [
            torch.as_tensor(angles(x_t)),
            taus.reshape(-1, 1),
            torch.as_tensor(angles(x_prev)),
        ],
        dim=1,
    )


def qnn_fidelity(model: StateDenoiser, connector: torch.nn.Module, x_t: torch.Tensor,
                 x_prev: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """The state model's training fidelity evaluated by ``connector`` (its loss is ``1 - F``)."""
    values = connector(state_qnn_inputs(model, x_t, x_prev, steps))[:, 0]
    return values.to(model.device, dtype=model.engine.real_dtype)
