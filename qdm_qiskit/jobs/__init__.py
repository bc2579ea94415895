"""Execution: targets, plans, error mitigation, the ledger, submission and collection.

The only room that imports ``qiskit_ibm_runtime`` (lazily, inside functions).
"""

from qdm_qiskit.jobs.experiment import (
    CircuitTask,
    ExperimentConfig,
    experiment_tasks,
    load_experiment,
    parse_experiment,
    parse_observables,
)
from qdm_qiskit.jobs.ledger import Ledger
from qdm_qiskit.jobs.manager import (
    CollectReport,
    Workspace,
    cancel_run,
    collect_run,
    plan_tasks,
    run_tasks,
    submit_plan,
)
from qdm_qiskit.jobs.mitigation import PRESETS
from qdm_qiskit.jobs.plan import RunPlan, plan_run
from qdm_qiskit.jobs.primitives import make_primitive
from qdm_qiskit.jobs.reduce import ReducedBackend, active_qubits, reduce_backend, reduce_circuit
from qdm_qiskit.jobs.targets import (
    TargetSpec,
    device_backend,
    fake_backend_class_name,
    fake_backend_names,
    parse_target,
    resolve_target,
    runtime_service,
    target_table,
)

__all__ = [
    "PRESETS",
    "CircuitTask",
    "CollectReport",
    "ExperimentConfig",
    "Ledger",
    "ReducedBackend",
    "RunPlan",
    "TargetSpec",
    "Workspace",
    "active_qubits",
    "cancel_run",
    "collect_run",
    "device_backend",
    "experiment_tasks",
    "fake_backend_class_name",
    "fake_backend_names",
    "load_experiment",
    "make_primitive",
    "parse_experiment",
    "parse_observables",
    "parse_target",
    "plan_run",
    "plan_tasks",
    "reduce_backend",
    "reduce_circuit",
    "resolve_target",
    "run_tasks",
    "runtime_service",
    "submit_plan",
    "target_table",
]
