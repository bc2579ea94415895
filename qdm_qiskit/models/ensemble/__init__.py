"""Quantum-native ensemble diffusion (QuDDPM, Zhang et al. PRL 132 100602; MSQuDDPM, Kwun et al.).

The data are ensembles of quantum states (the benchmark tasks of :mod:`.tasks`); the forward
process scrambles them to Haar noise (or depolarizes them to ``I/d``); each reverse step is its
own PQC on data + ancilla qubits followed by ancilla measurement; steps are trained one at a time
with an ensemble loss (fidelity-kernel MMD or Wasserstein, :mod:`.distances`).
"""

from qdm_qiskit.models.ensemble.config import (
    QUDDPM_CIRCLE,
    QUDDPM_CLUSTER_1,
    QUDDPM_CLUSTER_2,
    EnsembleDataConfig,
    EnsembleModelConfig,
    EnsembleRunConfig,
    EnsembleTrainConfig,
)
from qdm_qiskit.models.ensemble.distances import (
    fidelity_kernel,
    mean_fidelity,
    mmd,
    outcome_mmd,
    wasserstein,
)
from qdm_qiskit.models.ensemble.model import EnsembleDiffusion
from qdm_qiskit.models.ensemble.store import load_ensemble_checkpoint, save_ensemble_checkpoint
from qdm_qiskit.models.ensemble.tasks import circle_states, cluster_states, haar_states
from qdm_qiskit.models.ensemble.train import (
    EnsembleTrainingFailed,
    EnsembleTrainingResult,
    build_ensemble_model,
    ensemble_data,
    evaluate_ensemble,
    train_ensemble,
)

__all__ = [
    "QUDDPM_CIRCLE",
    "QUDDPM_CLUSTER_1",
    "QUDDPM_CLUSTER_2",
    "EnsembleDataConfig",
    "EnsembleDiffusion",
    "EnsembleModelConfig",
    "EnsembleRunConfig",
    "EnsembleTrainConfig",
    "EnsembleTrainingFailed",
    "EnsembleTrainingResult",
    "build_ensemble_model",
    "circle_states",
    "cluster_states",
    "ensemble_data",
    "evaluate_ensemble",
    "fidelity_kernel",
    "haar_states",
    "load_ensemble_checkpoint",
    "mean_fidelity",
    "mmd",
    "outcome_mmd",
    "save_ensemble_checkpoint",
    "train_ensemble",
    "wasserstein",
]
