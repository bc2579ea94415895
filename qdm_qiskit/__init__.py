"""qdm-qiskit: quantum diffusion models for high-energy-physics data, native to Qiskit.

The package is organised in rooms with one-way imports; users import from the room, for example
``from qdm_qiskit.data import load_jets``. This top-level module deliberately exports only the
version.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
