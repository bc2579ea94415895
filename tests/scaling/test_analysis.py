"""Fitted growth laws of a real ``run_scaling`` measurement, against the expected asymptotics.

The measurement runs once per module on a small configuration (the CLI's device widths, five
simulated widths, FakeTorino). Deterministic quantities (gate counts, depth, duration, shots,
memory, QPU seconds, FLOPs) are checked against their theoretical laws; wall-clock timings only
for being positive and finite.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.plan import rep_delay_seconds
from qdm_qiskit.jobs.targets import resolve_target
from qdm_qiskit.scaling import (
    FAMILIES,
    ScalingConfig,
    expected_growth,
    fit_table,
    run_scaling,
    write_scaling,
)
from qdm_qiskit.scaling.analysis import TAIL, series_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TORINO = "fake:FakeTorino"
TIMINGS = ("sim_seconds", "train_step_seconds", "ddpm_seconds")
DETERMINISTIC = ("shots", "state_bytes", "quantum_parameters", "depth", "two_qubit_gates",
                 "duration_s", "qpu_seconds", "ddpm_flops", "ddpm_parameters")  # fmt: skip
CONFIG = ScalingConfig(
    families=("angle", "state", "reservoir"),
    sim_qubits=(2, 3, 4, 5, 6),
    device_qubits=(2, 4, 6, 8, 10, 16, 32, 64),
    targets=(TORINO,),
    repeats=1,
    batch=4,
    samples=10,
)

Run = tuple[pd.DataFrame, pd.DataFrame, list[str], float]


@pytest.fixture(scope="module")
def scaling_run() -> Run:
    return run_scaling(CONFIG)


@pytest.fixture(scope="module")
def measurements(scaling_run: Run) -> pd.DataFrame:
    return scaling_run[0]


@pytest.fixture(scope="module")
def fits(scaling_run: Run) -> pd.DataFrame:
    return scaling_run[1]


def fit_row(fits: pd.DataFrame, family: str, target: str, quantity: str) -> pd.Series:
    rows = fits[(fits["family"] == family) & (fits["target"] == target)
                & (fits["quantity"] == quantity)]  # fmt: skip
    assert len(rows) == 1, (family, target, quantity, rows)
    return rows.iloc[0]


def series(measurements: pd.DataFrame, family: str, target: str, quantity: str) -> pd.Series:
    rows = measurements[(measurements["family"] == family) & (measurements["target"] == target)
                        & (measurements["quantity"] == quantity)]  # fmt: skip
    return rows.set_index("n")["value"].sort_index()


# --- the must-show: fitted exponents against the expected asymptotics --------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_shots_grow_like_two_to_the_n(fits: pd.DataFrame, family: str) -> None:
    row = fit_row(fits, family, "-", "shots")
    assert row["model"] == "exponential"
    assert row["expected_rate"] == 2.0
    assert row["fitted_rate"] == pytest.approx(2.0, rel=0.02)
    assert row["r2"] > 0.999


@pytest.mark.parametrize("family", FAMILIES)
def test_state_memory_is_exactly_two_to_the_n(fits: pd.DataFrame, family: str) -> None:
    row = fit_row(fits, family, "engine", "state_bytes")
    assert row["model"] == "exponential"
    assert row["expected_rate"] == 2.0
    assert row["fitted_rate"] == pytest.approx(2.0, abs=1e-9)
    assert row["r2"] == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("quantity", ["depth", "two_qubit_gates", "duration_s"])
def test_reservoir_device_costs_grow_linearly(fits: pd.DataFrame, quantity: str) -> None:
    row = fit_row(fits, "reservoir", TORINO, quantity)
    assert row["model"] == "power"
    assert row["expected_rate"] == 1.0
    assert row["fitted_rate"] == pytest.approx(1.0, abs=0.15)
    assert row["n_range"] == "10-64"


def test_state_two_qubit_gates_grow_like_two_to_the_n(fits: pd.DataFrame) -> None:
    row = fit_row(fits, "state", TORINO, "two_qubit_gates")
    assert row["model"] == "exponential"
    assert row["expected_rate"] == 2.0
    assert 1.7 <= row["fitted_rate"] <= 2.1
    assert row["n_range"] == "4-10"  # capped at MAX_AMPLITUDE_QUBITS


@pytest.mark.parametrize("quantity", ["depth", "duration_s"])
def test_state_device_depth_and_duration_grow_exponentially(
    fits: pd.DataFrame, quantity: str
) -> None:
    row = fit_row(fits, "state", TORINO, quantity)
    assert row["model"] == "exponential"
    assert 1.6 <= row["fitted_rate"] <= 2.1


def test_state_two_qubit_gates_exceed_the_logical_count(measurements: pd.DataFrame) -> None:
    """Routing only adds gates to the 2^n - 2 CNOTs plus the PQC's layers x (n - 1) CZs."""
    gates = series(measurements, "state", TORINO, "two_qubit_gates")
    assert list(gates.index) == [2, 4, 6, 8, 10]
    for n, count in gates.items():
        logical = 2**n - 2 + CONFIG.layers * (n - 1)
        assert count >= logical, (n, count, logical)
        assert count < 4 * logical


