"""``qdm sweep``: summary lines, resuming after a kill, and one-line errors that write nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import Result

from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.sweeps import load_sweep, run_sweep
from tests.cli.test_cli_errors import assert_one_error_line, make_runner
from tests.sweeps.test_sweep_config import TINY_SWEEP_TOML

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METRICS = ["wootters", "wootters_max", "wootters_ensemble", "fidelity", "fidelity_min"]

#: Eight points slow enough to kill midway: the Trotterized circuit on the torch engine.
SLOW_SWEEP = """
[sweep]
kind = "reservoir"
name = "slow"

[sweep.axes]
"reservoir.tau_b" = [0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 15.0]

[base.inputs]
source = "gaussian"
count = 4
num_qubits = 2

[base.reservoir]
num_ancillas = 1

[base.engine]
name = "trotter"
trotter_steps = 100
"""


def run(*args: str) -> Result:
    from qdm_qiskit.cli.main import cli

    return make_runner().invoke(cli, list(args), prog_name="qdm")


def qdm_command(*args: str) -> list[str]:
    """``qdm ARGS`` in a fresh interpreter (the console script's entry point)."""
    return [sys.executable, "-c", "from qdm_qiskit.cli.main import main; main()", *args]


def qdm_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def dirs(tmp_path: Path) -> list[str]:
    return ["--results-dir", str(tmp_path / "results"), "--jobs-dir", str(tmp_path / "jobs")]


# --- a successful sweep and its re-run ------------------------------------------------------


def test_sweep_runs_reports_and_then_finds_everything_done(tmp_path: Path) -> None:
    sweep_file = write(tmp_path / "grid.toml", TINY_SWEEP_TOML.format(name="grid"))
    first = run("sweep", str(sweep_file), *dirs(tmp_path))
    assert first.exit_code == 0, (first.output, first.stderr, first.exception)
    out = first.stdout.splitlines()
    assert out[0] == "sweep grid: 4 point(s) run, 0 already done, 4 in all"
    directory = tmp_path / "results" / "sweep-grid"
    assert out[1] == f"report: {directory / 'report.md'}"
    assert "4/4" in first.stderr  # the progress bar
    assert "Traceback" not in first.stderr

    table = pd.read_csv(directory / "table.csv")
    assert len(table) == 4
    assert len(list((directory / "points").glob("*.json"))) == 4
    assert (directory / "sweep.json").is_file()
    report = (directory / "report.md").read_text()
    best = table.loc[table["wootters"].idxmin()]
    assert "Best point (lowest wootters)" in report
    assert f"run {best['run_dir']}" in report
    for name in ("heatmap-reservoir_tau_b-reservoir_coupling.png", "lines-reservoir_tau_b.png"):
        assert (directory / name).read_bytes().startswith(PNG_MAGIC)
    assert len(list((tmp_path / "results").glob("reservoir-*"))) == 4

    second = run("sweep", str(sweep_file), *dirs(tmp_path))
    assert second.exit_code == 0, (second.output, second.stderr, second.exception)
    assert second.stdout.splitlines()[0] == "sweep grid: 0 point(s) run, 4 already done, 4 in all"
    assert len(list((tmp_path / "results").glob("reservoir-*"))) == 4

    # --metric and --plot only redraw the report of a finished sweep
    redraw = run("sweep", str(sweep_file), "--metric", "fidelity", "--plot",
                 "reservoir.coupling,reservoir.tau_b", *dirs(tmp_path))  # fmt: skip
    assert redraw.exit_code == 0, (redraw.output, redraw.stderr, redraw.exception)
    assert redraw.stdout.splitlines()[0] == "sweep grid: 0 point(s) run, 4 already done, 4 in all"
    report = (directory / "report.md").read_text()
    best = table.loc[table["fidelity"].idxmax()]
    assert "Best point (highest fidelity)" in report
    assert f"run {best['run_dir']}" in report
    heatmap = directory / "heatmap-reservoir_coupling-reservoir_tau_b.png"
    assert heatmap.read_bytes().startswith(PNG_MAGIC)
    assert f"({heatmap.name})" in report
    assert len(list((tmp_path / "results").glob("reservoir-*"))) == 4


def test_help_shows_the_options() -> None:
    result = run("sweep", "--help")
    assert result.exit_code == 0
    for option in ("--workers", "--scheduler", "--connect-timeout", "--jobs-dir", "--results-dir"):
        assert option in result.stdout


# --- killed midway, then resumed ------------------------------------------------------------


def test_a_killed_sweep_resumes_with_only_the_missing_points(tmp_path: Path) -> None:
    sweep_file = write(tmp_path / "slow.toml", SLOW_SWEEP)
    sweep = load_sweep(sweep_file)
    points_dir = tmp_path / "results" / "sweep-slow" / "points"
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            qdm_command("sweep", str(sweep_file), *dirs(tmp_path)),
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=tmp_path, env=qdm_env(),
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while len(list(points_dir.glob("*.json"))) < 2:
                assert process.poll() is None, f"qdm sweep ended early: {log.read_text()}"
                assert time.monotonic() < deadline, "no two points finished within 60 s"
                time.sleep(0.02)
            assert process.poll() is None, "the sweep finished before it could be killed"
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL, log.read_text()

    done = {p.stem: p.read_text() for p in points_dir.glob("*.json")}
    order = [p.point_id for p in sweep.points]
    assert set(done) <= set(order)
    assert 2 <= len(done) < len(order), (len(done), log.read_text())
    assert not (points_dir.parent / "table.csv").exists()  # the killed run never got that far

    outcome = run_sweep(sweep, workspace=Workspace(tmp_path / "jobs", tmp_path / "results"))
    assert outcome.ran == [i for i in order if i not in done]
    assert outcome.skipped == [i for i in order if i in done]
    assert list(outcome.table["point_id"]) == order
    assert list(outcome.table["reservoir.tau_b"]) == [
        p.params["reservoir.tau_b"] for p in sweep.points
    ]
    assert outcome.table[METRICS].notna().all().all()
    # the points finished before the kill are untouched, their values in the table as they were
    for point_id, text in done.items():
        assert (points_dir / f"{point_id}.json").read_text() == text
        row = json.loads(text)
        table_row = outcome.table.set_index("point_id").loc[point_id]
        for column in [*METRICS, "run_dir", "reservoir.tau_b"]:
            assert table_row[column] == row[column], column
    assert len(list(points_dir.glob("*.json"))) == len(order)

    again = run("sweep", str(sweep_file), *dirs(tmp_path))
    assert again.exit_code == 0, (again.output, again.stderr)
    assert again.stdout.splitlines()[0] == "sweep slow: 0 point(s) run, 8 already done, 8 in all"


# --- bad input: exit 2, one line, nothing written -------------------------------------------

BAD_SWEEPS = {
    "misspelt-axis": (
        '[sweep]\n[sweep.axes]\n"reservoir.tua_b" = [0.1, 1.0]\n',
        ["'reservoir.tua_b'", "did you mean 'reservoir.tau_b'"],
    ),
    "unknown-section": (
        '[sweep]\n[sweep.axes]\n"reservoar.tau_b" = [0.1]\n',
        ["'reservoar.tau_b'", "not a reservoir config field"],
    ),
    "unknown-base-section": (
        '[sweep]\n[sweep.axes]\n"reservoir.tau_b" = [0.1]\n[base.reservior]\nt_f = 1.0\n',
        ["'reservior'", "did you mean 'reservoir'"],
    ),
    "empty-grid": (
        '[sweep]\n[sweep.axes]\n"reservoir.tau_b" = [0.1]\n"reservoir.coupling" = []\n',
        ["'reservoir.coupling'", "non-empty list"],
    ),
    "no-axes": ('[sweep]\nkind = "reservoir"\n', ["[sweep.axes]"]),
    "list-different-fields": (
        '[sweep]\nmode = "list"\n[[sweep.points]]\n"reservoir.tau_b" = 0.1\n'
        '[[sweep.points]]\n"reservoir.coupling" = 0.7\n',
        ["sweep point 0", "'reservoir.coupling'"],
    ),
    "invalid-value": (
        '[sweep]\n[sweep.axes]\n"reservoir.tau_b" = [0.1, 1.0, -3.0]\n',
        ["sweep point 2", "reservoir.tau_b=-3.0", "reservoir.tau_b must be"],
    ),
    "invalid-qdm-point": (
        '[sweep]\nkind = "qdm"\n[sweep.axes]\n"model.num_qubits" = [2, 3]\n[base.data]\nnpix = 2\n',
        ["sweep point 1", "model.num_qubits=3"],
    ),
    "base-twice": (
        '[sweep]\nbase_config = "base.toml"\n[sweep.axes]\n"reservoir.tau_b" = [0.1]\n'
        '[base.inputs]\nsource = "gaussian"\n',
        ["not both"],
    ),
    "not-toml": ("[sweep\n", ["not a readable toml file"]),
}


@pytest.mark.parametrize("case", sorted(BAD_SWEEPS))
def test_bad_sweep_files(tmp_path: Path, case: str) -> None:
    text, fragments = BAD_SWEEPS[case]
    write(tmp_path / "base.toml", '[inputs]\nsource = "gaussian"\n')
    sweep_file = write(tmp_path / f"{case}.toml", text)
    result = run("sweep", str(sweep_file), *dirs(tmp_path))
    line = assert_one_error_line(result, *fragments)
    assert str(sweep_file) in line
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "jobs").exists()


