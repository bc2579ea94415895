"""Execution: targets, primitives, job submission and collection.

The only room that imports ``qiskit_ibm_runtime`` (lazily, inside functions).
"""

from qdm_qiskit.jobs.targets import (
    TargetSpec,
    fake_backend_class_name,
    fake_backend_names,
    parse_target,
    resolve_target,
)

__all__ = [
    "TargetSpec",
    "fake_backend_class_name",
    "fake_backend_names",
    "parse_target",
    "resolve_target",
]