def test_angle_two_qubit_gates_grow_linearly(
    fits: pd.DataFrame, measurements: pd.DataFrame
) -> None:
    row = fit_row(fits, "angle", TORINO, "two_qubit_gates")
    assert row["model"] == "power"
    assert row["expected_rate"] == 1.0
    assert row["fitted_rate"] == pytest.approx(1.0, abs=0.15)
    # A linear chain of CZs embeds in heavy-hex: at least layers x (n - 1) of them.
    gates = series(measurements, "angle", TORINO, "two_qubit_gates")
    for n, count in gates.items():
        assert count >= CONFIG.layers * (n - 1)


def test_angle_depth_and_duration_have_no_expected_law(fits: pd.DataFrame) -> None:
    for quantity in ("depth", "duration_s"):
        row = fit_row(fits, "angle", TORINO, quantity)
        assert math.isnan(row["expected_rate"])
        assert row["expected_law"] == "-"
        assert row["fitted_rate"] < 1.15  # between constant and linear


def test_reservoir_qpu_seconds_grow_like_two_to_the_n(fits: pd.DataFrame) -> None:
    row = fit_row(fits, "reservoir", TORINO, "qpu_seconds")
    assert row["model"] == "exponential"
    assert row["expected_rate"] == 2.0
    assert row["fitted_rate"] == pytest.approx(2.0, rel=0.1)


def test_angle_qpu_seconds_grow_like_two_to_the_n(fits: pd.DataFrame) -> None:
    row = fit_row(fits, "angle", TORINO, "qpu_seconds")
    assert row["fitted_rate"] == pytest.approx(2.0, rel=0.1)


@pytest.mark.parametrize("family", ["angle", "state"])
def test_quantum_parameters_grow_linearly(fits: pd.DataFrame, family: str) -> None:
    row = fit_row(fits, family, "engine", "quantum_parameters")
    assert row["model"] == "power"
    assert row["fitted_rate"] == pytest.approx(1.0, abs=1e-9)  # 2 x layers x n exactly


def test_every_deterministic_law_fits_well(fits: pd.DataFrame) -> None:
    expected = fits[fits["expected_rate"].notna()]
    deterministic = expected[expected["quantity"].isin(DETERMINISTIC)]
    assert len(deterministic) >= 20
    bad = deterministic[~(deterministic["r2"] > 0.9)]
    assert bad.empty, bad[["family", "target", "quantity", "r2"]]


