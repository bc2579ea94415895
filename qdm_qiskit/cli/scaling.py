"""``qdm scaling``: a thin wrapper over :mod:`qdm_qiskit.scaling`."""

from __future__ import annotations

from pathlib import Path

import click

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.scaling import ScalingConfig, run_scaling, write_scaling


def _integers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"expected comma-separated qubit counts, got {text!r}") from exc


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@click.command()
@click.option("--families", default="angle,state,reservoir", show_default=True)
@click.option("--sim-qubits", default="2,4,6,8,10,12,14", show_default=True,
              help="n simulated on the torch engine (those that fit memory).")  # fmt: skip
@click.option("--device-qubits", default="2,4,6,8,10,16,32,64", show_default=True,
              help="n transpiled for the targets (within the device width).")  # fmt: skip
@click.option("--targets", default="fake:FakeTorino", show_default=True,
              help="Comma-separated fake devices, e.g. fake:FakeTorino,fake:FakeFez.")  # fmt: skip
@click.option("--precision", type=float, default=0.05, show_default=True,
              help="Wootters precision per measured distribution (sets shots).")  # fmt: skip
@click.option("--samples", type=int, default=1000, show_default=True,
              help="Samples of the sampling run priced in QPU seconds.")  # fmt: skip
@click.option(
    "--entanglement",
    type=click.Choice(["linear", "ring"]),
    default="linear",
    show_default=True,
    help="The QDM PQCs' entangling pattern (ring: the models').",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("results"), show_default=True)  # fmt: skip
def scaling(families: str, sim_qubits: str, device_qubits: str, targets: str, precision: float,
            samples: int, entanglement: str, seed: int, results_dir: Path) -> None:  # fmt: skip
    r"""Measure cost against qubits and fit growth rates (time ~ 2^n, depth ~ n, ...).

    For the angle and state QDM families and the reservoir: ISA depth, two-qubit gates and
    duration on fake devices (transpile only, up to the device width), QPU seconds of a
    sampling run, shots for a given precision, engine time and memory per sample, training-step
    time, and the classical DDPM's FLOPs and time on the same data. Writes
    results/scaling-<id>/ with measurements.csv, fits.csv (fitted vs expected laws), report.md
    and one log-scale plot per quantity.

    \b
    Examples:
      qdm scaling
      qdm scaling --families reservoir --device-qubits 4,8,16,32,64,100 --targets fake:FakeFez
    """
    config = ScalingConfig(families=_names(families), sim_qubits=_integers(sim_qubits),
                           device_qubits=_integers(device_qubits), targets=_names(targets),
                           precision=precision, samples=samples, entanglement=entanglement,
                           seed=seed)  # fmt: skip
    measurements, fits, notes, seconds = run_scaling(config)
    directory = write_scaling(config, measurements, fits, notes, seconds, results_dir)
    shown = fits[["family", "target", "quantity", "law", "expected_law"]]
    click.echo(shown.to_string(index=False))
    click.echo(f"report: {directory / 'report.md'}")
