"""``qdm train``, ``qdm sample`` and ``qdm run`` end to end, in temporary workspaces."""

from __future__ import annotations

import inspect
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner, Result

from qdm_qiskit.cli.main import cli
from qdm_qiskit.jobs.ledger import Ledger
from qdm_qiskit.models import (
    QUICK_RUN,
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    build_model,
    load_checkpoint,
    save_checkpoint,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

CONFIG = """
[data]
npix = 4
max_jets = 200

[model]
family = "angle"
num_qubits = 4
layers = 1
steps = 2

[train]
epochs = 2
batch_size = 32
learning_rate = 0.05
seed = 3
"""

STATE_CONFIG = """
[data]
npix = 4
max_jets = 200

[model]
family = "state"
num_qubits = 4
layers = 1
steps = 2

[train]
epochs = 1
"""


def make_runner() -> CliRunner:
    """A runner whose ``result.stderr`` holds stderr alone (click 8.1 needs ``mix_stderr``)."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # click < 8.2
    return CliRunner()


def run(*args: str | Path) -> Result:
    return make_runner().invoke(cli, [str(a) for a in args], prog_name="qdm")


def dirs(root: Path) -> list[str]:
    """``--results-dir root/results --jobs-dir root/jobs``."""
    return ["--results-dir", str(root / "results"), "--jobs-dir", str(root / "jobs")]


def ok(result: Result) -> Result:
    detail = (result.exit_code, result.output, result.stderr, result.exception)
    assert result.exit_code == 0, detail
    return result


def assert_one_error_line(result: Result, *fragments: str) -> str:
    """Exit 2, one ``Error:`` line on stderr, no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith("Error: ")
    assert "internal error" not in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.stdout == ""
    return line


def only_dir(root: Path, prefix: str) -> Path:
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    assert len(found) == 1, sorted(p.name for p in root.iterdir())
    return found[0]


def no_output(results: Path, kind: str = "sample") -> None:
    """No ``<kind>-*`` directory, finished or hidden partial, under ``results``."""
    names = [p.name for p in results.iterdir()] if results.exists() else []
    assert not [n for n in names if n.startswith((f"{kind}-", f".{kind}-"))], names


def load_info(directory: Path) -> dict:
    return json.loads((directory / "info.json").read_text())


def load_samples(directory: Path) -> np.ndarray:
    with np.load(directory / "samples.npz") as archive:
        return archive["images"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``qdm train cfg.toml --seed 5``: the train-* directory."""
    root = tmp_path_factory.mktemp("train")
    config = root / "cfg.toml"
    config.write_text(CONFIG)
    ok(run("train", config, "--seed", "5", "--results-dir", root / "results"))
    return only_dir(root / "results", "train-")


@pytest.fixture(scope="module")
def checkpoint(trained: Path) -> Path:
    return trained / "checkpoint.pt"


# -- qdm train -------------------------------------------------------------------------------


def test_train_writes_checkpoint_history_and_info(trained: Path) -> None:
    assert {p.name for p in trained.iterdir()} >= {"checkpoint.pt", "history.csv", "info.json"}
    history = pd.read_csv(trained / "history.csv")
    assert history.epoch.tolist() == [1, 2]
    assert np.isfinite(history[["train_loss", "validation_loss"]].to_numpy()).all()
    info = load_info(trained)
    assert info["seed"] == 5
    assert info["config"]["train"]["seed"] == 5  # --seed overrides the file's seed 3
    assert info["config"]["model"]["family"] == "angle"
    assert info["config"]["data"] == {**info["config"]["data"], "npix": 4, "max_jets": 200}
    assert {"qdm-qiskit", "torch", "qiskit"} <= set(info["versions"])
    saved = load_checkpoint(trained / "checkpoint.pt")
    assert saved.config.train.seed == 5 and saved.epoch == 2 and saved.complete
    assert saved.config.to_dict() == info["config"]
    # nothing else (such as a hidden half-written directory) is left next to it
    assert [p.name for p in trained.parent.iterdir()] == [trained.name]


def test_train_without_seed_uses_the_config_seed(tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    data = {
        "data": {"npix": 4, "max_jets": 100},
        "model": {"family": "angle", "layers": 1, "steps": 1},
        "train": {"epochs": 1, "seed": 3},
    }
    config.write_text(json.dumps(data))
    result = ok(run("train", config, "--results-dir", tmp_path / "results"))
    directory = only_dir(tmp_path / "results", "train-")
    assert load_info(directory)["seed"] == 3
    assert "seed 3" in result.stdout
    assert str(directory / "checkpoint.pt") in result.stdout
    assert "epoch   1/1" in result.stderr  # progress goes to stderr


# -- qdm sample ------------------------------------------------------------------------------


def test_sample_on_the_engine(tmp_path: Path, checkpoint: Path) -> None:
    ok(run("sample", checkpoint, "--n", "3", "--seed", "2", *dirs(tmp_path)))
    directory = only_dir(tmp_path / "results", "sample-")
    images = load_samples(directory)
    assert images.shape == (3, 4, 4)
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, atol=1e-9)
    info = load_info(directory)
    assert info["target"] == "engine"
    assert info["job_runs"] == []
    assert info["seed"] == 2 and info["count"] == 3
    assert info["checkpoint"] == str(checkpoint.resolve())
    assert "torch" in info["versions"]
    assert not (tmp_path / "jobs").exists()  # the engine does not touch the job manager


def test_sample_on_aer_through_the_job_manager(tmp_path: Path, checkpoint: Path) -> None:
    args = ["--n", "3", "--target", "aer", "--shots", "500"]
    ok(run("sample", checkpoint, *args, *dirs(tmp_path)))
    results, jobs = tmp_path / "results", tmp_path / "jobs"
    directory = only_dir(results, "sample-")
    images = load_samples(directory)
    assert images.shape == (3, 4, 4)
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, atol=1e-9)
    info = load_info(directory)
    assert info["target"] == "aer" and info["shots"] == 500
    runs = info["job_runs"]
    assert len(runs) == 2  # one Estimator run per reverse step (steps = 2)
    with Ledger(jobs / "ledger.sqlite") as ledger:
        assert {r.run_id for r in ledger.runs()} == set(runs)
    for run_id in runs:
        assert (results / run_id / "run.json").is_file()


def test_sample_of_a_state_model(tmp_path: Path) -> None:
    config = tmp_path / "state.toml"
    config.write_text(STATE_CONFIG)
    ok(run("train", config, "--results-dir", tmp_path / "results"))
    checkpoint = only_dir(tmp_path / "results", "train-") / "checkpoint.pt"
    ok(run("sample", checkpoint, "--n", "3", "--target", "aer", "--shots", "300", *dirs(tmp_path)))
    directory = only_dir(tmp_path / "results", "sample-")
    images = load_samples(directory)
    assert images.shape == (3, 4, 4)
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, atol=1e-9)
    # finite shots: every pixel probability is a multiple of 1/shots
    np.testing.assert_allclose(images * 300, np.round(images * 300), atol=1e-6)
    assert len(load_info(directory)["job_runs"]) == 1
    # the state model reconstructs test jets: there are 20 of them here
    result = run("sample", checkpoint, "--n", "21", "--results-dir", tmp_path / "other")
    assert_one_error_line(result, "at most 20")
    no_output(tmp_path / "other")


# -- qdm run ---------------------------------------------------------------------------------


RUN_SETS = [
    "quantum angle, engine",
    "quantum angle, aer:FakeManilaV2",
    "quantum angle untrained, engine",
    "classical usual, DDPM 200",
    "classical usual, DDIM 20",
    "classical matched, DDPM 200",
    "classical matched, DDIM 20",
    "classical usual untrained, DDPM 200",
]
TIDY_COLUMNS = ["set", "subset", "labels", "metric", "value", "uncertainty", "floor",
                "floor_uncertainty", "n", "n_reference", "n_invalid"]  # fmt: skip


def test_run_writes_the_report(tmp_path: Path) -> None:
    args = ["--epochs", "1", "--n", "20", "--shots", "200", "--seed", "4",
            "--classical-iterations", "5", "--bootstrap", "3"]  # fmt: skip
    result = ok(run("run", *args, "--target", "aer:FakeManilaV2", *dirs(tmp_path)))
    results, jobs = tmp_path / "results", tmp_path / "jobs"
    directory = only_dir(results, "run-")
    expected = {"report.md", "metrics.csv", "summary.csv", "info.json", "checkpoint.pt",
                "sets.json", "sets.npz", "sanity.json"}  # fmt: skip
    figures = {"observables.png", "mean_images.png", "samples.png", "loss.png"}
    assert expected | figures <= {p.name for p in directory.iterdir()}
    for name in figures:
        assert (directory / name).read_bytes()[:8] == PNG_MAGIC, name
    assert not [p.name for p in results.iterdir() if p.name.startswith(".")]
    info = load_info(directory)
    assert info["seed"] == 4 and info["config"]["train"]["seed"] == 4
    assert info["config"]["train"]["epochs"] == 1
    assert info["target"] == "aer:FakeManilaV2" and info["shots"] == 200
    assert info["classical"]["iterations"] == 5 and info["bootstrap"] == 3
    runs = info["job_runs"]
    assert len(runs) == QUICK_RUN.model.steps
    assert (jobs / "ledger.sqlite").is_file()
    with Ledger(jobs / "ledger.sqlite") as ledger:
        ledger_runs = {r.run_id: r for r in ledger.runs()}
    assert set(runs) <= set(ledger_runs)
    assert all(ledger_runs[r].target == "aer:FakeManilaV2" for r in runs)

    metrics = pd.read_csv(directory / "metrics.csv")
    assert list(metrics.columns) == TIDY_COLUMNS
    assert list(dict.fromkeys(metrics["set"])) == RUN_SETS
    assert set(metrics["subset"]) == {"all", "quark", "gluon"}
    everything = metrics[metrics["subset"] == "all"]
    assert (everything["n"] + everything["n_invalid"] == 20).all()
    assert (everything["n_reference"] == 120).all()  # the test split of 1200 jets
    finite = everything[everything["n"] >= 10]
    assert len(finite) > 0
    assert np.isfinite(finite[["value", "floor"]].to_numpy()).all()
    summary = pd.read_csv(directory / "summary.csv")
    assert summary["set"].tolist() == RUN_SETS
    assert set(summary.columns) - {"set"} == set(everything["metric"])

    stored = json.loads((directory / "sets.json").read_text())
    assert [s["name"] for s in stored["sets"]] == RUN_SETS
    assert stored["representation"] == info["config"]["data"]
    sanity = json.loads((directory / "sanity.json").read_text())
    assert set(sanity) == {"mse", "ssim", "noisy_mse", "noisy_ssim", "test_jets", "epochs",
                           "seconds"}  # fmt: skip
    assert sanity["test_jets"] == 120 and sanity["epochs"] == 3

    report = (directory / "report.md").read_text()
    assert "## Models" in report and "## Metrics, all jets" in report
    assert "| set | family | quantum params |" in report
    for name in RUN_SETS:
        assert f"| {name} | " in report, name
    for metric in everything["metric"].unique():
        assert f"| {metric} | " in report, metric
    pair = "**classical usual, DDIM 20 vs classical usual, DDPM 200**"
    agreement = [line for line in report.splitlines() if line.startswith(pair)]
    assert len(agreement) == 1 and "metrics agree" in agreement[0], agreement
    assert "## Sanity row: the seed notebook's denoiser" in report
    assert f"| denoised | {sanity['mse']:.3g} | {sanity['ssim']:.3g} |" in report
    assert "seed 4" in report
    assert report.strip() in result.stdout  # the report is also printed

    # qdm compare reads the run's sets; with the run's seed and bootstrap it finds its numbers
    again = tmp_path / "again"
    ok(run("compare", directory, "--seed", "4", "--bootstrap", "3", "--results-dir", again))
    compared = only_dir(again, "compare-")
    pd.testing.assert_frame_equal(pd.read_csv(compared / "metrics.csv"), metrics)
    assert load_info(compared)["sources"] == [str(directory.resolve())]


# -- bad input -------------------------------------------------------------------------------


def test_unknown_target(tmp_path: Path, checkpoint: Path) -> None:
    result = run("sample", checkpoint, "--target", "bogus", "--n", "2", *dirs(tmp_path))
    assert_one_error_line(result, "unknown target 'bogus'")
    no_output(tmp_path / "results")
    assert not (tmp_path / "jobs").exists()


def test_unknown_fake_backend(tmp_path: Path, checkpoint: Path) -> None:
    result = run("sample", checkpoint, "--target", "aer:FakeNowhere", "--n", "2", *dirs(tmp_path))
    assert_one_error_line(result, "FakeNowhere")
    no_output(tmp_path / "results")


def test_missing_config_file(tmp_path: Path) -> None:
    result = run("train", tmp_path / "nope.toml", "--results-dir", tmp_path / "results")
    assert_one_error_line(result, "nope.toml", "no such config file")
    assert not (tmp_path / "results").exists()


def test_config_with_an_unknown_field(tmp_path: Path) -> None:
    config = tmp_path / "cfg.toml"
    config.write_text(CONFIG.replace("layers = 1", "layer = 1"))
    result = run("train", config, "--results-dir", tmp_path / "results")
    assert_one_error_line(result, "unknown option 'layer'", "did you mean 'layers'")
    assert not (tmp_path / "results").exists()


def test_config_with_inconsistent_sizes(tmp_path: Path) -> None:
    config = tmp_path / "cfg.toml"
    text = CONFIG.replace('family = "angle"', 'family = "state"')
    config.write_text(text.replace("num_qubits = 4", "num_qubits = 3"))
    assert_one_error_line(run("train", config, "--results-dir", tmp_path / "r"), "num_qubits")


@pytest.mark.parametrize("content", [b"garbage" * 50, b""], ids=["garbage", "empty"])
def test_corrupted_checkpoint(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    assert_one_error_line(run("sample", bad, "--n", "2", *dirs(tmp_path)), "bad.pt")
    no_output(tmp_path / "results")


def test_truncated_checkpoint(tmp_path: Path, checkpoint: Path) -> None:
    bad = tmp_path / "cut.pt"
    bad.write_bytes(checkpoint.read_bytes()[:2000])
    assert_one_error_line(run("sample", bad, *dirs(tmp_path)), "cut.pt")
    no_output(tmp_path / "results")


def test_unrelated_torch_file(tmp_path: Path) -> None:
    bad = tmp_path / "other.pt"
    buffer = io.BytesIO()
    torch.save({"state_dict": {"w": torch.zeros(2)}}, buffer)
    bad.write_bytes(buffer.getvalue())
    assert_one_error_line(run("sample", bad, *dirs(tmp_path)), "not a qdm-qiskit checkpoint")
    no_output(tmp_path / "results")


def test_missing_checkpoint(tmp_path: Path) -> None:
    result = run("sample", tmp_path / "none.pt", *dirs(tmp_path))
    assert_one_error_line(result, "no such checkpoint file")


@pytest.mark.parametrize("count", ["0", "-3"])
def test_non_positive_sample_count(tmp_path: Path, checkpoint: Path, count: str) -> None:
    result = run("sample", checkpoint, "--n", count, *dirs(tmp_path))
    assert_one_error_line(result, "positive integer")
    no_output(tmp_path / "results")


@pytest.mark.parametrize("shots", ["0", "-5"])
def test_non_positive_shots(tmp_path: Path, checkpoint: Path, shots: str) -> None:
    """One error line and nothing else: no numpy warning from 1/sqrt(shots) on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run("sample", checkpoint, "--target", "aer", "--shots", shots, *dirs(tmp_path))
    assert_one_error_line(result, "shots")
    no_output(tmp_path / "results")
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_model_wider_than_the_target(tmp_path: Path) -> None:
    config = RunConfig(
        data=DataConfig(npix=4, max_jets=100),
        model=ModelConfig(family="angle", num_qubits=8, layers=1, steps=1),
        train=TrainConfig(epochs=1),
    )
    model = build_model(config)
    path = tmp_path / "wide.pt"
    state = model.state_dict()
    save_checkpoint(path, model=model, config=config, family="angle", optimizer=None, epoch=1,
                    history=[], best_validation=1.0, best_epoch=1, best_state=state,
                    generator=None, complete=True)  # fmt: skip
    result = run("sample", path, "--n", "2", "--target", "aer:FakeManilaV2", *dirs(tmp_path))
    assert_one_error_line(result, "needs 8 qubits", "has 5")
    no_output(tmp_path / "results")
    assert not (tmp_path / "jobs").exists()  # refused before anything was submitted
    # the same checkpoint samples fine on the engine
    ok(run("sample", path, "--n", "2", *dirs(tmp_path)))
    assert load_samples(only_dir(tmp_path / "results", "sample-")).shape == (2, 4, 4)


def test_run_at_another_resolution_on_the_engine_only(tmp_path: Path) -> None:
    args = ["--epochs", "1", "--n", "20", "--npix", "8", "--max-jets", "400", "--target",
            "engine", "--classical-iterations", "3", "--bootstrap", "2"]  # fmt: skip
    ok(run("run", *args, *dirs(tmp_path)))
    directory = only_dir(tmp_path / "results", "run-")
    info = load_info(directory)
    assert info["config"]["data"]["npix"] == 8 and info["config"]["data"]["max_jets"] == 400
    assert info["job_runs"] == [] and not (tmp_path / "jobs" / "ledger.sqlite").exists()
    stored = json.loads((directory / "sets.json").read_text())
    names = [s["name"] for s in stored["sets"]]
    assert "quantum angle, engine" in names and not any("aer" in n for n in names)
    sets = np.load(directory / "sets.npz")
    assert all(sets[key].shape[1:] == (8, 8) for key in sets.files if key.endswith("images"))
    metrics = pd.read_csv(directory / "metrics.csv")
    assert (metrics[metrics["subset"] == "all"]["n_reference"] == 40).all()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--npix", "6"], "npix must be a multiple of 4"),
        (["--source", "pythia", "--jets", "0"], "data.jets"),
        (["--generator-seed", "3"], "apply to source = 'pythia' only"),
        (["--source", "nowhere/QG_*.npz"], "no file matches"),
        (["--source", "missing.npz"], "no such file"),
        (["--max-jets", "5"], "at least 10"),
    ],
)
def test_run_refuses_bad_data_settings_before_training(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    result = run("run", *args, "--epochs", "1", "--target", "engine", *dirs(tmp_path))
    assert_one_error_line(result, fragment)
    assert "epoch" not in result.stderr
    no_output(tmp_path / "results", "run")


def test_run_with_an_unknown_target_fails_before_training(tmp_path: Path) -> None:
    result = run("run", "--target", "nowhere", "--epochs", "1", *dirs(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("Error: unknown target 'nowhere'")
    # the target is checked before any work (as 'qdm sample' does): no training, one line
    assert "epoch" not in result.stderr
    assert_one_error_line(result, "unknown target")
    no_output(tmp_path / "results", "run")
