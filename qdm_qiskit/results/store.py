"""The on-disk results store: one folder per run under ``results/``.

::

    results/<run_id>/
        run.json                       run id, target, mitigation, seed, config, versions
        parameters.parquet             parameter values, long form (circuit, binding, parameter)
        parts/job-0003.counts.parquet  tidy rows of one job (``.expectations`` for the Estimator)
        raw/job-0003.json              the job's raw primitive result (Runtime JSON encoding)
        counts.parquet                 all parts combined, written when every job is final

Each job's part is written atomically under a name fixed by its job index, so a collector that
is killed and re-run, or two collectors racing, rewrite the same file instead of appending
duplicates. Every Parquet file carries the run's ``run.json`` record in its schema metadata.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from qdm_qiskit._io import atomic_write_bytes, atomic_write_json
from qdm_qiskit.errors import ConfigError, DataError

TABLES = ("counts", "expectations")
#: ``circuit`` value of the readout-calibration rows each job carries.
CALIBRATION_CIRCUIT = "calibration"
_METADATA_KEY = b"qdm"


@dataclass(frozen=True)
class RunResults:
    """A run's results as tidy DataFrames, joined by id.

    Attributes:
        run_id: the run.
        info: the ``run.json`` record (target, mitigation, seed, config, versions).
        counts: Sampler rows (``None`` for an Estimator run).
        expectations: Estimator rows (``None`` for a Sampler run).
        parameters: parameter values in long form.
        jobs_collected: job indices whose rows are present.
    """

    run_id: str
    info: dict[str, Any]
    counts: pd.DataFrame | None
    expectations: pd.DataFrame | None
    parameters: pd.DataFrame
    jobs_collected: tuple[int, ...]

    def parameter_table(self, circuit: str) -> pd.DataFrame:
        """Wide parameter values of one circuit: index ``binding``, one column per parameter."""
        rows = self.parameters[self.parameters["circuit"] == circuit]
        if rows.empty:
            raise ConfigError(f"run {self.run_id} has no circuit {circuit!r}")
        wide = rows.pivot(index="binding", columns="parameter", values="value")
        wide.columns.name = None
        return wide

    def with_parameters(self, table: str, circuit: str) -> pd.DataFrame:
        """``counts`` or ``expectations`` rows of one circuit joined to their parameter values."""
        frame = getattr(self, table, None) if table in TABLES else None
        if frame is None:
            raise ConfigError(f"run {self.run_id} has no {table!r} table")
        rows = frame[frame["circuit"] == circuit]
        return rows.merge(
            self.parameter_table(circuit), left_on="binding", right_index=True, how="left"
        )


class ResultStore:
    """The results folder (default ``results/``)."""

    def __init__(self, root: str | Path = "results") -> None:
        """Use ``root`` as the store's directory."""
        self.root = Path(root)

    def run_dir(self, run_id: str) -> Path:
        """Folder of one run."""
        return self.root / run_id

    def write_info(self, run_id: str, info: dict[str, Any]) -> None:
        """Write ``run.json`` (provenance: target, options, seed, config, versions)."""
        atomic_write_json(self.run_dir(run_id) / "run.json", info, indent=1)

    def info(self, run_id: str) -> dict[str, Any]:
        """The run's ``run.json``."""
        path = self.run_dir(run_id) / "run.json"
        if not path.exists():
            raise ConfigError(f"no results for run {run_id!r} under {self.root}")
        return dict(json.loads(path.read_text()))

    def write_parameters(self, run_id: str, frame: pd.DataFrame) -> None:
        """Write the run's parameter values (long form)."""
        self._write_parquet(self.run_dir(run_id) / "parameters.parquet", frame, run_id)

    def write_job(
        self, run_id: str, job_index: int, table: str, frame: pd.DataFrame, raw: bytes
    ) -> int:
        """Store one job's raw result and tidy rows (raw first); return the number of rows."""
        if table not in TABLES:
            raise ValueError(f"table must be one of {TABLES}")
        stem = f"job-{job_index:04d}"
        atomic_write_bytes(self.run_dir(run_id) / "raw" / f"{stem}.json", raw)
        self._write_parquet(
            self.run_dir(run_id) / "parts" / f"{stem}.{table}.parquet", frame, run_id
        )
        return len(frame)

    def combine(self, run_id: str) -> None:
        """Write ``counts.parquet``/``expectations.parquet`` from all parts, deduplicated."""
        for table in TABLES:
            frame = self._read_parts(run_id, table)
            if frame is not None:
                self._write_parquet(self.run_dir(run_id) / f"{table}.parquet", frame, run_id)

    def load(self, run_id: str) -> RunResults:
        """Read a run's results (from the per-job parts, so partial runs load too)."""
        info = self.info(run_id)
        path = self.run_dir(run_id) / "parameters.parquet"
        parameters = pd.read_parquet(path) if path.exists() else pd.DataFrame()
        tables = {table: self._read_parts(run_id, table) for table in TABLES}
        parts = sorted((self.run_dir(run_id) / "parts").glob("job-*.parquet"))
        collected = tuple(sorted({int(p.name.split(".")[0].removeprefix("job-")) for p in parts}))
        return RunResults(
            run_id=run_id,
            info=info,
            counts=tables["counts"],
            expectations=tables["expectations"],
            parameters=parameters,
            jobs_collected=collected,
        )

    def _read_parts(self, run_id: str, table: str) -> pd.DataFrame | None:
        paths = sorted((self.run_dir(run_id) / "parts").glob(f"job-*.{table}.parquet"))
        if not paths:
            return None
        try:
            frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise DataError(f"run {run_id}: unreadable result part ({exc})") from exc
        # A data PUB belongs to exactly one job, so its rows are keyed without the job; every
        # job carries its own readout calibration, so calibration rows are keyed per job.
        keys = ["circuit", "pub_id", "binding", "register", "bitstring"]
        if table == "expectations":
            keys = ["circuit", "pub_id", "binding", "observable"]
        per_job = frame["job_index"].where(frame["circuit"] == CALIBRATION_CIRCUIT, -1)
        unique = ~frame.assign(_job=per_job).duplicated(subset=[*keys, "_job"])
        return frame[unique].sort_values(["job_index", *keys], ignore_index=True)

    def _write_parquet(self, path: Path, frame: pd.DataFrame, run_id: str) -> None:
        info = self.info(run_id)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        metadata = dict(table.schema.metadata or {})
        metadata[_METADATA_KEY] = json.dumps(info, sort_keys=True, default=str).encode()
        table = table.replace_schema_metadata(metadata)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        atomic_write_bytes(path, buffer.getvalue())


def parquet_provenance(path: str | Path) -> dict[str, Any]:
    """The run record stored in a results Parquet file's metadata."""
    metadata = pq.read_schema(path).metadata or {}
    if _METADATA_KEY not in metadata:
        raise DataError(f"{path}: no qdm provenance in the Parquet metadata")
    return dict(json.loads(metadata[_METADATA_KEY]))
