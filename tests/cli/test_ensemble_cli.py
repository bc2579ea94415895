"""``qdm train`` and ``qdm sample`` for ensemble models, and the shipped ensemble examples."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from qdm_qiskit.cli.main import cli
from qdm_qiskit.jobs.ledger import Ledger
from qdm_qiskit.models.config import load_any_config
from qdm_qiskit.models.ensemble import (
    QUDDPM_CIRCLE,
    QUDDPM_CLUSTER_2,
    EnsembleRunConfig,
    load_ensemble_checkpoint,
)
from qdm_qiskit.models.ensemble import train as train_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CONFIG = """
[data]
task = "cluster"
train_size = 30
test_size = 30

[model]
family = "ensemble"
num_qubits = 1
ancillas = 1
layers = 3
steps = 2

[train]
iterations = 40
learning_rate = 0.08
seed = 3
"""


def make_runner() -> CliRunner:
    """A runner whose ``result.stderr`` holds stderr alone (click 8.1 needs ``mix_stderr``)."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # click < 8.2
    return CliRunner()


def run(*args: str | Path) -> Result:
    return make_runner().invoke(cli, [str(a) for a in args], prog_name="qdm")


def dirs(root: Path) -> list[str]:
    return ["--results-dir", str(root / "results"), "--jobs-dir", str(root / "jobs")]


def ok(result: Result) -> Result:
    assert result.exit_code == 0, (result.exit_code, result.output, result.stderr, result.exception)
    return result


def assert_one_error_line(result: Result, *fragments: str) -> str:
    """Exit 2, one ``Error:`` line on stderr, no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith("Error: ") and "internal error" not in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert "Traceback" not in result.output + result.stderr
    assert result.stdout == ""
    return line


def only_dir(root: Path, prefix: str) -> Path:
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(prefix)]
    assert len(found) == 1, sorted(p.name for p in root.iterdir())
    return found[0]


def no_output(results: Path, kind: str = "sample") -> None:
    names = [p.name for p in results.iterdir()] if results.exists() else []
    assert not [n for n in names if n.startswith((f"{kind}-", f".{kind}-"))], names


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """``qdm train cluster.toml --seed 5``: the train-* directory and the command's result."""
    root = tmp_path_factory.mktemp("ensemble")
    config = root / "cluster.toml"
    config.write_text(CONFIG)
    result = ok(run("train", config, "--seed", "5", "--results-dir", root / "results"))
    return only_dir(root / "results", "train-"), result


@pytest.fixture(scope="module")
def checkpoint(trained: tuple[Path, Result]) -> Path:
    return trained[0] / "checkpoint.pt"


# -- qdm train -------------------------------------------------------------------------------


def test_train_prints_the_summary_table(trained: tuple[Path, Result]) -> None:
    directory, result = trained
    assert {"checkpoint.pt", "history.csv", "evaluation.csv", "summary.csv", "report.md",
            "distance.png", "info.json"} <= {p.name for p in directory.iterdir()}  # fmt: skip
    out = result.stdout
    assert "| ensemble | metric | value |" in out
    summary = pd.read_csv(directory / "summary.csv")
    for name in summary.ensemble:
        assert f"| {name} |" in out
    assert "trained ensemble model (24 quantum + 0 classical parameters), seed 5" in out
    assert str(directory / "checkpoint.pt") in out
    # one progress line per reverse step, on stderr, T first
    steps = [line for line in result.stderr.splitlines() if "step t=" in line]
    assert len(steps) == 2 and "t=  2" in steps[0] and "t=  1" in steps[1]
    info = json.loads((directory / "info.json").read_text())
    assert info["seed"] == 5 and info["config"]["train"]["seed"] == 5  # --seed overrides 3
    assert info["family"] == "ensemble"
    saved = load_ensemble_checkpoint(directory / "checkpoint.pt")
    assert saved.complete and saved.config.train.seed == 5
    rows = dict(zip(summary.ensemble, summary.value, strict=True))
    assert rows["trained: fresh prior vs test set"] < rows["untrained: fresh prior vs test set"]


