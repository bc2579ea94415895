"""Parameter sweeps over any config fields, in-process or on Dask, resumable point by point.

Example:
    >>> from qdm_qiskit.sweeps import sweep_from_dict
    >>> sweep = sweep_from_dict({"sweep": {"kind": "reservoir",
    ...     "axes": {"reservoir.tau_b": [0.1, 15.0], "reservoir.coupling": [0.0, 0.7]}}})
    >>> len(sweep.points), sweep.metric
    (4, 'wootters')
"""

from qdm_qiskit.sweeps.config import (
    SweepConfig,
    SweepPoint,
    load_sweep,
    sweep_from_dict,
    with_report_options,
)
from qdm_qiskit.sweeps.report import best_point, metric_grid, write_sweep_report
from qdm_qiskit.sweeps.runner import SweepOutcome, run_point, run_sweep, sweep_directory

__all__ = [
    "SweepConfig",
    "SweepOutcome",
    "SweepPoint",
    "best_point",
    "load_sweep",
    "metric_grid",
    "run_point",
    "run_sweep",
    "sweep_directory",
    "sweep_from_dict",
    "with_report_options",
    "write_sweep_report",
]
