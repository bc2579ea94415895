"""Step-by-step training, resuming, checkpoints, evaluation, and the train/sample workflows."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from qiskit.quantum_info import DensityMatrix, Statevector, partial_trace

from qdm_qiskit.errors import ConfigError, DataError
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.models.ensemble import (
    QUDDPM_CIRCLE,
    QUDDPM_CLUSTER_1,
    QUDDPM_CLUSTER_2,
    EnsembleDataConfig,
    EnsembleDiffusion,
    EnsembleModelConfig,
    EnsembleRunConfig,
    EnsembleTrainConfig,
    EnsembleTrainingFailed,
    build_ensemble_model,
    ensemble_data,
    evaluate_ensemble,
    load_ensemble_checkpoint,
    save_ensemble_checkpoint,
    train_ensemble,
)
from qdm_qiskit.models.ensemble import train as train_module
from qdm_qiskit.models.ensemble.store import is_ensemble_checkpoint
from qdm_qiskit.models.ensemble.workflow import (
    device_prior,
    load_ensemble_model,
    published_reference,
    sample_ensemble,
    sample_ensemble_to_directory,
    summarize,
    train_ensemble_to_directory,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

#: 1 data qubit + 1 ancilla, T = 2: learns the cluster in a fraction of a second.
TINY = EnsembleRunConfig(
    data=EnsembleDataConfig(train_size=30, test_size=30),
    model=EnsembleModelConfig(num_qubits=1, ancillas=1, layers=3, steps=2),
    train=EnsembleTrainConfig(iterations=40, learning_rate=0.08, seed=0),
)
#: T = 3 with few iterations, for resuming.
RESUMABLE = EnsembleRunConfig(
    data=EnsembleDataConfig(train_size=20, test_size=20),
    model=EnsembleModelConfig(num_qubits=1, ancillas=1, layers=2, steps=3),
    train=EnsembleTrainConfig(iterations=12, learning_rate=0.08, seed=2),
)


def numpy_mmd(a: np.ndarray, b: np.ndarray) -> float:
    def k(x: np.ndarray, y: np.ndarray) -> float:
        return float((np.abs(x.conj() @ y.T) ** 2).mean())

    return k(a, a) + k(b, b) - 2 * k(a, b)


def value(frame: pd.DataFrame, ensemble: str, metric: str, t: int = 0) -> float:
    rows = frame[(frame.t == t) & (frame.ensemble == ensemble) & (frame.metric == metric)]
    assert len(rows) == 1, (ensemble, metric, t, rows)
    return float(rows["value"].iloc[0])


def exact_mean_distribution(model: EnsembleDiffusion, vector: np.ndarray) -> np.ndarray:
    """Trajectory-averaged data distribution of the reverse process, with quantum_info."""
    n, m = model.num_qubits, model.num_ancillas
    names = list(model.engine.weight_names)
    rho = DensityMatrix(Statevector(vector))
    for t in range(model.config.model.steps, 0, -1):
        weights = model.weights[t - 1].detach().double().numpy()
        circuit = model.step_circuit.assign_parameters(
            {p: float(weights[names.index(p.name)]) for p in model.step_circuit.parameters}
        )
        full = rho.expand(DensityMatrix.from_label("0" * m)).evolve(circuit)
        rho = partial_trace(full, list(range(n, n + m)))
    return rho.probabilities()


class Interrupted(Exception):
    pass


def stop_after(count: int):  # type: ignore[no-untyped-def]
    seen: list[dict[str, float]] = []

    def on_step(row: dict[str, float]) -> None:
        seen.append(row)
        if len(seen) == count:
            raise Interrupted

    return on_step


@pytest.fixture(scope="module")
def tiny_data():  # type: ignore[no-untyped-def]
    return ensemble_data(TINY)


@pytest.fixture(scope="module")
def tiny_run(tiny_data):  # type: ignore[no-untyped-def]
    return train_ensemble(TINY, data=tiny_data)


@pytest.fixture(scope="module")
def resumable(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """An uninterrupted run of RESUMABLE, with its checkpoint."""
    path = tmp_path_factory.mktemp("full") / "checkpoint.pt"
    return train_ensemble(RESUMABLE, checkpoint=path)


# -- data and training -----------------------------------------------------------------------


def test_ensemble_data(tiny_data) -> None:  # type: ignore[no-untyped-def]
    assert tiny_data.train.shape == (30, 2) and tiny_data.test.shape == (30, 2)
    assert len(tiny_data.diffused) == TINY.model.steps + 1
    np.testing.assert_array_equal(tiny_data.diffused[0].numpy(), tiny_data.train)
    # train and test are disjoint draws
    assert not np.isclose(np.abs(tiny_data.train.conj() @ tiny_data.test.T) ** 2, 1.0).any()
    again = ensemble_data(TINY)
    np.testing.assert_array_equal(again.test, tiny_data.test)
    assert all(torch.equal(a, b) for a, b in zip(again.diffused, tiny_data.diffused, strict=True))


def test_training_lowers_the_test_distance(tiny_run, tiny_data) -> None:  # type: ignore[no-untyped-def]
    trained = evaluate_ensemble(tiny_run.model, tiny_data, seed=0)
    untrained = evaluate_ensemble(build_ensemble_model(TINY), tiny_data, seed=0)
    assert value(trained, "generated", "mmd") < 0.2 * value(untrained, "generated", "mmd")
    assert value(trained, "generated_train_prior", "mmd") < 0.2 * value(
        untrained, "generated_train_prior", "mmd"
    )
    # the trained samples sit near |0>, as the real test states do
    real = float(np.mean(np.abs(tiny_data.test[:, 0]) ** 2))
    assert np.isclose(value(trained, "real", "fidelity_to_zero"), real, atol=1e-5)
    assert abs(value(trained, "generated", "fidelity_to_zero") - real) < 0.1
    assert abs(value(untrained, "generated", "fidelity_to_zero") - real) > 0.1


def test_history_and_losses(tiny_run) -> None:  # type: ignore[no-untyped-def]
    history = tiny_run.history
    assert list(history.columns) == ["step", "initial_loss", "final_loss", "seconds"]
    assert history["step"].tolist() == [2.0, 1.0]  # T first, down to 1
    assert tiny_run.losses.shape == (2, 40) and np.isfinite(tiny_run.losses).all()
    np.testing.assert_array_equal(history["initial_loss"], tiny_run.losses[:, 0])
    np.testing.assert_array_equal(history["final_loss"], tiny_run.losses[:, -1])
    assert (history["seconds"] > 0).all() and tiny_run.checkpoint is None
    # the last step (which must reproduce the data itself) learns a lot
    assert tiny_run.losses[-1, -5:].mean() < 0.2 * tiny_run.losses[-1, :5].mean()


def test_evaluation_table(tiny_run, tiny_data) -> None:  # type: ignore[no-untyped-def]
    frame = evaluate_ensemble(tiny_run.model, tiny_data, seed=3)
    assert list(frame.columns) == ["t", "ensemble", "metric", "value"]
    for ensemble in ("generated", "generated_train_prior"):
        rows = frame[(frame.ensemble == ensemble) & (frame.metric == "mmd")]
        assert rows.t.tolist() == [0, 1, 2]
    assert np.isfinite(frame["value"]).all()
    floor = value(frame, "real_vs_real", "mmd")
    assert np.isclose(floor, numpy_mmd(tiny_data.train, tiny_data.test), rtol=1e-4, atol=1e-6)
    # at t = T both the generated ensemble and the reference are fixed: the prior vs the data
    model = tiny_run.model
    prior = model.prior(TINY.data.test_size, seed=3 + train_module.TEST_PRIOR_OFFSET).numpy()
    expected = numpy_mmd(prior, tiny_data.diffused[2].numpy())
    assert np.isclose(value(frame, "generated", "mmd", t=2), expected, rtol=1e-4, atol=1e-6)
    assert evaluate_ensemble(model, tiny_data, seed=3).equals(frame)  # deterministic


def test_same_seed_same_weights_and_other_seeds_differ(tiny_run, tiny_data) -> None:  # type: ignore[no-untyped-def]
    again = train_ensemble(TINY, data=tiny_data)
    assert torch.equal(again.model.weights, tiny_run.model.weights)
    np.testing.assert_array_equal(again.losses, tiny_run.losses)
    other = train_ensemble(TINY.with_seed(1), data=tiny_data)
    assert not torch.equal(other.model.weights, tiny_run.model.weights)


@pytest.mark.parametrize(
    ("loss", "forward"), [("wasserstein", "scramble"), ("mmd", "depolarizing")]
)
def test_other_losses_and_forward_processes_train(loss: str, forward: str) -> None:
    config = replace(
        TINY,
        model=replace(TINY.model, forward=forward),
        train=replace(TINY.train, loss=loss),
    )
    data = ensemble_data(config)
    result = train_ensemble(config, data=data)
    assert np.isfinite(result.losses).all()
    assert result.losses[-1, -5:].mean() < 0.8 * result.losses[-1, :5].mean()
    trained = evaluate_ensemble(result.model, data, seed=0)
    untrained = evaluate_ensemble(build_ensemble_model(config), data, seed=0)
    assert value(trained, "generated", loss) < 0.8 * value(untrained, "generated", loss)
    if forward == "depolarizing":
        assert result.model.mixed and data.diffused[1].shape == (30, 2, 2)
        assert result.model.prior(3, seed=0).shape == (3, 2, 2)


# -- resuming --------------------------------------------------------------------------------


def test_resume_after_an_interruption_equals_an_uninterrupted_run(
    resumable,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(Interrupted):
        train_ensemble(RESUMABLE, checkpoint=path, on_step=stop_after(2))
    partial = load_ensemble_checkpoint(path, expect=RESUMABLE)
    assert not partial.complete and [row["step"] for row in partial.history] == [3.0, 2.0]
    seen: list[dict[str, float]] = []
    resumed = train_ensemble(RESUMABLE, checkpoint=path, resume=True, on_step=seen.append)
    assert [row["step"] for row in seen] == [1.0]  # only the remaining step ran
    assert torch.equal(resumed.model.weights, resumable.model.weights)
    np.testing.assert_array_equal(resumed.losses, resumable.losses)
    assert resumed.history["step"].tolist() == [3.0, 2.0, 1.0]
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="seconds"), resumable.history.drop(columns="seconds")
    )
    final = load_ensemble_checkpoint(path)
    assert final.complete
    torch.testing.assert_close(final.model_state["weights"], resumable.model.weights.detach())


def test_resume_refuses_another_config_and_a_complete_run(resumable, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(Interrupted):
        train_ensemble(RESUMABLE, checkpoint=path, on_step=stop_after(1))
    with pytest.raises(ConfigError, match="another config") as info:
        train_ensemble(RESUMABLE.with_seed(7), checkpoint=path, resume=True)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="already trained"):
        train_ensemble(RESUMABLE, checkpoint=resumable.checkpoint, resume=True)


def test_resume_without_a_checkpoint_starts_from_scratch(resumable, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    fresh = train_ensemble(RESUMABLE, checkpoint=tmp_path / "new.pt", resume=True)
    assert torch.equal(fresh.model.weights, resumable.model.weights)
    assert (tmp_path / "new.pt").is_file()


def test_a_nan_loss_stops_with_one_line_and_keeps_earlier_steps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = [0]
    real_mmd = train_module.mmd

    def poisoned(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        calls[0] += 1
        loss = real_mmd(a, b)
        # fine for the whole of step 3, NaN from the 3rd iteration of step 2 on
        return loss * float("nan") if calls[0] > RESUMABLE.train.iterations + 2 else loss

    monkeypatch.setattr(train_module, "mmd", poisoned)
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(EnsembleTrainingFailed) as info:
        train_ensemble(RESUMABLE, checkpoint=path)
    message = str(info.value)
    assert "\n" not in message and "nan" in message
    assert "step 2" in message and "iteration 3" in message
    saved = load_ensemble_checkpoint(path)
    assert [row["step"] for row in saved.history] == [3.0]


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_round_trip(resumable) -> None:  # type: ignore[no-untyped-def]
    path = resumable.checkpoint
    assert is_ensemble_checkpoint(path)
    saved = load_ensemble_checkpoint(path, expect=RESUMABLE)
    assert saved.config == RESUMABLE and saved.complete
    assert len(saved.history) == 3 and saved.losses.shape == (3, 12)
    np.testing.assert_array_equal(saved.losses, resumable.losses)
    assert {"qdm-qiskit", "torch", "qiskit"} <= set(saved.versions)
    model = load_ensemble_model(path)
    assert torch.equal(model.weights.detach(), resumable.model.weights.detach())
    raw = torch.load(path, weights_only=True)
    assert raw["seed"] == RESUMABLE.train.seed and raw["family"] == "ensemble"


def write_payload(path: Path, payload: object) -> Path:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"garbage" * 40, "not a readable"),
        (b"", "not a readable"),
        ("other torch file", "not a qdm-qiskit ensemble checkpoint"),
        ("list", "not a qdm-qiskit ensemble checkpoint"),
        ("future format", "99.*(not supported|unsupported)"),
        ("missing history", "damaged checkpoint"),
        ("bad config", "damaged checkpoint"),
        ("truncated", "not a readable"),
    ],
)
def test_bad_checkpoints_raise_one_line_data_errors(
    resumable,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    content: object,
    fragment: str,
) -> None:
    path = tmp_path / "bad.pt"
    original = torch.load(resumable.checkpoint, weights_only=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "other torch file":
        write_payload(path, {"state_dict": {"w": torch.zeros(2)}})
    elif content == "list":
        write_payload(path, [1, 2, 3])
    elif content == "future format":
        write_payload(path, {**original, "format_version": 99})
    elif content == "missing history":
        write_payload(path, {k: v for k, v in original.items() if k != "history"})
    elif content == "bad config":
        config = json.loads(json.dumps(original["config"]))
        config["model"]["layers"] = 0
        write_payload(path, {**original, "config": config})
    else:
        path.write_bytes(resumable.checkpoint.read_bytes()[:1500])
    with pytest.raises(DataError, match=fragment) as info:
        load_ensemble_checkpoint(path)
    assert "\n" not in str(info.value) and "bad.pt" in str(info.value)
    if content not in ("future format", "missing history", "bad config"):
        assert not is_ensemble_checkpoint(path)
    with pytest.raises(DataError, match="no such checkpoint file"):
        load_ensemble_checkpoint(tmp_path / "missing.pt")


def test_save_writes_what_load_reads(tmp_path: Path) -> None:
    model = build_ensemble_model(RESUMABLE)
    losses = np.full((3, 12), np.nan)
    losses[0] = np.linspace(1, 0, 12)
    history = [{"step": 3.0, "initial_loss": 1.0, "final_loss": 0.0, "seconds": 0.1}]
    path = save_ensemble_checkpoint(tmp_path / "c.pt", model=model, config=RESUMABLE,
                                    history=history, losses=losses)  # fmt: skip
    saved = load_ensemble_checkpoint(path)
    assert saved.history == history and not saved.complete
    np.testing.assert_array_equal(saved.losses, losses)
    assert torch.equal(saved.model_state["weights"], model.weights.detach())
    with pytest.raises(ConfigError, match="only 1 of 3 steps"):
        load_ensemble_model(path)


# -- workflows -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("workflow")
    return root, train_ensemble_to_directory(TINY, results_dir=root / "results")


def test_train_to_directory_writes_every_artifact(trained_dir, tiny_run) -> None:  # type: ignore[no-untyped-def]
    root, (directory, result, summary) = trained_dir
    names = {p.name for p in directory.iterdir()}
    expected = {"checkpoint.pt", "history.csv", "evaluation.csv", "summary.csv", "report.md",
                "distance.png", "info.json"}  # fmt: skip
    assert expected <= names
    assert [p.name for p in (root / "results").iterdir()] == [directory.name]  # no partials
    assert (directory / "distance.png").read_bytes()[:8] == PNG_MAGIC
    info = json.loads((directory / "info.json").read_text())
    assert info["seed"] == 0 and info["family"] == "ensemble" and info["kind"] == "train"
    assert {"qdm-qiskit", "torch", "qiskit"} <= set(info["versions"])
    assert info["config"] == TINY.to_dict()
    assert info["parameters"] == {"quantum": 2 * 3 * 2 * 2, "classical": 0}
    history = pd.read_csv(directory / "history.csv")
    assert history["step"].tolist() == [2, 1]
    # the same seed gives the same model as the library call
    assert torch.equal(result.model.weights, tiny_run.model.weights)
    saved = load_ensemble_model(directory / "checkpoint.pt")
    assert torch.equal(saved.weights.detach(), tiny_run.model.weights.detach())
    evaluation = pd.read_csv(directory / "evaluation.csv")
    assert {"generated", "generated_train_prior", "real_vs_real"} <= set(evaluation.ensemble)
    table = pd.read_csv(directory / "summary.csv")
    pd.testing.assert_frame_equal(table, summary, check_dtype=False)
    rows = dict(zip(summary.ensemble, summary.value, strict=True))
    assert (
        rows["trained: fresh prior vs test set"] < 0.2 * rows["untrained: fresh prior vs test set"]
    )
    assert not any(name.startswith("QuDDPM published") for name in rows)  # a tiny model
    report = (directory / "report.md").read_text()
    assert "| ensemble | metric | value |" in report and "seed 0" in report
    assert "24 quantum + 0 classical" in report


def test_train_to_directory_reports_the_final_checkpoint(trained_dir) -> None:  # type: ignore[no-untyped-def]
    """The returned result names the checkpoint where it is, not the hidden partial directory."""
    _, (directory, result, _) = trained_dir
    assert result.checkpoint == directory / "checkpoint.pt"
    assert result.checkpoint.is_file()


def test_published_reference() -> None:
    assert published_reference(QUDDPM_CLUSTER_2) == ("cluster n=2", 3.9e-3)
    assert published_reference(QUDDPM_CLUSTER_1) == ("cluster n=1", 6.4e-4)
    assert published_reference(QUDDPM_CIRCLE) == ("circle n=1", 2.8e-3)
    # the training budget does not change the task; the model shape and the metric do
    quick = replace(QUDDPM_CLUSTER_2, train=replace(QUDDPM_CLUSTER_2.train, iterations=5))
    assert published_reference(quick) == ("cluster n=2", 3.9e-3)
    other_loss = replace(
        QUDDPM_CLUSTER_2, train=replace(QUDDPM_CLUSTER_2.train, loss="wasserstein")
    )
    assert published_reference(other_loss) is None
    assert published_reference(TINY) is None


def test_summarize_picks_the_t0_rows() -> None:
    def frame(generated: float, replay: float, fidelity: float) -> pd.DataFrame:
        rows = [
            (0, "generated", "mmd", generated), (1, "generated", "mmd", 9.0),
            (0, "generated_train_prior", "mmd", replay), (0, "real_vs_real", "mmd", 0.01),
            (0, "generated", "fidelity_to_zero", fidelity), (0, "real", "fidelity_to_zero", 0.95),
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["t", "ensemble", "metric", "value"])

    table = summarize(QUDDPM_CLUSTER_2, frame(0.02, 0.03, 0.9), frame(0.5, 0.6, 0.3))
    rows = {(e, m): v for e, m, v in table.itertuples(index=False)}
    assert rows[("trained: fresh prior vs test set", "mmd")] == 0.02
    assert rows[("trained: training prior vs training set", "mmd")] == 0.03
    assert rows[("untrained: fresh prior vs test set", "mmd")] == 0.5
    assert rows[("real vs real (train vs test set)", "mmd")] == 0.01
    assert rows[("QuDDPM published (cluster n=2, test)", "mmd")] == 3.9e-3
    assert rows[("trained: fresh prior", "fidelity_to_zero")] == 0.9
    assert rows[("untrained: fresh prior", "fidelity_to_zero")] == 0.3
    assert rows[("real test set", "fidelity_to_zero")] == 0.95
    circle_config = EnsembleRunConfig(data=EnsembleDataConfig(task="circle"))
    circle = summarize(circle_config, frame(1.0, 2.0, 3.0), frame(4.0, 5.0, 6.0))
    assert len(circle) == 4
    assert "fidelity_to_zero" not in set(circle.metric)


def test_sample_on_the_engine(tiny_run) -> None:  # type: ignore[no-untyped-def]
    samples = sample_ensemble(tiny_run.model, count=12, seed=4)
    assert samples.target == "engine" and samples.run_ids == ()
    assert samples.distributions.shape == (12, 2)
    np.testing.assert_array_equal(samples.distributions, samples.engine_distributions)
    np.testing.assert_allclose(samples.distributions.sum(1), 1.0, atol=1e-5)
    again = sample_ensemble(tiny_run.model, count=12, seed=4)
    np.testing.assert_array_equal(again.distributions, samples.distributions)
    summary = samples.summary()
    assert summary.outcome.tolist() == ["0", "1", "total variation"]
    assert summary.target.iloc[-1] == 0.0
    # a trained cluster model puts most weight on |0>
    assert summary.engine.iloc[0] > 0.8


def test_sample_on_aer_matches_the_engine_and_the_exact_process(
    tiny_run,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    model = tiny_run.model
    workspace = Workspace(tmp_path / "jobs", tmp_path / "results")
    samples = sample_ensemble(model, count=20, seed=1, target="aer", shots=2000,
                              workspace=workspace)  # fmt: skip
    assert samples.target == "aer" and len(samples.run_ids) == 1
    assert samples.distributions.shape == (20, 2)
    np.testing.assert_allclose(samples.distributions.sum(1), 1.0, atol=1e-9)
    assert (tmp_path / "jobs" / "ledger.sqlite").is_file()
    # one engine trajectory per row against 2000 shots that average over trajectories
    total_variation = float(samples.summary().target.iloc[-1])
    assert total_variation < 0.1
    # the shots against the exact trajectory-averaged process of the same prior rows
    prior = device_prior(model, 20, 1)
    np.testing.assert_allclose(prior, model.prior(20, seed=1).numpy(), atol=1e-6)
    exact = np.stack([exact_mean_distribution(model, v) for v in prior])
    np.testing.assert_allclose(samples.distributions, exact, atol=0.06)  # sigma <= 0.011
    np.testing.assert_allclose(samples.distributions.mean(0), exact.mean(0), atol=0.02)


def test_sample_a_mixed_model_on_aer(tmp_path: Path) -> None:
    config = replace(TINY, model=replace(TINY.model, forward="depolarizing"))
    model = build_ensemble_model(config)
    workspace = Workspace(tmp_path / "jobs", tmp_path / "results")
    samples = sample_ensemble(model, count=16, seed=2, target="aer", shots=1500,
                              workspace=workspace)  # fmt: skip
    prior = device_prior(model, 16, 2)  # basis states, whose uniform mixture is I/d
    assert set(map(tuple, np.abs(prior).round(12).tolist())) <= {(1.0, 0.0), (0.0, 1.0)}
    exact = np.stack([exact_mean_distribution(model, v) for v in prior])
    np.testing.assert_allclose(samples.distributions, exact, atol=0.06)
    np.testing.assert_allclose(samples.engine_distributions.sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"count": 0}, "number of samples"),
        ({"count": -2}, "number of samples"),
        ({"shots": 0, "target": "aer"}, "shots"),
        ({"target": "bogus"}, "unknown target 'bogus'"),
        ({"target": "aer:FakeNowhere"}, "FakeNowhere"),
    ],
)
def test_bad_sampling_input_fails_before_any_work(
    kwargs: dict,
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = build_ensemble_model(TINY)

    def no_work(*args: object, **kw: object) -> None:
        raise AssertionError("generated before checking the input")

    monkeypatch.setattr(model, "generate", no_work)
    arguments = {"count": 3, "seed": 0, "shots": 100, **kwargs}
    with pytest.raises(ConfigError, match=fragment):
        sample_ensemble(model, workspace=Workspace(tmp_path / "jobs", tmp_path / "r"), **arguments)
    assert not (tmp_path / "jobs").exists()


def test_a_model_wider_than_the_target_is_refused(tmp_path: Path) -> None:
    config = replace(TINY, model=replace(TINY.model, num_qubits=4, ancillas=2, layers=1))
    model = build_ensemble_model(config)
    workspace = Workspace(tmp_path / "jobs", tmp_path / "results")
    with pytest.raises(ConfigError, match="needs 6 qubits but aer:FakeManilaV2 has 5"):
        sample_ensemble(model, count=2, seed=0, target="aer:FakeManilaV2", workspace=workspace)
    assert not (tmp_path / "jobs").exists()


def test_sample_to_directory(trained_dir, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, (directory, _, _) = trained_dir
    checkpoint = directory / "checkpoint.pt"
    folder, samples = sample_ensemble_to_directory(
        checkpoint, count=5, seed=3, results_dir=tmp_path / "results"
    )
    assert folder.parent == tmp_path / "results" and folder.name.startswith("sample-")
    with np.load(folder / "samples.npz") as archive:
        np.testing.assert_array_equal(archive["distributions"], samples.distributions)
        np.testing.assert_array_equal(archive["engine"], samples.engine_distributions)
    info = json.loads((folder / "info.json").read_text())
    assert info["target"] == "engine" and info["count"] == 5 and info["seed"] == 3
    assert info["checkpoint"] == str(checkpoint.resolve()) and info["job_runs"] == []
    assert pd.read_csv(folder / "summary.csv").outcome.tolist()[-1] == "total variation"


def test_sampling_an_incomplete_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "partial.pt"
    with pytest.raises(Interrupted):
        train_ensemble(RESUMABLE, checkpoint=path, on_step=stop_after(1))
    with pytest.raises(ConfigError, match="only 1 of 3 steps are trained") as info:
        sample_ensemble_to_directory(path, count=2, seed=0, results_dir=tmp_path / "results")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "results").exists()
