"""Fit growth rates to the measurements, compare them with the expected asymptotics, report.

Each series (family, target, quantity) is fitted on its :data:`TAIL` largest ``n``, where the
asymptotic term dominates the constant overheads. :func:`expected_growth` states what theory
says for each series; the report prints both.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qdm_qiskit._io import artifact_directory, atomic_write_bytes, atomic_write_json
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.provenance import package_versions
from qdm_qiskit.results.figures import png_bytes
from qdm_qiskit.results.report import markdown_table
from qdm_qiskit.scaling.fit import Model, fit_growth
from qdm_qiskit.scaling.measure import (
    MAX_AMPLITUDE_QUBITS,
    Measurements,
    ScalingConfig,
    measure_classical,
    measure_device,
    measure_shots,
    measure_simulation,
    simulation_limit,
)

#: Points per series used by the fit: the largest n.
TAIL = 4
UNITS = {
    "depth": "layers", "two_qubit_gates": "gates", "duration_s": "s", "qpu_seconds": "s",
    "shots": "shots", "sim_seconds": "s/sample", "state_bytes": "bytes/sample",
    "train_step_seconds": "s/sample", "quantum_parameters": "parameters",
    "ddpm_seconds": "s/sample", "ddpm_flops": "FLOP/sample", "ddpm_parameters": "parameters",
}  # fmt: skip


def expected_growth(family: str, quantity: str) -> tuple[Model, float] | None:
    """The asymptotic law of a series, or ``None`` when no simple law is expected.

    ``("exponential", 2.0)`` means ``~2^n`` and ``("power", 1.0)`` means ``~n``.

    Circuits of the angle family and the reservoir are chains of nearest-neighbour gates: their
    two-qubit gates grow like ``n``; so do the reservoir's depth and duration (its XX, YY, ZZ
    bonds do not commute with their neighbours), while the angle family's CZ ladder commutes and
    may be packed into constant depth. The state family prepares ``2^n`` amplitudes
    (``2^n - 2`` CNOTs), so its device costs grow like ``2^n``. Shots for a fixed precision of a
    ``2^n``-outcome distribution, state memory and statevector time grow like ``2^n``; so does
    the QPU time of a sampling run (``4^n`` for the state family, whose circuits are ``2^n``
    long too, once their duration outweighs the repetition delay). The DDPM on ``2^n``
    amplitudes grows like ``2^n``, on ``n`` angles like ``n`` (only once ``n`` outweighs the
    hidden width; not at these sizes).
    """
    exponential = ("exponential", 2.0)
    if quantity == "qpu_seconds" and family == "state":
        return ("exponential", 4.0)  # 2^n shots of a 2^n-long circuit
    if quantity in ("shots", "state_bytes", "sim_seconds", "train_step_seconds", "qpu_seconds"):
        return exponential  # type: ignore[return-value]
    if quantity in ("depth", "duration_s") and family == "angle":
        return None  # CZ ladders commute: the compiler packs them, depth between 1 and n
    if quantity in ("depth", "two_qubit_gates", "duration_s"):
        return exponential if family == "state" else ("power", 1.0)  # type: ignore[return-value]
    if quantity == "quantum_parameters":
        return ("power", 1.0)
    if quantity in ("ddpm_flops", "ddpm_seconds", "ddpm_parameters") and family != "angle":
        return exponential  # type: ignore[return-value]
    return None


FIT_COLUMNS = ["family", "target", "quantity", "model", "fitted_rate", "law", "r2", "n_range",
               "expected_rate", "expected_law"]  # fmt: skip


def fit_table(measurements: pd.DataFrame, *, tail: int = TAIL) -> pd.DataFrame:
    """One row per series: fitted law on the ``tail`` largest ``n``, and the expected law."""
    rows = []
    for (family, target, quantity), series in measurements.groupby(
        ["family", "target", "quantity"], sort=True
    ):
        series = series.sort_values("n").tail(tail)
        expected = expected_growth(str(family), str(quantity))
        model: Model = expected[0] if expected else "power"
        if series["n"].nunique() < 2 or not (series["value"] > 0).all():
            continue
        growth = fit_growth(series["n"].to_numpy(), series["value"].to_numpy(), model)
        rows.append({
            "family": family, "target": target, "quantity": quantity, "model": model,
            "fitted_rate": growth.rate, "law": growth.law(), "r2": growth.r2,
            "n_range": f"{int(series['n'].min())}-{int(series['n'].max())}",
            "expected_rate": np.nan if expected is None else expected[1],
            "expected_law": "-" if expected is None else (
                f"{expected[1]:g}^n" if model == "exponential" else f"n^{expected[1]:g}"),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=FIT_COLUMNS)


def run_scaling(config: ScalingConfig) -> tuple[pd.DataFrame, pd.DataFrame, list[str], float]:
    """Measure everything; return measurements, fits, notes and wall time."""
    start = time.perf_counter()
    out = Measurements()
    measure_shots(config, out)
    measure_device(config, out)
    measure_simulation(config, out)
    measure_classical(config, out)
    limit = simulation_limit(1)
    out.notes.append(f"largest statevector (one sample, complex64) that fits half of this "
                     f"machine's memory: {limit} qubits")  # fmt: skip
    measurements = out.frame()
    return measurements, fit_table(measurements), out.notes, time.perf_counter() - start


def series_png(measurements: pd.DataFrame, quantity: str) -> bytes:
    """One quantity against ``n`` on a log scale, a line per family and target."""
    fig = Figure(figsize=(5.0, 3.4), layout="constrained")
    ax = fig.subplots()
    rows = measurements[measurements["quantity"] == quantity]
    for (family, target), series in rows.groupby(["family", "target"], sort=True):
        series = series.sort_values("n")
        label = family if target in ("engine", "cpu", "-") else f"{family}, {target}"
        ax.plot(series["n"], series["value"], marker="o", markersize=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("qubits n")
    ax.set_ylabel(f"{quantity} [{UNITS.get(quantity, '')}]")
    ax.legend(fontsize=7)
    return png_bytes(fig)


def write_scaling(
    config: ScalingConfig,
    measurements: pd.DataFrame,
    fits: pd.DataFrame,
    notes: list[str],
    seconds: float,
    results_dir: str | Path,
) -> Path:
    """Write ``results/scaling-<id>/``: measurements.csv, fits.csv, report.md, plots, info.json."""
    with artifact_directory(results_dir, "scaling") as out:
        directory = out.partial
        atomic_write_bytes(directory / "measurements.csv",
                           measurements.to_csv(index=False).encode())  # fmt: skip
        atomic_write_bytes(directory / "fits.csv", fits.to_csv(index=False).encode())
        figures = []
        for quantity in sorted(measurements["quantity"].unique()):
            if not (measurements.loc[measurements["quantity"] == quantity, "value"] > 0).any():
                continue
            name = f"{quantity}.png"
            atomic_write_bytes(directory / name, series_png(measurements, quantity))
            figures.append(f"![{quantity}]({name})")
        shown = fits[["family", "target", "quantity", "law", "expected_law", "r2", "n_range"]]
        report = [
            "# Scaling with the number of qubits", "",
            f"Families {', '.join(config.families)}; {config.layers} PQC layers, T = "
            f"{config.steps}; reservoir with {config.ancillas} ancillas, one Trotter step each "
            f"way; shots for Wootters precision {config.precision:g}; QPU seconds for "
            f"{config.samples} samples; devices {', '.join(config.targets)} (optimization "
            f"level {config.optimization_level}); seed {config.seed}; {seconds:.0f} s.", "",
            f"Fits use the {TAIL} largest n of each series.", "",
            markdown_table(shown), "", *(f"- {note}" for note in notes), "", *figures, "",
        ]  # fmt: skip
        atomic_write_bytes(directory / "report.md", "\n".join(report).encode())
        atomic_write_json(directory / "info.json", {
            "kind": "scaling", "config": options_to_dict(config), "seed": config.seed,
            "seconds": seconds, "notes": notes, "versions": package_versions(),
            "max_amplitude_qubits": MAX_AMPLITUDE_QUBITS,
        })  # fmt: skip
    return out.final