# -- qdm sample ------------------------------------------------------------------------------


def test_sample_on_the_engine(tmp_path: Path, checkpoint: Path) -> None:
    result = ok(run("sample", checkpoint, "--n", "6", "--seed", "2", *dirs(tmp_path)))
    directory = only_dir(tmp_path / "results", "sample-")
    with np.load(directory / "samples.npz") as archive:
        distributions = archive["distributions"]
        engine = archive["engine"]
    assert distributions.shape == (6, 2)
    np.testing.assert_array_equal(distributions, engine)
    np.testing.assert_allclose(distributions.sum(1), 1.0, atol=1e-5)
    info = json.loads((directory / "info.json").read_text())
    assert info["target"] == "engine" and info["count"] == 6 and info["seed"] == 2
    assert info["job_runs"] == []
    assert "| outcome | target | engine |" in result.stdout
    assert "| total variation |" in result.stdout
    assert "6 ensemble samples on engine" in result.stdout
    assert not (tmp_path / "jobs").exists()


def test_sample_on_aer(tmp_path: Path, checkpoint: Path) -> None:
    args = ["--n", "20", "--target", "aer", "--shots", "2000", "--seed", "1"]
    ok(run("sample", checkpoint, *args, *dirs(tmp_path)))
    directory = only_dir(tmp_path / "results", "sample-")
    info = json.loads((directory / "info.json").read_text())
    assert info["target"] == "aer" and info["shots"] == 2000 and len(info["job_runs"]) == 1
    with Ledger(tmp_path / "jobs" / "ledger.sqlite") as ledger:
        assert {r.run_id for r in ledger.runs()} == set(info["job_runs"])
    summary = pd.read_csv(directory / "summary.csv")
    assert summary.outcome.tolist() == ["0", "1", "total variation"]
    assert float(summary.target.iloc[-1]) < 0.1  # trajectories vs shots, 20 samples
    np.testing.assert_allclose(summary.target.iloc[:2].sum(), 1.0, atol=1e-9)


def test_sample_on_a_noisy_fake_backend(tmp_path: Path, checkpoint: Path) -> None:
    args = ["--n", "4", "--target", "aer:FakeManilaV2", "--shots", "500"]
    result = ok(run("sample", checkpoint, *args, *dirs(tmp_path)))
    directory = only_dir(tmp_path / "results", "sample-")
    assert json.loads((directory / "info.json").read_text())["target"] == "aer:FakeManilaV2"
    assert "ensemble samples on aer:FakeManilaV2" in result.stdout
    summary = pd.read_csv(directory / "summary.csv")
    assert float(summary.target.iloc[-1]) < 0.35  # noisy, 4 samples: only a sanity bound


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        ("layers = 3", "layer = 3", ("unknown option 'layer'", "did you mean 'layers'")),
        ("ancillas = 1", "ancillas = 0", ("model.ancillas",)),
        ("seed = 3", 'loss = "l1"\nseed = 3', ("train.loss",)),
        ('task = "cluster"', 'task = "circle"\nscale = 0.2', ("cluster task only",)),
        ("[train]", "[trian]", ("unknown section 'trian'",)),
    ],
)
def test_bad_config_is_one_clear_line(
    tmp_path: Path, old: str, new: str, fragments: tuple[str, ...]
) -> None:
    config = tmp_path / "bad.toml"
    assert old in CONFIG
    config.write_text(CONFIG.replace(old, new))
    assert_one_error_line(run("train", config, "--results-dir", tmp_path / "results"), *fragments)
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("content", [b"garbage" * 50, b""], ids=["garbage", "empty"])
def test_garbage_checkpoint_is_a_clean_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    assert_one_error_line(run("sample", bad, "--n", "2", *dirs(tmp_path)), "bad.pt")
    no_output(tmp_path / "results")