def test_fits_table_columns_and_tail(fits: pd.DataFrame, measurements: pd.DataFrame) -> None:
    assert list(fits.columns) == ["family", "target", "quantity", "model", "fitted_rate", "law",
                                  "r2", "n_range", "expected_rate", "expected_law"]  # fmt: skip
    for row in fits.itertuples():
        n = sorted(series(measurements, row.family, row.target, row.quantity).index)
        assert row.n_range == f"{n[-TAIL:][0]}-{n[-1]}"
        law = expected_growth(row.family, row.quantity)
        if law is None:
            assert row.model == "power" and row.expected_law == "-"
        else:
            assert (row.model, row.expected_rate) == law
            text = f"{law[1]:g}^n" if law[0] == "exponential" else f"n^{law[1]:g}"
            assert row.expected_law == text


def test_series_without_positive_values_are_not_fitted(fits: pd.DataFrame) -> None:
    # The reservoir has no weights: quantum_parameters is 0 and cannot be fitted in log space.
    assert fits[(fits["family"] == "reservoir")
                & (fits["quantity"] == "quantum_parameters")].empty  # fmt: skip


# --- the raw measurements ---------------------------------------------------------------------


def test_measurement_values(measurements: pd.DataFrame) -> None:
    assert list(measurements.columns) == ["family", "n", "target", "quantity", "value"]
    assert set(measurements["family"]) == set(FAMILIES)
    assert set(measurements["target"]) == {"-", "engine", "cpu", TORINO}
    for family in FAMILIES:
        shots = series(measurements, family, "-", "shots")
        for n, value in shots.items():
            assert value == math.ceil((2**n - 1) / (4 * CONFIG.precision**2))
        memory = series(measurements, family, "engine", "state_bytes")
        ancillas = CONFIG.ancillas if family == "reservoir" else 0
        for n, value in memory.items():
            assert value == 8 * 2 ** (n + ancillas)


def test_shots_cover_every_width_up_to_30(measurements: pd.DataFrame) -> None:
    shots = series(measurements, "angle", "-", "shots")
    assert list(shots.index) == [2, 3, 4, 5, 6, 8, 10, 16]  # 32 and 64 are beyond 30


def test_qpu_seconds_are_shots_times_shot_time(measurements: pd.DataFrame) -> None:
    delay = rep_delay_seconds(resolve_target(TORINO))
    for family in FAMILIES:
        qpu = series(measurements, family, TORINO, "qpu_seconds")
        duration = series(measurements, family, TORINO, "duration_s")
        assert list(qpu.index) == list(duration.index)
        executions = CONFIG.samples * (1 if family == "reservoir" else CONFIG.steps)
        for n in qpu.index:
            shots = math.ceil((2**n - 1) / (4 * CONFIG.precision**2))
            expected = executions * shots * (duration[n] + delay)
            assert qpu[n] == pytest.approx(expected, rel=1e-12)


def test_device_widths(measurements: pd.DataFrame) -> None:
    for family, widths in (("angle", [2, 4, 6, 8, 10, 16, 32, 64]),
                           ("reservoir", [2, 4, 6, 8, 10, 16, 32, 64]),
                           ("state", [2, 4, 6, 8, 10])):  # fmt: skip
        depth = series(measurements, family, TORINO, "depth")
        assert list(depth.index) == widths


def test_timings_are_positive_and_finite(measurements: pd.DataFrame) -> None:
    timings = measurements[measurements["quantity"].isin(TIMINGS)]
    assert set(timings["quantity"]) == set(TIMINGS)
    assert np.isfinite(timings["value"]).all()
    assert (timings["value"] > 0).all()
    assert set(timings[timings["quantity"] == "sim_seconds"]["n"]) == {2, 3, 4, 5, 6}


def test_ddpm_flops_follow_the_data_dimension(measurements: pd.DataFrame) -> None:
    for family in FAMILIES:
        flops = series(measurements, family, "cpu", "ddpm_flops")
        for n, value in flops.items():
            dim = n if family == "angle" else 2**n
            layers = (dim + 16) * 128 + 2 * 128 * 128 + 128 * dim
            assert value == 2 * layers * CONFIG.steps


