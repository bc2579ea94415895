"""Entry point of the ``qdm`` command and its error policy.

Errors in the user's input (:class:`~qdm_qiskit.errors.QdmError`) print one line and exit with
status 2; unexpected exceptions print one line and exit with status 1. ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

from typing import Any

import click

import qdm_qiskit
from qdm_qiskit.cli.build import build
from qdm_qiskit.cli.data import data
from qdm_qiskit.cli.env import env
from qdm_qiskit.cli.jobs import backends, cancel, collect, status, submit
from qdm_qiskit.cli.models import compare, run, sample, train
from qdm_qiskit.cli.reservoir import reservoir
from qdm_qiskit.cli.scaling import scaling
from qdm_qiskit.cli.sweep import sweep
from qdm_qiskit.errors import QdmError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1


class QdmGroup(click.Group):
    """A click group that turns exceptions into one-line messages (unless ``--debug``)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand, applying the error policy."""
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except QdmError as exc:
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
        except Exception as exc:
            if debug:
                raise
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {exc}); "
                "rerun with --debug for the traceback",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=QdmGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(qdm_qiskit.__version__, "--version", prog_name="qdm")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(debug: bool) -> None:
    r"""qdm: quantum diffusion models for high-energy-physics jets, native to Qiskit.

    \b
    Examples:
      qdm run                               # train a small QDM, sample on noisy Aer, report
      qdm train config.toml                 # train from a config -> results/train-<id>/
      qdm sample results/train-<id>/checkpoint.pt --target aer:FakeFez --n 100
      qdm data inspect                      # summarise the shipped quark/gluon sample
      qdm data generate --jets 2000 --seed 1 --out jets.npz
      qdm build circuits.toml --target fake:FakeFez   # circuits -> QPY, ISA
      qdm backends                          # execution targets
      qdm submit experiment.toml --target fake:FakeManilaV2 --mitigation readout
      qdm status; qdm collect               # ledger table; fetch results
      qdm reservoir                         # XXZ reservoir, the talk's setting
      qdm sweep sweep.toml --workers 2      # a grid of runs on a Dask LocalCluster
      qdm scaling                           # cost versus qubits, fitted growth rates
      qdm env                               # versions, for bug reports
    """


cli.add_command(backends)
cli.add_command(build)
cli.add_command(cancel)
cli.add_command(collect)
cli.add_command(compare)
cli.add_command(data)
cli.add_command(env)
cli.add_command(reservoir)
cli.add_command(run)
cli.add_command(sample)
cli.add_command(scaling)
cli.add_command(status)
cli.add_command(submit)
cli.add_command(sweep)
cli.add_command(train)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="qdm")
