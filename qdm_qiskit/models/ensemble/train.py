"""Step-by-step training of the ensemble model, and its evaluation.

QuDDPM's schedule: step ``T`` is trained first, mapping the prior (Haar states) onto the data
diffused to ``T - 1``; its parameters are then frozen, the prior is pushed through it, and step
``T - 1`` is trained to reach the data at ``T - 2``; and so on down to step 1, which must
reproduce the data itself. Each step runs ``train.iterations`` Adam steps on the whole training
ensemble, with fresh ancilla outcomes every iteration.

Deterministic for a seed: initial weights, the prior and the measurement outcomes come from
``train.seed``; every step draws its outcomes from its own generator, so a run resumed from a
checkpoint after step ``t`` continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.models.ensemble.config import EnsembleRunConfig
from qdm_qiskit.models.ensemble.distances import mean_fidelity, mmd, outcome_mmd, wasserstein
from qdm_qiskit.models.ensemble.forward import diffuse
from qdm_qiskit.models.ensemble.model import EnsembleDiffusion
from qdm_qiskit.models.ensemble.tasks import jet_task_states, task_states

#: Seed offsets, so that train, test and generator streams never coincide.
TEST_DATA_OFFSET = 1
DIFFUSION_OFFSET = 2
TEST_PRIOR_OFFSET = 1_000_003
PROPAGATE_OFFSET = 2_000_003
EVALUATION_OFFSET = 3_000_003


class EnsembleTrainingFailed(QdmError):
    """Training stopped on a non-finite loss."""


@dataclass(frozen=True, eq=False)
class EnsembleData:
    """Train and test ensembles at ``t = 0`` and the training ensemble diffused to every step.

    ``train_labels`` and ``test_labels``: quark (1) / gluon (0) labels of the ``jets`` task.
    """

    train: np.ndarray
    test: np.ndarray
    diffused: list[torch.Tensor]
    train_labels: np.ndarray | None = None
    test_labels: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class EnsembleTrainingResult:
    """A finished step-by-step run.

    Attributes:
        model: the trained model.
        history: one row per reverse step: ``step, initial_loss, final_loss, seconds``.
        losses: the loss of every iteration, ``(T, iterations)``, row ``T - t`` for step ``t``.
        checkpoint: the checkpoint file, if one was written.
        seconds: wall time of the steps trained in this call.
    """

    model: EnsembleDiffusion
    history: pd.DataFrame
    losses: np.ndarray
    checkpoint: Path | None
    seconds: float


StepCallback = Callable[[dict[str, float]], None]


def ensemble_data(config: EnsembleRunConfig) -> EnsembleData:
    """The task's train/test states and the forward-diffused training ensemble."""
    data, model = config.data, config.model
    if data.task == "jets":
        train, test, train_labels, test_labels = jet_task_states(data)
        diffused = diffuse(train, model, seed=data.seed + DIFFUSION_OFFSET)
        return EnsembleData(train, test, diffused, train_labels, test_labels)
    train = task_states(data.task, num_qubits=model.num_qubits, size=data.train_size,
                        scale=data.scale, seed=data.seed)  # fmt: skip
    test = task_states(data.task, num_qubits=model.num_qubits, size=data.test_size,
                       scale=data.scale, seed=data.seed + TEST_DATA_OFFSET)  # fmt: skip
    return EnsembleData(train, test, diffuse(train, model, seed=data.seed + DIFFUSION_OFFSET))