def test_run_notes_and_seconds(scaling_run: Run) -> None:
    _, _, notes, seconds = scaling_run
    assert seconds > 0
    assert any("state family transpiled up to n = 10" in note for note in notes)
    assert any("largest statevector" in note for note in notes)


# --- expected laws ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "quantity", "law"),
    [
        ("angle", "shots", ("exponential", 2.0)),
        ("state", "state_bytes", ("exponential", 2.0)),
        ("reservoir", "sim_seconds", ("exponential", 2.0)),
        ("angle", "train_step_seconds", ("exponential", 2.0)),
        ("reservoir", "qpu_seconds", ("exponential", 2.0)),
        ("angle", "qpu_seconds", ("exponential", 2.0)),
        ("angle", "depth", None),
        ("angle", "duration_s", None),
        ("angle", "two_qubit_gates", ("power", 1.0)),
        ("reservoir", "depth", ("power", 1.0)),
        ("reservoir", "two_qubit_gates", ("power", 1.0)),
        ("reservoir", "duration_s", ("power", 1.0)),
        ("state", "depth", ("exponential", 2.0)),
        ("state", "two_qubit_gates", ("exponential", 2.0)),
        ("state", "duration_s", ("exponential", 2.0)),
        ("angle", "quantum_parameters", ("power", 1.0)),
        ("state", "ddpm_flops", ("exponential", 2.0)),
        ("reservoir", "ddpm_parameters", ("exponential", 2.0)),
        ("angle", "ddpm_flops", None),
        ("angle", "ddpm_seconds", None),
        ("state", "no_such_quantity", None),
    ],
)
def test_expected_growth(family: str, quantity: str, law: tuple | None) -> None:
    assert expected_growth(family, quantity) == law


@pytest.mark.parametrize("family", FAMILIES)
def test_expected_qpu_law_is_shots_times_shot_duration(family: str) -> None:
    """QPU seconds = executions x shots x (duration + delay): asymptotically shots x duration.

    Shots grow like 2^n; when the duration also grows exponentially (the state family: 2^n - 2
    CNOTs), the product grows like 4^n, not 2^n; a power-law or bounded duration keeps 2^n.
    """
    shots = expected_growth(family, "shots")
    duration = expected_growth(family, "duration_s")
    qpu = expected_growth(family, "qpu_seconds")
    assert shots is not None and qpu is not None
    base = shots[1] * (duration[1] if duration and duration[0] == "exponential" else 1.0)
    assert qpu == ("exponential", base)


# --- fit_table on synthetic data --------------------------------------------------------------


