"""The training loop: histories, determinism, checkpoints, resume, failures, early stopping."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from qdm_qiskit.errors import ConfigError, DataError, QdmError
from qdm_qiskit.models import (
    DataConfig,
    JetImageData,
    ModelConfig,
    RunConfig,
    TrainConfig,
    TrainingFailed,
    build_model,
    learning_rate,
    load_checkpoint,
    load_image_data,
    train_model,
)
from qdm_qiskit.models.angle import AngleDenoiser
from qdm_qiskit.models.checkpoint import restore_model_state
from qdm_qiskit.workflows.quantum import load_model

DATA = DataConfig(npix=4, max_jets=200)
ANGLE_MODEL = ModelConfig(family="angle", num_qubits=4, layers=1, steps=3)
STATE_MODEL = ModelConfig(family="state", num_qubits=4, layers=1, steps=2)
LOSSES = ["epoch", "train_loss", "validation_loss", "learning_rate"]


def angle(**train: Any) -> RunConfig:
    options = {"epochs": 3, "batch_size": 32, "learning_rate": 0.05, "seed": 0, **train}
    return RunConfig(data=DATA, model=ANGLE_MODEL, train=TrainConfig(**options))


def state(**train: Any) -> RunConfig:
    options = {"epochs": 2, "batch_size": 32, "learning_rate": 0.05, "seed": 0, **train}
    return RunConfig(data=DATA, model=STATE_MODEL, train=TrainConfig(**options))


@pytest.fixture(scope="module")
def data() -> JetImageData:
    return load_image_data(DATA)


def assert_same_state(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> None:
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key].cpu(), second[key].cpu()), key


def same_state(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> bool:
    return first.keys() == second.keys() and all(
        torch.equal(first[k].cpu(), second[k].cpu()) for k in first
    )


# -- learning-rate schedule ------------------------------------------------------------------


def test_cosine_schedule_runs_from_the_base_rate_to_five_percent() -> None:
    config = angle(epochs=6, learning_rate=0.2, lr_schedule="cosine")
    rates = [learning_rate(config, epoch) for epoch in range(6)]
    assert rates[0] == pytest.approx(0.2)
    assert rates[-1] == pytest.approx(0.01)
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[3] < 0.2 * (0.05 + 0.95 * 0.5) < rates[2]  # the midpoint lies between 2 and 3


def test_constant_schedule_stays() -> None:
    config = angle(epochs=5, learning_rate=0.3, lr_schedule="constant")
    assert [learning_rate(config, epoch) for epoch in range(5)] == [0.3] * 5


def test_one_epoch_uses_the_base_rate() -> None:
    assert learning_rate(angle(epochs=1, learning_rate=0.07), 0) == 0.07


# -- the loop --------------------------------------------------------------------------------


def test_history_and_validation_improvement(data: JetImageData) -> None:
    config = angle(epochs=3, learning_rate=0.05, seed=1)
    rows: list[dict[str, float]] = []
    result = train_model(config, data=data, on_epoch=rows.append)
    history = result.history
    assert list(history.columns) == [*LOSSES, "seconds"]
    assert len(history) == config.train.epochs == len(rows)
    assert history.epoch.tolist() == [1.0, 2.0, 3.0]
    assert np.isfinite(history[["train_loss", "validation_loss"]].to_numpy()).all()
    assert (history[["train_loss", "validation_loss"]].to_numpy() > 0).all()
    np.testing.assert_allclose(history.learning_rate, [learning_rate(config, e) for e in range(3)])
    assert history.validation_loss.iloc[-1] < 0.9 * history.validation_loss.iloc[0]
    assert history.train_loss.iloc[-1] < history.train_loss.iloc[0]
    assert result.stopped == "completed"
    assert result.best_epoch == int(history.validation_loss.idxmin()) + 1
    assert result.checkpoint is None
    assert rows[-1]["validation_loss"] == history.validation_loss.iloc[-1]


def test_state_model_trains(data: JetImageData) -> None:
    result = train_model(state(epochs=2), data=data)
    history = result.history
    assert len(history) == 2
    losses = history[["train_loss", "validation_loss"]].to_numpy()
    assert np.isfinite(losses).all() and (losses >= 0).all() and (losses <= 1).all()


def test_training_changes_the_weights(data: JetImageData) -> None:
    config = angle(epochs=1)
    trained = train_model(config, data=data).model
    assert not torch.equal(trained.weights, build_model(config).weights)


@pytest.mark.parametrize("make", [angle, state], ids=["angle", "state"])
def test_same_seed_same_run_other_seed_other_run(data: JetImageData, make: Any) -> None:
    first = train_model(make(epochs=2, seed=4), data=data)
    second = train_model(make(epochs=2, seed=4), data=data)
    other = train_model(make(epochs=2, seed=5), data=data)
    pd.testing.assert_frame_equal(first.history[LOSSES], second.history[LOSSES])
    assert_same_state(first.model.state_dict(), second.model.state_dict())
    assert not first.history[LOSSES].equals(other.history[LOSSES])
    assert not same_state(first.model.state_dict(), other.model.state_dict())


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_contents(tmp_path: Path, data: JetImageData) -> None:
    config = angle(epochs=2, seed=7)
    path = tmp_path / "sub" / "model.pt"
    result = train_model(config, data=data, checkpoint=path)
    assert path.is_file() and result.checkpoint == path
    assert not list(path.parent.glob("*.tmp*"))  # atomic write leaves no temporary file
    saved = load_checkpoint(path)
    assert saved.config == config
    assert saved.family == "angle"
    assert saved.epoch == 2
    assert saved.complete is True
    assert saved.best_epoch == result.best_epoch
    assert saved.best_validation == pytest.approx(result.history.validation_loss.min())
    assert {"qdm-qiskit", "torch"} <= set(saved.versions)
    assert saved.versions["torch"] == torch.__version__
    assert [row["epoch"] for row in saved.history] == [1.0, 2.0]
    pd.testing.assert_frame_equal(pd.DataFrame(saved.history)[LOSSES], result.history[LOSSES])
    assert saved.optimizer_state is not None and saved.generator_state is not None
    assert_same_state(saved.model_state, result.model.state_dict())
    assert_same_state(saved.best_state, result.model.state_dict())
    raw = torch.load(path, weights_only=True)
    assert raw["seed"] == 7 == saved.config.train.seed


def test_resume_after_a_crash_is_bit_for_bit(tmp_path: Path, data: JetImageData) -> None:
    """Interrupt a 4-epoch (cosine) run after epoch 2, resume it, compare with one run."""
    config = angle(epochs=4, learning_rate=0.1, lr_schedule="cosine", seed=2)
    whole = train_model(config, data=data, checkpoint=tmp_path / "whole.pt")

    class Crash(Exception):
        pass

    def crash_after_two(row: dict[str, float]) -> None:
        if row["epoch"] == 2:
            raise Crash

    path = tmp_path / "crashed.pt"
    with pytest.raises(Crash):
        train_model(config, data=data, checkpoint=path, on_epoch=crash_after_two)
    assert load_checkpoint(path).epoch == 2
    assert load_checkpoint(path).complete is False
    resumed = train_model(config, data=data, checkpoint=path, resume=True)
    pd.testing.assert_frame_equal(resumed.history[LOSSES], whole.history[LOSSES])
    assert_same_state(resumed.model.state_dict(), whole.model.state_dict())
    assert resumed.best_epoch == whole.best_epoch
    assert_same_state(
        load_checkpoint(path).model_state, load_checkpoint(tmp_path / "whole.pt").model_state
    )


@pytest.mark.parametrize(
    "learning_rate_",
    [
        0.05,  # validation improves every epoch: epoch 2 is also the best epoch
        # validation gets worse at epoch 2 (best epoch 1): the finished 2-epoch checkpoint
        # stores the *best* weights as model_state, and resume continues from them rather
        # than from the epoch-2 weights the optimiser state belongs to
        0.3,
    ],
)
def test_resume_with_more_epochs_matches_an_uninterrupted_run(
    tmp_path: Path, data: JetImageData, learning_rate_: float
) -> None:
    """Train 2 epochs, then resume with epochs=4: same as 4 epochs in one go (constant lr)."""
    four = angle(epochs=4, learning_rate=learning_rate_, lr_schedule="constant", seed=0)
    two = replace(four, train=replace(four.train, epochs=2))
    whole = train_model(four, data=data)
    path = tmp_path / "ck.pt"
    first = train_model(two, data=data, checkpoint=path)
    assert len(first.history) == 2 and load_checkpoint(path).epoch == 2
    resumed = train_model(four, data=data, checkpoint=path, resume=True)
    assert len(resumed.history) == 4
    pd.testing.assert_frame_equal(resumed.history[LOSSES], whole.history[LOSSES])
    assert_same_state(resumed.model.state_dict(), whole.model.state_dict())


def test_resume_without_a_checkpoint_starts_fresh(tmp_path: Path, data: JetImageData) -> None:
    config = angle(epochs=1)
    fresh = train_model(config, data=data)
    resumed = train_model(config, data=data, checkpoint=tmp_path / "new.pt", resume=True)
    pd.testing.assert_frame_equal(resumed.history[LOSSES], fresh.history[LOSSES])
    assert (tmp_path / "new.pt").is_file()


@pytest.fixture(scope="module")
def two_epoch_checkpoint(tmp_path_factory: pytest.TempPathFactory, data: JetImageData) -> Path:
    path = tmp_path_factory.mktemp("ck") / "two.pt"
    train_model(angle(epochs=2, seed=3), data=data, checkpoint=path)
    return path


@pytest.mark.parametrize(
    "change",
    [
        lambda c: replace(c, train=replace(c.train, learning_rate=0.01)),
        lambda c: replace(c, train=replace(c.train, seed=4)),
        lambda c: replace(c, model=replace(c.model, layers=2)),
        lambda c: replace(c, data=replace(c.data, max_jets=150)),
    ],
    ids=["learning_rate", "seed", "layers", "max_jets"],
)
def test_resume_with_another_config_is_refused(
    two_epoch_checkpoint: Path, data: JetImageData, change: Any
) -> None:
    config = change(angle(epochs=4, seed=3))
    before = two_epoch_checkpoint.read_bytes()
    with pytest.raises(ConfigError, match="another config"):
        train_model(config, data=data, checkpoint=two_epoch_checkpoint, resume=True)
    assert two_epoch_checkpoint.read_bytes() == before


@pytest.mark.parametrize("epochs", [1, 2])
def test_resume_of_a_finished_run_is_refused(
    two_epoch_checkpoint: Path, data: JetImageData, epochs: int
) -> None:
    with pytest.raises(ConfigError, match="already trained for 2 epochs"):
        train_model(
            angle(epochs=epochs, seed=3), data=data, checkpoint=two_epoch_checkpoint, resume=True
        )


def _corrupt(kind: str, good: Path, path: Path) -> None:
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "unrelated":
        torch.save({"weights": torch.zeros(3), "epoch": 1}, path)
    elif kind == "tensor":
        torch.save(torch.ones(2), path)
    elif kind == "missing-keys":
        torch.save({"format": "qdm-qiskit checkpoint", "format_version": 1}, path)
    elif kind == "bad-config":
        payload = torch.load(good, weights_only=True)
        payload["config"]["model"]["layerz"] = 3
        torch.save(payload, path)
    elif kind == "future-version":
        payload = torch.load(good, weights_only=True)
        payload["format_version"] = 99
        torch.save(payload, path)


@pytest.mark.parametrize(
    "kind",
    [
        "random",
        "truncated",
        "empty",
        "unrelated",
        "tensor",
        "missing-keys",
        "bad-config",
        "future-version",
        "absent",
    ],
)
def test_corrupted_checkpoint_is_a_one_line_data_error(
    tmp_path: Path, two_epoch_checkpoint: Path, kind: str
) -> None:
    path = tmp_path / "bad.pt"
    _corrupt(kind, two_epoch_checkpoint, path)
    for load in (load_checkpoint, load_model):
        with pytest.raises(DataError) as info:
            load(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message


def test_corrupted_checkpoint_is_refused_by_resume(tmp_path: Path, data: JetImageData) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError):
        train_model(angle(epochs=2), data=data, checkpoint=path, resume=True)


def test_angle_checkpoint_does_not_load_into_a_state_model(two_epoch_checkpoint: Path) -> None:
    saved = load_checkpoint(two_epoch_checkpoint)
    model = build_model(state())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ConfigError, match="'angle' model, not 'state'"):
        restore_model_state(model, saved, family="state", source="ck")
    assert_same_state(model.state_dict(), before)


def test_checkpoint_of_another_shape_does_not_load(two_epoch_checkpoint: Path) -> None:
    saved = load_checkpoint(two_epoch_checkpoint)
    deeper = build_model(replace(angle(), model=replace(ANGLE_MODEL, layers=2)))
    with pytest.raises(ConfigError, match="do not fit"):
        restore_model_state(deeper, saved, family="angle", source="ck")


def test_load_model_samples_like_the_trained_model(tmp_path: Path, data: JetImageData) -> None:
    path = tmp_path / "ck.pt"
    result = train_model(angle(epochs=2, seed=6), data=data, checkpoint=path)
    loaded = load_model(path)
    assert isinstance(loaded, AngleDenoiser)
    assert loaded.config == result.model.config
    assert_same_state(loaded.state_dict(), result.model.state_dict())
    np.testing.assert_array_equal(loaded.sample(5, seed=3), result.model.sample(5, seed=3))


def test_load_model_of_a_state_checkpoint(tmp_path: Path, data: JetImageData) -> None:
    path = tmp_path / "ck.pt"
    result = train_model(state(epochs=1), data=data, checkpoint=path)
    loaded = load_model(path)
    assert loaded.family == "state"
    images = data.part("test")[:3]
    np.testing.assert_array_equal(
        loaded.reconstruct(images, seed=1),  # type: ignore[attr-defined]
        result.model.reconstruct(images, seed=1),  # type: ignore[attr-defined]
    )


# -- failures --------------------------------------------------------------------------------


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, data: JetImageData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first training batch after the first validation (epoch 2, step 1) gives NaN."""
    original = AngleDenoiser.loss
    validated = []

    def loss(self: AngleDenoiser, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        value = original(self, batch, generator)
        if not torch.is_grad_enabled():
            validated.append(True)
        elif validated:
            return value * math.nan
        return value

    monkeypatch.setattr(AngleDenoiser, "loss", loss)
    path = tmp_path / "ck.pt"
    with pytest.raises(TrainingFailed) as info:
        train_model(angle(epochs=3), data=data, checkpoint=path)
    message = str(info.value)
    assert isinstance(info.value, QdmError)
    assert "\n" not in message
    assert "nan at epoch 2, step 1" in message
    assert "epoch 1" in message and str(path) in message
    saved = load_checkpoint(path)
    assert saved.epoch == 1
    assert saved.complete is False
    assert len(saved.history) == 1
    for tensor in [*saved.model_state.values(), *saved.best_state.values()]:
        assert torch.isfinite(tensor).all()


def test_nan_in_the_first_epoch_writes_no_checkpoint(
    tmp_path: Path, data: JetImageData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        AngleDenoiser, "loss", lambda self, batch, generator: torch.tensor(math.inf)
    )
    path = tmp_path / "ck.pt"
    with pytest.raises(TrainingFailed, match="inf at epoch 1, step 1"):
        train_model(angle(epochs=2), data=data, checkpoint=path)
    assert not path.exists()


def test_early_stopping_restores_the_best_weights(tmp_path: Path, data: JetImageData) -> None:
    """lr 5 overshoots: the validation loss rises at some epoch and patience 1 stops there."""
    config = angle(epochs=5, learning_rate=5.0, lr_schedule="constant", patience=1, seed=1)
    path = tmp_path / "ck.pt"
    per_epoch: list[dict[str, torch.Tensor]] = []
    # the checkpoint is written before on_epoch: it holds the weights of that epoch
    result = train_model(
        config,
        data=data,
        checkpoint=path,
        on_epoch=lambda row: per_epoch.append(load_checkpoint(path).model_state),
    )
    history = result.history
    assert result.stopped == "early_stopping"
    assert len(history) < config.train.epochs
    losses = history.validation_loss.to_numpy()
    assert losses[-1] >= losses[:-1].min()  # stopped on an epoch that did not improve
    assert result.best_epoch == int(np.argmin(losses)) + 1 < len(history)
    saved = load_checkpoint(path)
    assert saved.best_epoch == result.best_epoch
    assert_same_state(result.model.state_dict(), saved.best_state)
    assert_same_state(result.model.state_dict(), per_epoch[result.best_epoch - 1])
    assert not same_state(result.model.state_dict(), per_epoch[-1])


def test_patience_zero_never_stops(data: JetImageData) -> None:
    config = angle(epochs=5, learning_rate=5.0, lr_schedule="constant", patience=0, seed=1)
    result = train_model(config, data=data)
    assert result.stopped == "completed" and len(result.history) == 5
