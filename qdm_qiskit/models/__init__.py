"""Quantum diffusion models on jet images: configs, families, training, sampling, checkpoints.

Families (``model.family``):

- ``state``: direct state denoiser (Cacioppo et al.), amplitude-encoded images, infidelity loss;
- ``angle``: angle-encoded patch denoiser (Kolle et al., Baidachna et al.), DDPM with a PQC
  network and ``<Z>`` readout;
- ``ensemble``: quantum-native ensemble diffusion (QuDDPM, MSQuDDPM) on ensembles of quantum
  states, in :mod:`qdm_qiskit.models.ensemble` (its own config, trained step by step).

Training runs on the torch engine (:mod:`qdm_qiskit.engine`); sampling runs there or, through
:class:`JobExecutor`, on any job-manager target.
"""

from qdm_qiskit.models.base import ParameterCount, QuantumDiffusionModel
from qdm_qiskit.models.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from qdm_qiskit.models.config import (
    QUICK_RUN,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    load_run_config,
    run_config_from_dict,
)
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.models.factory import MODEL_CLASSES, build_model
from qdm_qiskit.models.sampling import JobExecutor
from qdm_qiskit.models.train import TrainingFailed, TrainingResult, learning_rate, train_model

__all__ = [
    "MODEL_CLASSES",
    "QUICK_RUN",
    "Checkpoint",
    "DataConfig",
    "JetImageData",
    "JobExecutor",
    "ModelConfig",
    "ParameterCount",
    "QuantumDiffusionModel",
    "RunConfig",
    "TrainConfig",
    "TrainingFailed",
    "TrainingResult",
    "build_model",
    "learning_rate",
    "load_checkpoint",
    "load_image_data",
    "load_run_config",
    "run_config_from_dict",
    "save_checkpoint",
    "train_model",
]