def synthetic(rows: list[tuple[str, int, str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["family", "n", "target", "quantity", "value"])


def test_fit_table_on_synthetic_laws() -> None:
    ns = [2, 4, 6, 8, 10, 12]
    rows = [("state", n, "-", "shots", 3.0 * 2**n) for n in ns]
    rows += [("reservoir", n, "dev", "depth", 7.0 * n**1.3) for n in ns]
    rows += [("angle", n, "dev", "depth", 5.0 + n) for n in ns]  # no expected law: power fit
    table = fit_table(synthetic(rows))
    shots = fit_row(table, "state", "-", "shots")
    assert shots["fitted_rate"] == pytest.approx(2.0, rel=1e-9)
    assert shots["n_range"] == "6-12"
    assert shots["law"] == "2^n"
    depth = fit_row(table, "reservoir", "dev", "depth")
    assert depth["fitted_rate"] == pytest.approx(1.3, rel=1e-9)
    assert depth["law"] == "n^1.3" and depth["expected_law"] == "n^1"
    angle = fit_row(table, "angle", "dev", "depth")
    assert angle["model"] == "power" and math.isnan(angle["expected_rate"])


def test_fit_table_tail_argument() -> None:
    ns = [1, 2, 3, 4, 5, 6]
    # 2^n above n = 3, a different law below: only the tail is fitted.
    rows = [("state", n, "-", "shots", (2.0**n if n > 3 else 1000.0)) for n in ns]
    table = fit_table(synthetic(rows), tail=3)
    row = fit_row(table, "state", "-", "shots")
    assert row["fitted_rate"] == pytest.approx(2.0, rel=1e-9)
    assert row["n_range"] == "4-6"


def test_fit_table_skips_unfittable_series() -> None:
    rows = [("state", 4, "-", "shots", 15.0)]  # one n
    rows += [("angle", n, "-", "shots", v) for n, v in ((2, 3.0), (3, 0.0), (4, 15.0))]
    rows += [("angle", n, "engine", "state_bytes", 8.0 * 2**n) for n in (2, 3)]
    table = fit_table(synthetic(rows))
    assert list(zip(table["family"], table["quantity"], strict=True)) == [("angle", "state_bytes")]


# --- writing the results ----------------------------------------------------------------------


def test_write_scaling(scaling_run: Run, tmp_path: Path) -> None:
    measurements, fits, notes, seconds = scaling_run
    final = write_scaling(CONFIG, measurements, fits, notes, seconds, tmp_path / "results")
    assert final.parent == tmp_path / "results"
    assert final.name.startswith("scaling-")
    assert [p.name for p in final.parent.iterdir()] == [final.name]  # no partial left
    written = pd.read_csv(final / "measurements.csv")
    assert list(written.columns) == ["family", "n", "target", "quantity", "value"]
    pd.testing.assert_frame_equal(written, measurements, check_dtype=False)
    written_fits = pd.read_csv(final / "fits.csv")
    assert list(written_fits.columns) == list(fits.columns)
    assert len(written_fits) == len(fits)
    np.testing.assert_allclose(written_fits["fitted_rate"], fits["fitted_rate"], rtol=1e-12)
    info = json.loads((final / "info.json").read_text())
    assert info["kind"] == "scaling"
    assert info["seed"] == CONFIG.seed
    assert info["config"]["families"] == list(CONFIG.families)
    assert info["config"]["device_qubits"] == list(CONFIG.device_qubits)
    assert info["notes"] == notes
    assert {"qiskit", "torch"} <= set(info["versions"])
    for quantity in set(measurements["quantity"]):
        assert (final / f"{quantity}.png").read_bytes().startswith(PNG_MAGIC)
    report = (final / "report.md").read_text()
    assert report.startswith("# Scaling with the number of qubits")
    assert f"Fits use the {TAIL} largest n" in report
    assert "two_qubit_gates" in report and "fake:FakeTorino" in report
    for note in notes:
        assert f"- {note}" in report
    for quantity in set(measurements["quantity"]):
        assert f"({quantity}.png)" in report


def test_write_scaling_with_nothing_to_fit(tmp_path: Path) -> None:
    """A run whose series all have a single n has no fits: write it, or refuse cleanly."""
    config = ScalingConfig(families=("reservoir",), sim_qubits=(2,), device_qubits=(2,))
    measurements = synthetic([("reservoir", 2, "-", "shots", 300.0),
                              ("reservoir", 2, "engine", "state_bytes", 128.0)])  # fmt: skip
    fits = fit_table(measurements)
    assert fits.empty
    try:
        final = write_scaling(config, measurements, fits, [], 1.0, tmp_path)
    except ConfigError:  # refusing is fine too, as long as nothing is left behind
        assert list(tmp_path.iterdir()) == []
        return
    assert (final / "measurements.csv").exists()
    assert (final / "report.md").exists()
    assert [p.name for p in tmp_path.iterdir()] == [final.name]


def test_series_png(measurements: pd.DataFrame) -> None:
    assert series_png(measurements, "two_qubit_gates").startswith(PNG_MAGIC)
