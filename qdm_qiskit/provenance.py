"""Provenance recorded in every stored artifact: package versions of the stack.

Versions come from installed distribution metadata, so nothing heavy is imported.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib import metadata
from typing import Any

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
    "diffusers",
    "scikit-learn",
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


def artifact_info(kind: str, config: Any, seed: int, **extra: Any) -> dict[str, Any]:
    """Provenance of an artifact: kind, UTC time, config, seed and versions.

    ``config`` is any run config with ``to_dict()``.
    """
    return {
        "kind": kind,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "seed": seed,
        "versions": package_versions(),
        **extra,
    }
