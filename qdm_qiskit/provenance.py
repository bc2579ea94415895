"""Provenance recorded in every stored artifact: package versions of the stack.

Versions come from installed distribution metadata, so nothing heavy is imported.
"""

from __future__ import annotations

from importlib import metadata

import qdm_qiskit

#: Distributions whose versions change the numbers an artifact holds.
TRACKED_DISTRIBUTIONS: tuple[str, ...] = (
    "qiskit",
    "qiskit-aer",
    "qiskit-ibm-runtime",
    "qiskit-machine-learning",
    "numpy",
    "scipy",
    "torch",
    "pandas",
    "pythia8mc",
    "fastjet",
    "awkward",
)


def distribution_version(name: str) -> str | None:
    """Return the installed version of distribution ``name``, or ``None`` if it is absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def package_versions(names: tuple[str, ...] = TRACKED_DISTRIBUTIONS) -> dict[str, str | None]:
    """Return ``{"qdm-qiskit": ..., <name>: <version or None>}`` for the given distributions."""
    versions: dict[str, str | None] = {"qdm-qiskit": qdm_qiskit.__version__}
    versions.update({name: distribution_version(name) for name in names})
    return versions