def test_missing_sweep_file(tmp_path: Path) -> None:
    result = run("sweep", str(tmp_path / "nope.toml"), *dirs(tmp_path))
    assert_one_error_line(result, "nope.toml", "no such sweep file")
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        (["--workers", "0"], ["--workers must be between 1 and 256, got 0"]),
        (["--metric", "wooters"], ["--metric", "did you mean 'wootters'"]),
        (["--plot", "reservoir.tau_b,reservoir.delta"], ["--plot", "reservoir.delta"]),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ["--workers", "not both"]),
    ],
)
def test_bad_executor_options(tmp_path: Path, options: list[str], fragments: list[str]) -> None:
    sweep_file = write(tmp_path / "grid.toml", TINY_SWEEP_TOML.format(name="grid"))
    result = run("sweep", str(sweep_file), *options, *dirs(tmp_path))
    assert_one_error_line(result, *fragments)
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "jobs").exists()


def test_an_unreachable_scheduler_fails_in_bounded_time_and_writes_nothing(
    tmp_path: Path,
) -> None:
    sweep_file = write(tmp_path / "grid.toml", TINY_SWEEP_TOML.format(name="grid"))
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    process = subprocess.run(
        qdm_command("sweep", str(sweep_file), "--scheduler", address, "--connect-timeout", "2",
                    *dirs(tmp_path)),
        capture_output=True, text=True, cwd=tmp_path, env=qdm_env(), timeout=60,
    )  # fmt: skip
    assert time.monotonic() - start < 20
    assert process.returncode == 2, (process.stdout, process.stderr)
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: Dask scheduler ")
    assert address in lines[0]
    assert "did not answer within 2 s" in lines[0]
    assert "Traceback" not in process.stderr
    assert process.stdout == ""
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "jobs").exists()
