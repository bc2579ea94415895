"""The one place that constructs primitives.

qiskit-ibm-runtime 0.50 started moving Sampler and Estimator from server-side programs to
client-side implementations built on the Executor (``qiskit_ibm_runtime.executor_sampler`` and
``executor_estimator``). Those run their error mitigation (twirling, TREX, ZNE) on the client,
so the same code path works on IBM hardware and, in local testing mode, on fake backends. Every
caller in qdm-qiskit gets its primitives from :func:`make_primitive`, so following the Runtime's
next move is a change to this module only.

Engines:
    ``aer``: Aer's own V2 primitives (``qiskit_aer.primitives``), ideal or with a device's noise
        model; fastest, no mitigation options.
    ``runtime``: the Runtime's client-side primitives; ``mode`` is a Batch, an IBM backend, or
        any other BackendV2 (local testing mode).
"""

from __future__ import annotations

import warnings
from typing import Any

from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit.providers import BackendV2

from qdm_qiskit.errors import ConfigError

PRIMITIVES = ("sampler", "estimator")
ENGINES = ("aer", "runtime")
#: Above this many qubits a noisy Aer estimator averages trajectories instead of evolving a
#: density matrix (memory 16 * 4**n bytes).
DENSITY_MATRIX_MAX_QUBITS = 10


def make_primitive(
    primitive: str,
    *,
    engine: str,
    mode: Any = None,
    options: dict[str, Any] | None = None,
    seed: int | None = None,
) -> BaseSamplerV2 | BaseEstimatorV2:
    """Construct a V2 Sampler or Estimator.

    Args:
        primitive: ``sampler`` or ``estimator``.
        engine: ``aer`` or ``runtime`` (see the module docstring).
        mode: for ``aer``, ``None`` (ideal) or a BackendV2 whose target and noise to simulate;
            for ``runtime``, a ``Batch``/``Session``, an IBM backend or a local BackendV2.
        options: Runtime option dict (``runtime`` engine only).
        seed: simulator seed (local simulation only), so equal seeds give equal results.
    """
    if primitive not in PRIMITIVES:
        raise ConfigError(f"primitive must be 'sampler' or 'estimator', got {primitive!r}")
    if engine == "aer":
        if options:
            raise ConfigError("Aer primitives take no Runtime options")
        return _aer_primitive(primitive, mode, seed)
    if engine == "runtime":
        return _runtime_primitive(primitive, mode, dict(options or {}), seed)
    raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def _aer_primitive(
    primitive: str, backend: BackendV2 | None, seed: int | None
) -> BaseSamplerV2 | BaseEstimatorV2:
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import EstimatorV2, SamplerV2

    # Parameter sets of a broadcast PUB are separate Aer experiments: spread them over the cores.
    parallel: dict[str, Any] = {"max_parallel_experiments": 0}
    if backend is None:
        # Ideal simulation binds parameters inside Aer's run (about 1.5x faster for many sets);
        # not with noise models, where Aer has known trouble with it (qiskit-aer#2207).
        simulator = AerSimulator(runtime_parameter_bind_enable=True, **parallel)
    else:
        simulator = AerSimulator.from_backend(backend, **parallel)
    if primitive == "sampler":
        return SamplerV2.from_backend(simulator, seed=seed)
    backend_options: dict[str, Any] = dict(parallel)
    if backend is not None and simulator.num_qubits <= DENSITY_MATRIX_MAX_QUBITS:
        # Exact noisy expectation values instead of an average over noise trajectories.
        backend_options["method"] = "density_matrix"
    return EstimatorV2.from_backend(
        simulator,
        options={
            "backend_options": backend_options,
            "run_options": {"seed_simulator": seed},
        },
    )


def _runtime_primitive(
    primitive: str, mode: Any, options: dict[str, Any], seed: int | None
) -> BaseSamplerV2 | BaseEstimatorV2:
    from qiskit_ibm_runtime.executor_estimator import Estimator
    from qiskit_ibm_runtime.executor_sampler import Sampler

    if seed is not None:
        options.setdefault("simulator", {})["seed_simulator"] = seed
    with warnings.catch_warnings():
        # Local testing mode warns about every hardware-only option; the preset is deliberate.
        warnings.simplefilter("ignore", UserWarning)
        cls = Sampler if primitive == "sampler" else Estimator
        try:
            return cls(mode=mode, options=options)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid Runtime {primitive} options: {exc}") from exc
