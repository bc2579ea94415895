"""Quark/gluon jet data: the EnergyFlow format, offline generation, and representations.

Load real EnergyFlow files or regenerate the dataset with Pythia 8 and FastJet, split it by
seed, and turn jets into images, observables or compact PCA latents for a few qubits.

Example:
    >>> from qdm_qiskit.data import load_sample, make_splits, jet_images, PCALatent
    >>> jets = load_sample()
    >>> splits = make_splits(jets.y, seed=0)
    >>> images = jet_images(jets.X, npix=8).reshape(jets.n_jets, -1)
    >>> latent = PCALatent.fit(images[splits.train], n_qubits=3)
    >>> latent.transform(images[splits.test]).shape[1]
    8
"""

from qdm_qiskit.data.format import (
    COLUMNS,
    GLUON,
    QUARK,
    JetDataset,
    load_jets,
    save_jets,
    validate_jets,
)
from qdm_qiskit.data.generate import GeneratorSettings, generate_jets, pythia_seeds
from qdm_qiskit.data.images import IMAGE_OBSERVABLES, image_observables, jet_images
from qdm_qiskit.data.observables import OBSERVABLES, constituent_distances, jet_observables
from qdm_qiskit.data.sample import load_sample, sample_path
from qdm_qiskit.data.splits import DataSplits, make_splits
from qdm_qiskit.data.summary import discrimination_auc, summarize_jets
from qdm_qiskit.data.transforms import MinMaxScaler, PCALatent

__all__ = [
    "COLUMNS",
    "GLUON",
    "IMAGE_OBSERVABLES",
    "OBSERVABLES",
    "QUARK",
    "DataSplits",
    "GeneratorSettings",
    "JetDataset",
    "MinMaxScaler",
    "PCALatent",
    "constituent_distances",
    "discrimination_auc",
    "generate_jets",
    "image_observables",
    "jet_images",
    "jet_observables",
    "load_jets",
    "load_sample",
    "make_splits",
    "pythia_seeds",
    "sample_path",
    "save_jets",
    "summarize_jets",
    "validate_jets",
]
