"""``qdm reservoir``: run, seed, artifacts, submit/combine, and the one-line error policy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import Result

from qdm_qiskit.cli.main import cli
from tests.cli.test_cli_errors import assert_one_error_line, make_runner

CONFIG = """
[inputs]
source = "gaussian"
count = 4
num_qubits = 3

[reservoir]
num_ancillas = 1
coupling = 0.5
t_f = 1.0
tau_b = 0.5

[engine]
name = "exact"
"""

TRIVIAL = """
[inputs]
source = "exponential"
count = 3
num_qubits = 3

[reservoir]
num_ancillas = 2
coupling = 0.0
t_f = 2.0
tau_b = 2.0

[engine]
name = "trotter"
trotter_steps = 3
"""

AER = """
[inputs]
source = "exponential"
count = 3
num_qubits = 2

[reservoir]
num_ancillas = 1
coupling = 0.6
t_f = 1.0
tau_b = 0.5

[engine]
name = "aer"
trotter_steps = 4
shots = 500
seed = 2
"""


def run(*args: str) -> Result:
    return make_runner().invoke(cli, list(args), prog_name="qdm")


def write_config(tmp_path: Path, text: str, name: str = "reservoir.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def dirs(tmp_path: Path) -> list[str]:
    return ["--results-dir", str(tmp_path / "results"), "--jobs-dir", str(tmp_path / "jobs")]


def written(tmp_path: Path) -> list[Path]:
    root = tmp_path / "results"
    return sorted(root.glob("reservoir-*")) if root.exists() else []


def own_wootters(tidy: pd.DataFrame) -> np.ndarray:
    """Per-state ``arccos sum sqrt(p q)`` from the tidy distributions table."""
    p = tidy.pivot(index="state", columns="outcome", values="input").to_numpy()
    q = tidy.pivot(index="state", columns="outcome", values="output").to_numpy()
    return np.arccos(np.clip(np.sum(np.sqrt(p * q), axis=1), -1.0, 1.0))


def printed_distance(output: str) -> float:
    match = re.search(r"Wootters distance ([0-9.e+-]+) per state", output)
    assert match, output
    return float(match.group(1))


# --- runs -----------------------------------------------------------------------------------


def test_run_prints_the_distance_and_writes_the_directory(tmp_path):
    result = run("reservoir", str(write_config(tmp_path, CONFIG)), *dirs(tmp_path))
    assert result.exit_code == 0, (result.output, result.stderr)
    (directory,) = written(tmp_path)
    assert {p.name for p in directory.iterdir()} == {
        "info.json", "per_state.csv", "distributions.csv", "distributions.png", "report.md",
    }  # fmt: skip
    tidy = pd.read_csv(directory / "distributions.csv")
    own = own_wootters(tidy)
    assert printed_distance(result.stdout) == pytest.approx(own.mean(), rel=1e-3)
    assert own.mean() > 0.01  # not the trivial case: the number means something
    info = json.loads((directory / "info.json").read_text())
    assert info["metrics"]["wootters"] == pytest.approx(own.mean(), abs=1e-9)
    assert f"max {own.max():.4g}" in result.stdout
    assert "4 gaussian distributions" in result.stdout
    assert f"report: {directory / 'report.md'}" in result.stdout
    assert info["config"]["reservoir"]["coupling"] == 0.5
    assert info["config"]["engine"]["name"] == "exact"


def test_trivial_config_prints_zero(tmp_path):
    result = run("reservoir", str(write_config(tmp_path, TRIVIAL)), *dirs(tmp_path))
    assert result.exit_code == 0, (result.output, result.stderr)
    assert printed_distance(result.stdout) < 1e-9
    assert "fidelity 1" in result.stdout
    (directory,) = written(tmp_path)
    tidy = pd.read_csv(directory / "distributions.csv")
    assert own_wootters(tidy).max() < 1e-6


def test_seed_is_recorded_and_changes_the_inputs(tmp_path):
    path = str(write_config(tmp_path, CONFIG))
    first = run("reservoir", path, "--seed", "7", *dirs(tmp_path / "a"))
    second = run("reservoir", path, "--seed", "8", *dirs(tmp_path / "b"))
    assert first.exit_code == 0 and second.exit_code == 0, (first.stderr, second.stderr)
    (one,) = written(tmp_path / "a")
    (two,) = written(tmp_path / "b")
    info = json.loads((one / "info.json").read_text())
    assert info["seed"] == 7
    assert info["config"]["inputs"]["seed"] == 7
    assert info["config"]["engine"]["seed"] == 7
    assert json.loads((two / "info.json").read_text())["seed"] == 8
    inputs_a = pd.read_csv(one / "distributions.csv")["input"].to_numpy()
    inputs_b = pd.read_csv(two / "distributions.csv")["input"].to_numpy()
    assert np.abs(inputs_a - inputs_b).max() > 1e-3


def test_default_is_the_talk_setting(tmp_path):
    result = run("reservoir", *dirs(tmp_path))
    assert result.exit_code == 0, (result.output, result.stderr)
    assert "histograms of ptd, girth, multiplicity, mass" in result.stdout
    (directory,) = written(tmp_path)
    config = json.loads((directory / "info.json").read_text())["config"]
    assert config["reservoir"]["t_f"] == 15.0
    assert config["reservoir"]["tau_b"] == 0.1
    assert config["reservoir"]["coupling"] == 0.7
    assert config["reservoir"]["delta"] == 1.0


def test_submit_collect_combine_on_aer(tmp_path):
    path = str(write_config(tmp_path, AER))
    submitted = run("reservoir", path, "--submit", *dirs(tmp_path))
    assert submitted.exit_code == 0, (submitted.output, submitted.stderr)
    match = re.search(r"submitted run (\S+);", submitted.stdout)
    assert match, submitted.stdout
    run_id = match.group(1)
    assert written(tmp_path) == []  # submitting scores nothing
    collected = run("collect", run_id, *dirs(tmp_path))
    assert collected.exit_code == 0, (collected.output, collected.stderr)
    combined = run("reservoir", path, "--combine", run_id, *dirs(tmp_path))
    assert combined.exit_code == 0, (combined.output, combined.stderr)
    (directory,) = written(tmp_path)
    info = json.loads((directory / "info.json").read_text())
    assert info["run_ids"] == [run_id]
    tidy = pd.read_csv(directory / "distributions.csv")
    # shot frequencies of 500 shots
    counts = tidy["output"].to_numpy() * 500
    np.testing.assert_allclose(counts, np.round(counts), rtol=0, atol=1e-6)
    assert printed_distance(combined.stdout) == pytest.approx(own_wootters(tidy).mean(), rel=1e-3)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[reservoir]\ncouplng = 0.5\n", ("couplng", "did you mean 'coupling'")),
        ("[reservior]\ncoupling = 0.5\n", ("reservior", "did you mean 'reservoir'")),
        ("[reservoir]\ntau_b = -1.0\n", ("reservoir.tau_b",)),
        ("[reservoir]\nreading = 'time_step'\ntau_b = 0.0\n", ("tau_b",)),
        ("[engine]\nname = 'cuda'\n", ("engine.name",)),
        ("[inputs]\nsource = 'jets'\nencoding = 'amplitude'\n", ("angle-encoded",)),
        ("[inputs\nsource = 'jets'\n", ()),
    ],
    ids=["field", "section", "value", "time-step", "engine", "encoding", "syntax"],
)
def test_bad_config_file_is_one_error_line(tmp_path, text, fragments):
    path = write_config(tmp_path, text)
    result = run("reservoir", str(path), *dirs(tmp_path))
    assert_one_error_line(result, path.name, *fragments)
    assert written(tmp_path) == []
    assert not (tmp_path / "jobs").exists()


def test_missing_config_file_is_one_error_line(tmp_path):
    result = run("reservoir", str(tmp_path / "nope.toml"), *dirs(tmp_path))
    assert_one_error_line(result, "nope.toml")
    assert written(tmp_path) == []


def test_submit_on_a_local_engine_is_refused(tmp_path):
    result = run("reservoir", str(write_config(tmp_path, CONFIG)), "--submit", *dirs(tmp_path))
    assert_one_error_line(result, "exact", "local")
    assert written(tmp_path) == []
    assert not (tmp_path / "jobs").exists()


def test_submit_and_combine_together_are_refused(tmp_path):
    path = str(write_config(tmp_path, AER))
    result = run("reservoir", path, "--submit", "--combine", "20260101-000000-abcdef",
                 *dirs(tmp_path))  # fmt: skip
    assert_one_error_line(result, "--submit", "--combine")
    assert written(tmp_path) == []
    assert not (tmp_path / "jobs").exists()


def test_combine_unknown_run_is_refused(tmp_path):
    result = run("reservoir", str(write_config(tmp_path, AER)), "--combine", "nope",
                 *dirs(tmp_path))  # fmt: skip
    assert_one_error_line(result, "nope")
    assert written(tmp_path) == []


def test_combine_with_another_config_is_one_error_line(tmp_path):
    path = str(write_config(tmp_path, AER))
    submitted = run("reservoir", path, "--submit", *dirs(tmp_path))
    assert submitted.exit_code == 0, submitted.stderr
    run_id = re.search(r"submitted run (\S+);", submitted.stdout).group(1)
    assert run("collect", run_id, *dirs(tmp_path)).exit_code == 0
    # the same number of states on one input qubit fewer: not the submitted experiment
    other = write_config(tmp_path, AER.replace("num_qubits = 2", "num_qubits = 1"), "other.toml")
    result = run("reservoir", str(other), "--combine", run_id, *dirs(tmp_path))
    assert_one_error_line(result, run_id)
    assert written(tmp_path) == []


def test_ibm_engine_without_submit_is_refused(tmp_path):
    path = write_config(tmp_path, AER.replace('name = "aer"', 'name = "ibm:ibm_fez"'))
    result = run("reservoir", str(path), *dirs(tmp_path))
    assert_one_error_line(result, "ibm:ibm_fez", "--submit")
    assert written(tmp_path) == []


def test_negative_seed_is_refused(tmp_path):
    result = run("reservoir", str(write_config(tmp_path, CONFIG)), "--seed", "-1",
                 *dirs(tmp_path))  # fmt: skip
    assert_one_error_line(result, "seed")
    assert written(tmp_path) == []


def test_help_lists_the_options():
    result = run("reservoir", "--help")
    assert result.exit_code == 0
    for option in ("--seed", "--submit", "--combine", "--results-dir", "--jobs-dir"):
        assert option in result.stdout
