"""Sweep reports: the best point, metric grids, report.md and its plots, on hand-built tables."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.sweeps import best_point, metric_grid, sweep_from_dict, write_sweep_report
from tests.sweeps.test_sweep_config import tiny_sweep

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TAU = [0.1, 1.0, 15.0]
COUPLING = [0.0, 0.7]
DELTA = [1.0, 2.0]


def hand_table() -> pd.DataFrame:
    """12 points over (tau_b, coupling, delta) with known, distinct metric values."""
    rows = []
    for i, (tau, coupling, delta) in enumerate(itertools.product(TAU, COUPLING, DELTA)):
        wootters = 0.01 * (i + 1) + (0.5 if delta == 2.0 else 0.0)
        rows.append(
            {
                "point": i,
                "point_id": f"{i:016x}",
                "reservoir.tau_b": tau,
                "reservoir.coupling": coupling,
                "reservoir.delta": delta,
                "wootters": wootters,
                "fidelity": 1.0 - wootters,
                "run_dir": f"results/reservoir-{i:02d}",
            }
        )
    table = pd.DataFrame(rows)
    # the lowest wootters and highest fidelity are not at the first or last row
    table.loc[6, ["wootters", "fidelity"]] = [0.001, 0.2]
    table.loc[9, ["wootters", "fidelity"]] = [0.9, 0.999]
    return table


def test_best_point_minimises_wootters_and_maximises_fidelity() -> None:
    table = hand_table()
    best = best_point(table, "wootters")
    assert best["point"] == 6
    assert best["wootters"] == 0.001
    assert best_point(table, "wootters", higher_is_better=True)["point"] == 9
    assert best_point(table, "fidelity", higher_is_better=True)["point"] == 9
    assert best_point(table, "fidelity")["point"] == 6


def test_best_point_skips_non_finite_values() -> None:
    table = hand_table()
    table.loc[6, "wootters"] = np.nan
    assert best_point(table, "wootters")["point"] == 0
    # "the best finite metric": an infinite value is not the best either
    table.loc[0, "wootters"] = -np.inf
    assert best_point(table, "wootters")["point"] == 2
    table.loc[9, "fidelity"] = np.inf
    assert best_point(table, "fidelity", higher_is_better=True)["point"] == 0
    table["fidelity"] = np.nan
    with pytest.raises(ConfigError, match="no point has a finite fidelity"):
        best_point(table, "fidelity", higher_is_better=True)


def test_best_point_of_a_metric_not_in_the_table() -> None:
    with pytest.raises(ConfigError) as info:
        best_point(hand_table(), "wooters")
    message = str(info.value)
    assert "'wooters'" in message
    assert "wootters" in message.split("it has", 1)[1]
    assert "\n" not in message


def test_metric_grid_pivots_y_by_x_taking_the_best_over_other_axes() -> None:
    table = hand_table()
    grid = metric_grid(table, "reservoir.tau_b", "reservoir.coupling", "wootters")
    assert grid.index.name == "reservoir.coupling"
    assert grid.columns.name == "reservoir.tau_b"
    assert list(grid.index) == COUPLING
    assert list(grid.columns) == TAU
    expected = pd.DataFrame(
        [[min(_value(table, t, c, d) for d in DELTA) for t in TAU] for c in COUPLING],
        index=pd.Index(COUPLING, name="reservoir.coupling"),
        columns=pd.Index(TAU, name="reservoir.tau_b"),
    )
    pd.testing.assert_frame_equal(grid, expected, check_exact=True)
    assert grid.loc[0.7, 1.0] == 0.001  # the best point's cell

    best = metric_grid(table, "reservoir.tau_b", "reservoir.coupling", "fidelity",
                       higher_is_better=True)  # fmt: skip
    assert best.to_numpy().tolist() == [
        [max(_value(table, t, c, d, "fidelity") for d in DELTA) for t in TAU] for c in COUPLING
    ]
    assert best.loc[0.0, 15.0] == 0.999  # point 9

    # rows sorted even if the table is not
    shuffled = table.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        metric_grid(shuffled, "reservoir.tau_b", "reservoir.coupling", "wootters"), grid
    )
    # the other way round is the transpose
    flipped = metric_grid(table, "reservoir.coupling", "reservoir.tau_b", "wootters")
    pd.testing.assert_frame_equal(flipped, grid.T)


def _value(table: pd.DataFrame, tau: float, coupling: float, delta: float,
           metric: str = "wootters") -> float:  # fmt: skip
    match = table[
        (table["reservoir.tau_b"] == tau)
        & (table["reservoir.coupling"] == coupling)
        & (table["reservoir.delta"] == delta)
    ]
    assert len(match) == 1
    return float(match[metric].iloc[0])


def _sweep(metric: str = "wootters", axes: tuple[str, ...] = ("tau_b", "coupling", "delta")):  # type: ignore[no-untyped-def]
    values = {"tau_b": TAU, "coupling": COUPLING, "delta": DELTA}
    return sweep_from_dict(
        tiny_sweep({f"reservoir.{a}": values[a] for a in axes}, name="hand", metric=metric)
    )


def test_report_names_the_best_point_and_writes_the_plots(tmp_path: Path) -> None:
    sweep = _sweep()
    path = write_sweep_report(sweep, hand_table(), tmp_path)
    assert path == tmp_path / "report.md"
    text = path.read_text()
    assert "# Sweep hand: reservoir, 12 of 12 points done" in text
    best_line = next(line for line in text.splitlines() if line.startswith("Best point"))
    assert "lowest wootters" in best_line
    assert "reservoir.tau_b = 1.0" in best_line
    assert "reservoir.coupling = 0.7" in best_line
    assert "reservoir.delta = 1.0" in best_line
    assert "wootters = 0.001" in best_line
    assert "results/reservoir-06" in best_line
    heatmap = "heatmap-reservoir_tau_b-reservoir_coupling.png"
    lines = "lines-reservoir_tau_b.png"
    assert f"({heatmap})" in text
    assert f"({lines})" in text
    for name in (heatmap, lines):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([heatmap, lines, "report.md"])


def test_report_of_a_maximised_metric(tmp_path: Path) -> None:
    sweep = _sweep(metric="fidelity")
    text = write_sweep_report(sweep, hand_table(), tmp_path).read_text()
    best_line = next(line for line in text.splitlines() if line.startswith("Best point"))
    assert "highest fidelity" in best_line
    assert "reservoir.tau_b = 15.0, reservoir.coupling = 0.0, reservoir.delta = 2.0" in best_line
    assert "fidelity = 0.999" in best_line
    assert "results/reservoir-09" in best_line


def test_report_with_explicit_plots_and_one_axis(tmp_path: Path) -> None:
    sweep = sweep_from_dict(
        tiny_sweep(
            {"reservoir.tau_b": TAU, "reservoir.coupling": COUPLING, "reservoir.delta": DELTA},
            name="hand",
            plots=[
                ["reservoir.coupling", "reservoir.delta"],
                ["reservoir.tau_b", "reservoir.delta"],
            ],
        )
    )
    text = write_sweep_report(sweep, hand_table(), tmp_path / "a").read_text()
    for name in ("heatmap-reservoir_coupling-reservoir_delta.png",
                 "heatmap-reservoir_tau_b-reservoir_delta.png"):  # fmt: skip
        assert f"({name})" in text
        assert (tmp_path / "a" / name).read_bytes().startswith(PNG_MAGIC)

    single = _sweep(axes=("tau_b",))
    table = hand_table()
    table = table[(table["reservoir.coupling"] == 0.0) & (table["reservoir.delta"] == 1.0)]
    text = write_sweep_report(single, table.drop(columns=["reservoir.coupling",
                                                          "reservoir.delta"]),
                              tmp_path / "b").read_text()  # fmt: skip
    assert "heatmap" not in text
    assert (tmp_path / "b" / "lines-reservoir_tau_b.png").read_bytes().startswith(PNG_MAGIC)
    assert "3 of 3 points done" in text


def test_report_of_an_empty_table(tmp_path: Path) -> None:
    text = write_sweep_report(_sweep(), pd.DataFrame(), tmp_path).read_text()
    assert "0 of 12 points done" in text
    assert "No point has finished yet." in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_report_of_a_metric_not_in_the_table(tmp_path: Path) -> None:
    sweep = _sweep(metric="wootters_max")
    with pytest.raises(ConfigError, match="'wootters_max' is not in the sweep table"):
        write_sweep_report(sweep, hand_table(), tmp_path)
    assert not (tmp_path / "report.md").exists()
