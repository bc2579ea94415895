"""A fully quantum jet generator: ensemble states read out as jet images.

The ``jets`` task amplitude-encodes each jet image as ``sum_j sqrt(p_j)|j>``. A generated state
is read in the computational basis: outcome ``j`` is pixel ``j``. With ``shots`` measurements the
generated image is the histogram of outcomes divided by ``shots``. That is all a device gives,
so a hardware run costs ``shots`` executions of the whole reverse circuit per jet. The engine's
exact ``|amplitude|^2`` is the limit of infinite shots.

The evaluation scores generated images with the jet metrics of :mod:`qdm_qiskit.results` against
the task's test jets. The floors come from its training jets. Two rows are the bar: the Haar prior
the reverse process starts from, and the untrained model.
"""

from __future__ import annotations

import numpy as np
import torch

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.ensemble.model import EnsembleDiffusion
from qdm_qiskit.models.ensemble.tasks import jet_images
from qdm_qiskit.models.ensemble.train import EnsembleData, step_generator
from qdm_qiskit.results.evaluation import Evaluation, RealJets, SampleSet, evaluate

#: Seed offsets of the jet evaluation: its prior, its ancilla outcomes and its shots.
JET_PRIOR_OFFSET = 4_000_003
JET_OUTCOME_OFFSET = 5_000_003
JET_SHOT_OFFSET = 6_000_003


def shot_images(images: np.ndarray, shots: int, *, seed: int) -> np.ndarray:
    """Images read from ``shots`` computational-basis measurements each: outcome histograms.

    ``images`` ``(N, npix, npix)`` are the exact outcome distributions; each row is replaced by
    a multinomial draw of ``shots`` outcomes divided by ``shots``.
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ConfigError(f"shots must be a positive integer, got {shots!r}")
    rng = np.random.default_rng(seed)
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    flat = flat / flat.sum(axis=1, keepdims=True)
    counts = np.stack([rng.multinomial(shots, row) for row in flat])
    return (counts / shots).reshape(np.shape(images))


def generated_jets(model: EnsembleDiffusion, count: int, *, seed: int) -> np.ndarray:
    """``count`` generated images (exact ``|amplitude|^2``) from a fresh Haar prior."""
    npix = model.config.data.npix
    prior = model.prior(count, seed=seed + JET_PRIOR_OFFSET)
    final = model.generate(prior, step_generator(seed, 0, JET_OUTCOME_OFFSET))[-1]
    return jet_images(final.detach().cpu().numpy(), npix)


def jet_sets(
    model: EnsembleDiffusion,
    untrained: EnsembleDiffusion,
    *,
    count: int,
    shots: int,
    seed: int,
) -> list[SampleSet]:
    """Generated jets (exact and read from ``shots``), the untrained model's and the prior's."""
    npix = model.config.data.npix
    exact = generated_jets(model, count, seed=seed)
    prior = model.prior(count, seed=seed + JET_PRIOR_OFFSET).detach().cpu().numpy()
    return [
        SampleSet("quantum ensemble, exact", exact),
        SampleSet(
            f"quantum ensemble, {shots} shots",
            shot_images(exact, shots, seed=seed + JET_SHOT_OFFSET),
        ),
        SampleSet("quantum ensemble untrained, exact", generated_jets(untrained, count, seed=seed)),
        SampleSet("Haar prior", jet_images(prior, npix)),
    ]


def real_task_jets(model: EnsembleDiffusion, data: EnsembleData) -> RealJets:
    """The task's test jets as the reference and its training jets as the floors' pool."""
    if data.train_labels is None or data.test_labels is None:
        raise ConfigError("jet metrics need the jets task (its states carry jet labels)")
    npix = model.config.data.npix
    return RealJets(
        reference=jet_images(data.test, npix),
        reference_labels=data.test_labels,
        pool=jet_images(data.train, npix),
        pool_labels=data.train_labels,
    )


def evaluate_jets(
    model: EnsembleDiffusion,
    untrained: EnsembleDiffusion,
    data: EnsembleData,
    *,
    count: int = 500,
    shots: int = 1000,
    seed: int = 0,
    bootstrap: int = 10,
) -> tuple[list[SampleSet], Evaluation]:
    """Every jet metric of :func:`jet_sets` against the test jets (all jets, no subsets)."""
    sets = jet_sets(model, untrained, count=count, shots=shots, seed=seed)
    real = real_task_jets(model, data)
    with torch.no_grad():
        evaluation = evaluate(sets, real, bootstrap=bootstrap, seed=seed, subsets=("all",))
    return sets, evaluation
