"""Reservoir reverse-time experiments (seed 000's talk): an XXZ chain coupled to ancillas.

Input states ``|psi_k>`` (encoded jets, histograms of jet observables, textbook distributions or
quantum-state ensembles) evolve forward for ``t_f`` under the coupled Hamiltonian ``H`` and
backward for ``tau_b``; the distribution measured on the input register is compared with the
input's by the Wootters distance.

Example:
    >>> from qdm_qiskit.reservoir import ReservoirRunConfig, ReservoirConfig, run_reservoir
    >>> trivial = ReservoirRunConfig(reservoir=ReservoirConfig(coupling=0.0, tau_b=15.0))
    >>> run_reservoir(trivial).metrics["wootters"] < 1e-9
    True
"""

from qdm_qiskit.reservoir.config import (
    EngineConfig,
    InputsConfig,
    ReservoirConfig,
    ReservoirRunConfig,
    load_reservoir_config,
    reservoir_config_from_dict,
)
from qdm_qiskit.reservoir.experiment import (
    ReservoirResult,
    combine_reservoir,
    run_reservoir,
    submit_reservoir,
    write_reservoir,
)
from qdm_qiskit.reservoir.inputs import InputStates, input_states

__all__ = [
    "EngineConfig",
    "InputStates",
    "InputsConfig",
    "ReservoirConfig",
    "ReservoirResult",
    "ReservoirRunConfig",
    "combine_reservoir",
    "input_states",
    "load_reservoir_config",
    "reservoir_config_from_dict",
    "run_reservoir",
    "submit_reservoir",
    "write_reservoir",
]
