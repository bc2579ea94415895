"""``qdm scaling``: a small real run and its files, and the one-line error policy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result

from qdm_qiskit.cli.main import cli
from tests.cli.test_cli_errors import assert_one_error_line, make_runner

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SMALL = ("--families", "reservoir", "--sim-qubits", "2,3,4", "--device-qubits", "2,4,8",
         "--samples", "10")  # fmt: skip


def run(*args: str) -> Result:
    return make_runner().invoke(cli, list(args), prog_name="qdm")


def leftovers(results: Path) -> list[str]:
    return sorted(p.name for p in results.iterdir()) if results.exists() else []


# --- a small real run -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    results = tmp_path_factory.mktemp("scaling") / "results"
    result = run("scaling", *SMALL, "--seed", "3", "--results-dir", str(results))
    return result, results


@pytest.fixture(scope="module")
def run_dir(small_run: tuple[Result, Path]) -> Path:
    result, results = small_run
    assert result.exit_code == 0, (result.output, result.stderr, result.exception)
    (directory,) = results.iterdir()
    return directory


def test_small_run_succeeds_and_prints_the_fits(
    small_run: tuple[Result, Path], run_dir: Path
) -> None:
    result, _ = small_run
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["family", "target", "quantity", "law", "expected_law"]
    body = [line.split() for line in lines[1:-1]]
    assert body and all(row[0] == "reservoir" for row in body)
    printed = {(row[1], row[2]): (row[3], row[4]) for row in body}
    assert printed[("engine", "state_bytes")] == ("2^n", "2^n")
    assert printed[("fake:FakeTorino", "two_qubit_gates")][1] == "n^1"
    assert printed[("-", "shots")][1] == "2^n"
    assert lines[-1] == f"report: {run_dir / 'report.md'}"


def test_small_run_directory(run_dir: Path) -> None:
    assert run_dir.name.startswith("scaling-")
    names = {p.name for p in run_dir.iterdir()}
    assert {"measurements.csv", "fits.csv", "report.md", "info.json"} <= names
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(".")]


def test_measurements_csv_is_tidy(run_dir: Path) -> None:
    frame = pd.read_csv(run_dir / "measurements.csv")
    assert list(frame.columns) == ["family", "n", "target", "quantity", "value"]
    assert set(frame["family"]) == {"reservoir"}
    assert set(frame["target"]) == {"-", "engine", "cpu", "fake:FakeTorino"}
    shots = frame[frame["quantity"] == "shots"].set_index("n")["value"]
    assert sorted(shots.index) == [2, 3, 4, 8]
    for n, value in shots.items():
        assert value == math.ceil((2**n - 1) / (4 * 0.05**2))
    device = frame[frame["target"] == "fake:FakeTorino"]
    assert set(device["n"]) == {2, 4, 8}
    assert set(device["quantity"]) == {"depth", "two_qubit_gates", "duration_s", "qpu_seconds"}
    engine = frame[frame["target"] == "engine"]
    assert set(engine["n"]) == {2, 3, 4}
    memory = engine[engine["quantity"] == "state_bytes"].set_index("n")["value"]
    assert memory.to_dict() == {n: 8 * 2 ** (n + 2) for n in (2, 3, 4)}  # two ancillas
    timings = frame[frame["quantity"].isin(["sim_seconds", "ddpm_seconds"])]["value"]
    assert (timings > 0).all() and timings.map(math.isfinite).all()


def test_fits_csv(run_dir: Path) -> None:
    fits = pd.read_csv(run_dir / "fits.csv")
    assert list(fits.columns) == ["family", "target", "quantity", "model", "fitted_rate", "law",
                                  "r2", "n_range", "expected_rate", "expected_law"]  # fmt: skip
    rows = fits.set_index(["target", "quantity"])
    assert rows.loc[("engine", "state_bytes"), "fitted_rate"] == pytest.approx(2.0, abs=1e-9)
    # (2^n - 1) / (4 precision^2) on n = 2, 3, 4, 8: the -1 still shows at n = 2.
    assert rows.loc[("-", "shots"), "fitted_rate"] == pytest.approx(2.0, rel=0.05)
    assert rows.loc[("-", "shots"), "n_range"] == "2-8"
    gates = rows.loc[("fake:FakeTorino", "two_qubit_gates")]
    assert gates["model"] == "power"
    assert gates["fitted_rate"] == pytest.approx(1.0, abs=0.15)
    assert gates["n_range"] == "2-8"


def test_info_json(run_dir: Path) -> None:
    info = json.loads((run_dir / "info.json").read_text())
    assert info["kind"] == "scaling"
    assert info["seed"] == 3
    config = info["config"]
    assert config["families"] == ["reservoir"]
    assert config["sim_qubits"] == [2, 3, 4]
    assert config["device_qubits"] == [2, 4, 8]
    assert config["targets"] == ["fake:FakeTorino"]
    assert config["samples"] == 10
    assert config["seed"] == 3
    assert config["precision"] == 0.05
    assert config["entanglement"] == "linear"
    assert {"qiskit", "torch"} <= set(info["versions"])
    assert info["seconds"] > 0


def test_plots_and_report(run_dir: Path) -> None:
    measurements = pd.read_csv(run_dir / "measurements.csv")
    positive = measurements.groupby("quantity")["value"].apply(lambda v: bool((v > 0).any()))
    pngs = {p.stem for p in run_dir.glob("*.png")}
    # One log-scale plot per quantity with something to show: the reservoir has no weights, so
    # its all-zero quantum_parameters series gets none.
    assert pngs == set(positive[positive].index)
    assert "quantum_parameters" not in pngs
    for name in pngs:
        assert (run_dir / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
    report = (run_dir / "report.md").read_text()
    assert report.startswith("# Scaling with the number of qubits")
    assert "Families reservoir" in report and "seed 3" in report
    assert "QPU seconds for 10 samples" in report
    assert "two_qubit_gates" in report
    for name in pngs:
        assert f"![{name}]({name}.png)" in report


# --- bad input: one line, exit 2, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--families", "nope"), "scaling family must be one of angle, state, reservoir"),
        (("--families", "reservoir,nope"), "'nope'"),
        (("--families", ""), "at least one family"),
        (("--sim-qubits", "a,b"), "expected comma-separated qubit counts, got 'a,b'"),
        (("--device-qubits", "2,x"), "expected comma-separated qubit counts"),
        (("--sim-qubits", "0"), "scaling qubits must be an integer"),
        (("--device-qubits=-4",), "scaling qubits must be an integer"),
        (("--targets", "fake:NoSuchDevice"), "unknown fake backend 'NoSuchDevice'"),
        (("--targets", "nowhere"), "unknown target 'nowhere'"),
        (("--precision", "0"), "scaling.precision must be a positive number"),
        (("--precision", "nan"), "scaling.precision"),
        (("--precision=-0.1",), "scaling.precision"),
        (("--samples", "0"), "scaling.samples"),
        (("--seed=-1",), "scaling.seed"),
    ],
)
def test_bad_input(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    results = tmp_path / "results"
    result = run("scaling", *SMALL, *args, "--results-dir", str(results))
    assert_one_error_line(result, fragment)
    assert leftovers(results) == []


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("--entanglement", "full"), "--entanglement"),
        (("--samples", "x"), "--samples"),
        (("--precision", "fine"), "--precision"),
        (("--seed", "1.5"), "--seed"),
    ],
)
def test_usage_errors(tmp_path: Path, args: tuple[str, ...], option: str) -> None:
    results = tmp_path / "results"
    result = run("scaling", *SMALL, *args, "--results-dir", str(results))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and option in errors[0], result.stderr
    assert "Usage:" in result.stderr
    assert leftovers(results) == []


def test_results_dir_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("scaling", *SMALL, "--results-dir", str(blocker))
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert blocker.read_text() == "x"


# --- edge cases that must not become internal errors ------------------------------------------


def assert_clean_outcome(result: Result, results: Path) -> None:
    """Either a complete run (exit 0, one scaling-* directory) or one error line and nothing."""
    if result.exit_code == 0:
        names = leftovers(results)
        assert len(names) == 1 and names[0].startswith("scaling-"), names
    else:
        assert_one_error_line(result)
        assert leftovers(results) == [], leftovers(results)


def test_single_width_has_nothing_to_fit(tmp_path: Path) -> None:
    """Every series has one n: no fit is possible (currently a KeyError, exit 1, and a
    hidden ``.scaling-*.partial`` directory is left behind)."""
    results = tmp_path / "results"
    result = run("scaling", "--families", "reservoir", "--sim-qubits", "2", "--device-qubits",
                 "2", "--samples", "10", "--results-dir", str(results))  # fmt: skip
    assert_clean_outcome(result, results)


def test_state_family_without_device_widths(tmp_path: Path) -> None:
    """No device widths for the state family (currently ``max()`` of an empty tuple, exit 1)."""
    results = tmp_path / "results"
    result = run("scaling", "--families", "state", "--sim-qubits", "2,3", "--device-qubits=",
                 "--samples", "10", "--results-dir", str(results))  # fmt: skip
    assert_clean_outcome(result, results)


def test_simulated_width_beyond_memory(tmp_path: Path) -> None:
    """n = 50 is skipped by the engine (it does not fit), but the classical DDPM on 2^50
    amplitudes is still built (currently a RuntimeError from the allocator, exit 1)."""
    results = tmp_path / "results"
    result = run("scaling", "--families", "state", "--sim-qubits", "2,3,50", "--device-qubits",
                 "2,4", "--samples", "10", "--results-dir", str(results))  # fmt: skip
    assert_clean_outcome(result, results)
