"""Cost versus qubits for the QDM families and the reservoir, with fitted growth rates.

Example:
    >>> from qdm_qiskit.scaling import fit_growth, shots_for_precision
    >>> round(fit_growth([4, 6, 8], [16, 64, 256], "exponential").rate, 6)
    2.0
    >>> shots_for_precision(4, 0.05)
    1500
"""

from qdm_qiskit.scaling.analysis import expected_growth, fit_table, run_scaling, write_scaling
from qdm_qiskit.scaling.fit import Growth, fit_growth
from qdm_qiskit.scaling.measure import (
    FAMILIES,
    Measurements,
    ScalingConfig,
    ddpm_flops,
    family_circuit,
    shots_for_precision,
)

__all__ = [
    "FAMILIES",
    "Growth",
    "Measurements",
    "ScalingConfig",
    "ddpm_flops",
    "expected_growth",
    "family_circuit",
    "fit_growth",
    "fit_table",
    "run_scaling",
    "shots_for_precision",
    "write_scaling",
]
