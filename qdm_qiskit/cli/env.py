"""``qdm env``: versions of the stack, for bug reports and provenance checks."""

from __future__ import annotations

import platform

import click

from qdm_qiskit.provenance import package_versions


@click.command()
def env() -> None:
    r"""Print the Python, platform and package versions in use.

    \b
    Example:
      qdm env
    """
    click.echo(f"python: {platform.python_version()} ({platform.platform()})")
    for name, version in package_versions().items():
        click.echo(f"{name}: {version or 'not installed'}")