def test_truncated_ensemble_checkpoint_is_a_clean_error(tmp_path: Path, checkpoint: Path) -> None:
    bad = tmp_path / "cut.pt"
    bad.write_bytes(checkpoint.read_bytes()[:1500])
    assert_one_error_line(run("sample", bad, *dirs(tmp_path)), "cut.pt")
    no_output(tmp_path / "results")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--n", "0"], "positive integer"),
        (["--target", "aer", "--shots", "0"], "shots"),
        (["--target", "bogus"], "unknown target 'bogus'"),
    ],
)
def test_bad_sampling_options(tmp_path: Path, checkpoint: Path, args: list, fragment: str) -> None:
    assert_one_error_line(run("sample", checkpoint, *args, *dirs(tmp_path)), fragment)
    no_output(tmp_path / "results")
    assert not (tmp_path / "jobs").exists()


def test_incomplete_checkpoint_is_refused(tmp_path: Path) -> None:
    config = load_any_config_text(tmp_path, CONFIG)
    path = tmp_path / "partial.pt"

    class Stop(Exception):
        pass

    def stop(row: dict) -> None:
        raise Stop

    with pytest.raises(Stop):
        train_module.train_ensemble(config, checkpoint=path, on_step=stop)
    line = assert_one_error_line(run("sample", path, *dirs(tmp_path)), "1 of 2 steps")
    assert "resume" in line
    no_output(tmp_path / "results")


def test_a_nan_loss_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train_module, "mmd", lambda a, b: (a.abs().sum() + b.abs().sum()) * np.nan)
    config = tmp_path / "cfg.toml"
    config.write_text(CONFIG)
    assert_one_error_line(run("train", config, "--results-dir", tmp_path / "r"), "loss became nan")
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.startswith("train-")]


def test_a_nan_loss_names_the_kept_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 2 trains, step 1 hits NaN: the line says where the one trained step is kept."""
    calls = [0]
    real_mmd = train_module.mmd

    def poisoned(a, b):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return real_mmd(a, b) * (np.nan if calls[0] > 40 else 1.0)

    monkeypatch.setattr(train_module, "mmd", poisoned)
    config = tmp_path / "cfg.toml"
    config.write_text(CONFIG)
    result = run("train", config, "--results-dir", tmp_path / "r")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and result.stderr.strip().splitlines()[-1] == errors[0]
    line = errors[0]
    assert "loss became nan at step 1" in line
    kept = [Path(word.strip(";,()'\"")) for word in line.split() if word.endswith(".pt")]
    kept = [path for path in kept if path.is_file()]
    assert len(kept) == 1, line  # like 'qdm train' of the other families
    assert [row["step"] for row in load_ensemble_checkpoint(kept[0]).history] == [2.0]


def load_any_config_text(root: Path, text: str) -> EnsembleRunConfig:
    path = root / "config.toml"
    path.write_text(text)
    config = load_any_config(path)
    assert isinstance(config, EnsembleRunConfig)
    return config


# -- examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "preset"),
    [("quddpm-cluster2.toml", QUDDPM_CLUSTER_2), ("quddpm-circle.toml", QUDDPM_CIRCLE)],
)
def test_examples_are_the_published_presets(name: str, preset: EnsembleRunConfig) -> None:
    config = load_any_config(EXAMPLES / name)
    assert isinstance(config, EnsembleRunConfig)
    assert config.model == preset.model
    assert config.data == preset.data
    assert config.train == preset.train


def test_every_quddpm_example_loads() -> None:
    names = sorted(p.name for p in EXAMPLES.glob("*quddpm*.toml"))
    assert {"quddpm-cluster2.toml", "quddpm-circle.toml"} <= set(names)
    for name in names:
        config = load_any_config(EXAMPLES / name)
        assert isinstance(config, EnsembleRunConfig), name
