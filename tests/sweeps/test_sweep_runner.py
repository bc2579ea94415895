"""Running sweeps: in-process and on a Dask LocalCluster, point rows, resuming, bad executors."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qdm_qiskit
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.sweeps import SweepConfig, run_sweep, sweep_directory, sweep_from_dict
from tests.sweeps.test_sweep_config import tiny_sweep

METRICS = ["wootters", "wootters_max", "wootters_ensemble", "fidelity", "fidelity_min"]
GRID_AXES = ["reservoir.tau_b", "reservoir.coupling"]


def workspace(root: Path) -> Workspace:
    return Workspace(root / "jobs", root / "results")


def grid_16() -> SweepConfig:
    return sweep_from_dict(
        tiny_sweep(
            {"reservoir.tau_b": [0.1, 1.0, 5.0, 15.0], "reservoir.coupling": [0.0, 0.2, 0.5, 0.7]},
            name="grid16",
        )
    )


def small_grid(name: str = "small") -> SweepConfig:
    return sweep_from_dict(
        tiny_sweep({"reservoir.tau_b": [0.1, 15.0], "reservoir.coupling": [0.0, 0.7]}, name=name)
    )


def free_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- in-process vs Dask ---------------------------------------------------------------------


def test_sixteen_points_on_two_dask_workers_match_the_in_process_run(tmp_path: Path) -> None:
    sweep = grid_16()
    assert len(sweep.points) == 16
    serial = run_sweep(sweep, workspace=workspace(tmp_path / "serial"))
    dask = run_sweep(sweep, workspace=workspace(tmp_path / "dask"), workers=2)

    for outcome in (serial, dask):
        assert outcome.ran == [p.point_id for p in sweep.points]
        assert outcome.skipped == []
        assert len(outcome.table) == 16
        assert len(list((outcome.directory / "points").glob("*.json"))) == 16
    assert dask.directory == tmp_path / "dask" / "results" / "sweep-grid16"
    assert serial.directory == tmp_path / "serial" / "results" / "sweep-grid16"

    columns = ["point", "point_id", *GRID_AXES, *METRICS]
    left, right = serial.table[columns], dask.table[columns]
    # the rows come back in sweep order whichever worker finished first
    assert list(right["point"]) == list(range(16))
    assert list(right["point_id"]) == [p.point_id for p in sweep.points]
    pd.testing.assert_frame_equal(left, right, check_exact=True)
    assert np.isfinite(left[METRICS].to_numpy()).all()
    # and each run wrote its own reservoir directory under its own results store
    assert all(Path(d).parent == tmp_path / "dask" / "results" for d in dask.table["run_dir"])
    assert set(serial.table["run_dir"]).isdisjoint(dask.table["run_dir"])


# --- rows and the sweep directory -----------------------------------------------------------


def test_each_point_row_names_its_params_metrics_and_run(tmp_path: Path) -> None:
    sweep = small_grid()
    seen: list[tuple[int, int, str]] = []
    outcome = run_sweep(
        sweep,
        workspace=workspace(tmp_path),
        progress=lambda done, total, row: seen.append((done, total, row["point_id"])),
    )
    assert [(d, t) for d, t, _ in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [i for _, _, i in seen] == [p.point_id for p in sweep.points]
    directory = sweep_directory(sweep, tmp_path / "results")
    assert outcome.directory == directory

    for point in sweep.points:
        row = json.loads((directory / "points" / f"{point.point_id}.json").read_text())
        assert row["point_id"] == point.point_id
        for axis, value in point.params.items():
            assert row[axis] == value
        for metric in METRICS:
            assert isinstance(row[metric], float)
        assert row["seed"] == point.config["inputs"]["seed"] == 0
        assert row["version"] == qdm_qiskit.__version__
        run_dir = Path(row["run_dir"])
        assert run_dir.is_dir()
        assert run_dir.parent == tmp_path / "results"
        assert run_dir.name.startswith("reservoir-")
        info = json.loads((run_dir / "info.json").read_text())
        assert info["config"] == point.config
        assert info["config"]["reservoir"]["tau_b"] == point.params["reservoir.tau_b"]
        assert info["config"]["reservoir"]["coupling"] == point.params["reservoir.coupling"]
        for metric in METRICS:
            assert info["metrics"][metric] == row[metric]

    columns = list(outcome.table.columns)  # the documented order
    assert columns[:4] == ["point", "point_id", *GRID_AXES]
    assert set(METRICS) <= set(columns)
    assert "run_dir" in columns
    # the trivial point: no coupling, backward for t_f gives the inputs back
    trivial = outcome.table.set_index(GRID_AXES).loc[(15.0, 0.0)]
    assert trivial["wootters"] < 1e-9
    assert trivial["fidelity"] > 1 - 1e-9

    table = pd.read_csv(directory / "table.csv")
    assert list(table["point_id"]) == [p.point_id for p in sweep.points]
    np.testing.assert_array_equal(table[METRICS].to_numpy(), outcome.table[METRICS].to_numpy())
    spec = json.loads((directory / "sweep.json").read_text())
    assert spec["kind"] == "reservoir"
    assert spec["name"] == "small"
    assert spec["metric"] == "wootters"
    assert spec["axes"] == GRID_AXES
    assert [p["point_id"] for p in spec["points"]] == [p.point_id for p in sweep.points]
    assert spec["points"][1]["config"] == sweep.points[1].config
    assert spec["spec"] == sweep.spec


# --- resuming -------------------------------------------------------------------------------


def test_a_finished_sweep_runs_nothing_and_returns_the_same_table(tmp_path: Path) -> None:
    sweep = small_grid()
    first = run_sweep(sweep, workspace=workspace(tmp_path))
    rows_before = {p.name: p.read_text() for p in (first.directory / "points").glob("*.json")}
    runs_before = sorted((tmp_path / "results").glob("reservoir-*"))

    again = run_sweep(sweep, workspace=workspace(tmp_path))
    assert again.ran == []
    assert again.skipped == [p.point_id for p in sweep.points]
    assert sorted((tmp_path / "results").glob("reservoir-*")) == runs_before
    assert {p.name: p.read_text() for p in (again.directory / "points").glob("*.json")} == (
        rows_before
    )
    # the same values ...
    columns = ["point", "point_id", *GRID_AXES, *METRICS, "run_dir", "seconds", "seed"]
    pd.testing.assert_frame_equal(first.table[columns], again.table[columns], check_exact=True)
    # ... and the same table: the columns keep their documented order
    assert list(again.table.columns) == list(first.table.columns)
    pd.testing.assert_frame_equal(first.table, again.table, check_exact=True)


def test_a_resumed_sweep_runs_only_the_missing_points(tmp_path: Path) -> None:
    sweep = small_grid()
    first = run_sweep(sweep, workspace=workspace(tmp_path))
    missing = [sweep.points[1].point_id, sweep.points[3].point_id]
    for point_id in missing:
        (first.directory / "points" / f"{point_id}.json").unlink()
    # an unreadable row counts as not done
    (first.directory / "points" / f"{sweep.points[2].point_id}.json").write_text("{trunc")
    missing.insert(1, sweep.points[2].point_id)

    resumed = run_sweep(sweep, workspace=workspace(tmp_path))
    assert resumed.ran == missing
    assert resumed.skipped == [sweep.points[0].point_id]
    assert list(resumed.table["point_id"]) == [p.point_id for p in sweep.points]
    columns = ["point", "point_id", *GRID_AXES, *METRICS]
    pd.testing.assert_frame_equal(first.table[columns], resumed.table[columns], check_exact=True)
    assert resumed.table.loc[0, "run_dir"] == first.table.loc[0, "run_dir"]
    for i in (1, 2, 3):
        assert resumed.table.loc[i, "run_dir"] != first.table.loc[i, "run_dir"]


def test_points_shared_between_sweeps_of_the_same_name_are_reused(tmp_path: Path) -> None:
    """A point is its config: growing the grid runs only the new points."""
    ws = workspace(tmp_path)
    small = sweep_from_dict(tiny_sweep({"reservoir.coupling": [0.0, 0.7]}, name="grow"))
    run_sweep(small, workspace=ws)
    grown = sweep_from_dict(tiny_sweep({"reservoir.coupling": [0.0, 0.35, 0.7]}, name="grow"))
    outcome = run_sweep(grown, workspace=ws)
    assert outcome.ran == [grown.points[1].point_id]
    assert outcome.skipped == [grown.points[0].point_id, grown.points[2].point_id]
    assert list(outcome.table["reservoir.coupling"]) == [0.0, 0.35, 0.7]


# --- the qdm kind ---------------------------------------------------------------------------


def test_qdm_sweep_over_layers(tmp_path: Path) -> None:
    sweep = sweep_from_dict(
        {
            "sweep": {"kind": "qdm", "name": "layers", "axes": {"model.layers": [1, 2]}},
            "base": {
                "data": {"max_jets": 60, "npix": 2},
                "model": {"num_qubits": 2, "steps": 2},
                "train": {"epochs": 1},
            },
        }
    )
    outcome = run_sweep(sweep, workspace=workspace(tmp_path))
    assert outcome.ran == [p.point_id for p in sweep.points]
    table = outcome.table
    assert list(table["model.layers"]) == [1, 2]
    assert np.isfinite(table["validation_loss"]).all()
    assert (table["validation_loss"] >= 0).all()
    assert np.isfinite(table["train_loss"]).all()
    # twice the layers, twice the circuit parameters
    assert table.loc[1, "quantum_parameters"] == 2 * table.loc[0, "quantum_parameters"] > 0
    for point, run_dir in zip(sweep.points, table["run_dir"], strict=True):
        assert Path(run_dir).is_dir()
        assert Path(run_dir).parent == tmp_path / "results"
        row = json.loads((outcome.directory / "points" / f"{point.point_id}.json").read_text())
        assert row["seed"] == point.config["train"]["seed"]
        assert row["model.layers"] == point.params["model.layers"]
    assert run_sweep(sweep, workspace=workspace(tmp_path)).ran == []


# --- bad executors: an error before anything is written -------------------------------------


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"workers": 0}, "--workers must be between 1 and 256, got 0"),
        ({"workers": -2}, "--workers must be between 1 and 256"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:1"}, "not both"),
    ],
)
def test_bad_worker_options(tmp_path: Path, options: dict, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        run_sweep(small_grid(), workspace=workspace(tmp_path), **options)
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "jobs").exists()


def test_a_scheduler_that_does_not_answer_fails_fast_and_writes_nothing(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(ConfigError) as info:
        run_sweep(small_grid(), workspace=workspace(tmp_path), scheduler=address,
                  connect_timeout=2)  # fmt: skip
    assert time.monotonic() - start < 20
    message = str(info.value)
    assert address in message
    assert "did not answer within 2 s" in message
    assert "nothing was run" in message
    assert "\n" not in message
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "jobs").exists()