def distance_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss by name: ``mmd``, ``outcome_mmd`` or ``wasserstein``."""
    return {"mmd": mmd, "outcome_mmd": outcome_mmd, "wasserstein": wasserstein}[name]


def build_ensemble_model(
    config: EnsembleRunConfig, *, device: torch.device | str | None = None
) -> EnsembleDiffusion:
    """The untrained model with weights drawn from ``train.seed``."""
    model = EnsembleDiffusion(config, device=device)
    model.reset_parameters(torch.Generator().manual_seed(config.train.seed))
    return model


def step_generator(seed: int, t: int, offset: int = 0) -> torch.Generator:
    """The measurement-outcome stream of step ``t`` (independent of every other step)."""
    return torch.Generator().manual_seed((seed + offset) * 10_007 + t)


def train_ensemble(
    config: EnsembleRunConfig,
    *,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    device: torch.device | str | None = None,
    on_step: StepCallback | None = None,
    data: EnsembleData | None = None,
) -> EnsembleTrainingResult:
    """Train every reverse step in turn, from ``T`` down to 1.

    Args:
        config: task, model and trainer settings.
        checkpoint: file written after every step (and read with ``resume``).
        resume: continue after the last step stored in ``checkpoint`` if it exists.
        device: torch device (default: CUDA if available, else CPU).
        on_step: called with each step's history row (progress display).
        data: precomputed :func:`ensemble_data` (default: computed from ``config``).
    """
    from qdm_qiskit.models.ensemble.store import load_ensemble_checkpoint, save_ensemble_checkpoint

    data = ensemble_data(config) if data is None else data
    model = build_ensemble_model(config, device=device)
    steps, seed = config.model.steps, config.train.seed
    targets = [model.as_states(x) for x in data.diffused]
    losses = np.full((steps, config.train.iterations), np.nan)
    history: list[dict[str, float]] = []
    path = None if checkpoint is None else Path(checkpoint)
    first = steps
    if resume and path is not None and path.exists():
        saved = load_ensemble_checkpoint(path, expect=config)
        model.load_state_dict(saved.model_state)
        history, losses = list(saved.history), saved.losses
        first = steps - len(history)
        if first < 1:
            raise ConfigError(f"{path}: all {steps} steps are already trained")
    distance = distance_function(config.train.loss)
    current = model.prior(config.data.train_size, seed=seed)
    with torch.no_grad():  # push the prior through the steps already trained
        for t in range(steps, first, -1):
            current = model.step(current, t, step_generator(seed, t, PROPAGATE_OFFSET))
    started = time.perf_counter()
    for t in range(first, 0, -1):
        step_start = time.perf_counter()
        losses[steps - t] = _train_step(model, current, targets[t - 1], t, distance, config, path)
        row = {
            "step": float(t),
            "initial_loss": float(losses[steps - t, 0]),
            "final_loss": float(losses[steps - t, -1]),
            "seconds": time.perf_counter() - step_start,
        }
        history.append(row)
        with torch.no_grad():
            current = model.step(current, t, step_generator(seed, t, PROPAGATE_OFFSET))
        if path is not None:
            save_ensemble_checkpoint(path, model=model, config=config, history=history,
                                     losses=losses)  # fmt: skip
        if on_step is not None:
            on_step(row)
    return EnsembleTrainingResult(
        model=model,
        history=pd.DataFrame(history, columns=["step", "initial_loss", "final_loss", "seconds"]),
        losses=losses,
        checkpoint=path,
        seconds=time.perf_counter() - started,
    )


def _train_step(
    model: EnsembleDiffusion,
    inputs: torch.Tensor,
    target: torch.Tensor,
    t: int,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    config: EnsembleRunConfig,
    path: Path | None,
) -> np.ndarray:
    weights = model.weights[t - 1].detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([weights], lr=config.train.learning_rate)
    generator = step_generator(config.train.seed, t)
    curve = np.empty(config.train.iterations)
    for iteration in range(config.train.iterations):
        loss = distance(model.step(inputs, t, generator, weights=weights), target)
        value = float(loss.detach())
        if not math.isfinite(value):
            trained = config.model.steps - t
            kept = (
                f"; the {trained} step(s) trained before it are kept at {path}"
                if path is not None and trained
                else ""
            )
            raise EnsembleTrainingFailed(
                f"loss became {value} at step {t}, iteration {iteration + 1} (lower "
                f"train.learning_rate){kept}"
            )
        curve[iteration] = value
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        model.weights[t - 1] = weights.detach()
    return curve


def evaluate_ensemble(model: EnsembleDiffusion, data: EnsembleData, *, seed: int) -> pd.DataFrame:
    """Distances of generated ensembles to the data at every step, as a tidy table.

    Generates ``test_size`` samples from a fresh prior (seeded away from training) and
    ``train_size`` from the training prior, and compares them at each ``t`` with the forward-
    diffused data (columns ``t, ensemble, metric, value``). Ensembles: ``generated`` (fresh
    prior, against the test set at ``t = 0``), ``generated_train_prior``, and the
    ``real_vs_real`` floor (the training data against the disjoint test set, ``t = 0`` only).
    """
    config = model.config
    steps = config.model.steps
    distance = distance_function(config.train.loss)
    metric = config.train.loss
    test_prior = model.prior(config.data.test_size, seed=seed + TEST_PRIOR_OFFSET)
    fresh = model.generate(test_prior, step_generator(seed, 0, EVALUATION_OFFSET))[::-1]
    train_prior = model.prior(config.data.train_size, seed=config.train.seed)
    replay = model.generate(train_prior, step_generator(seed, 1, EVALUATION_OFFSET))[::-1]
    targets = [model.as_states(x) for x in data.diffused]
    test = model.as_states(data.test)
    rows: list[dict[str, object]] = []
    with torch.no_grad():
        for t in range(steps + 1):
            reference = test if t == 0 else targets[t]
            rows.append({"t": t, "ensemble": "generated", "metric": metric,
                         "value": float(distance(fresh[t], reference))})  # fmt: skip
            rows.append({"t": t, "ensemble": "generated_train_prior", "metric": metric,
                         "value": float(distance(replay[t], targets[t]))})  # fmt: skip
        rows.append({"t": 0, "ensemble": "real_vs_real", "metric": metric,
                     "value": float(distance(model.as_states(data.train), test))})  # fmt: skip
        if config.data.task == "cluster":
            zero = torch.zeros(2**model.num_qubits, dtype=test.dtype, device=test.device)
            zero[0] = 1.0
            for name, states in (("generated", fresh[0]), ("real", test)):
                rows.append({"t": 0, "ensemble": name, "metric": "fidelity_to_zero",
                             "value": float(mean_fidelity(states, zero))})  # fmt: skip
    return pd.DataFrame(rows, columns=["t", "ensemble", "metric", "value"])
