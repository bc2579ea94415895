"""The small jet sample shipped with the package (made by :func:`generate_jets`).

It lets the tests and the default ``qdm run`` work on a machine with no internet. How it was
made is recorded in its own metadata (``metadata["command"]``) and in ``sample/README.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from qdm_qiskit.data.format import JetDataset, load_jets

SAMPLE_FILENAME = "qg_jets_sample.npz"


def sample_path() -> Path:
    """Path of the shipped sample file inside the installed package."""
    return Path(str(resources.files("qdm_qiskit.data") / "sample" / SAMPLE_FILENAME))


def load_sample() -> JetDataset:
    """Load the shipped quark/gluon sample."""
    return load_jets(sample_path())
