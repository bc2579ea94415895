"""Run a sweep's points in-process or on Dask, skipping the points already finished.

Each point is an ordinary run (``qdm reservoir`` or ``qdm train``): it writes its own directory
to the results store and, on a target, its jobs to the ledger. When it succeeds, its row
(parameters, metrics, run directory, seed, version) is written atomically to
``sweep-<name>/points/<point_id>.json``; that file is what marks the point done. A killed sweep
therefore loses at most the points in flight, and re-running it runs only the missing ones.

:func:`run_point` is a plain top-level function of JSON-ready arguments, so a Dask worker in
another process (or on another machine sharing the file system) runs exactly what the
in-process loop runs, and a point's result depends only on its config and seed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import qdm_qiskit
from qdm_qiskit._io import atomic_write_bytes, atomic_write_json, check_writable
from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.sweeps.config import SweepConfig, SweepPoint

Progress = Callable[[int, int, dict[str, Any]], None]


@dataclass
class SweepOutcome:
    """What a :func:`run_sweep` call did.

    Attributes:
        directory: ``results/sweep-<name>/``.
        table: one row per point, in sweep order: ``point, point_id``, the axes, the metrics,
            ``run_dir``.
        ran: ids of the points run by this call (the others were already done).
        skipped: ids of the points found done.
    """

    directory: Path
    table: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def sweep_directory(sweep: SweepConfig, results_dir: str | Path) -> Path:
    """Where a sweep's table, report and point rows live."""
    return Path(results_dir) / f"sweep-{sweep.name}"


def run_point(
    kind: str,
    config: dict[str, Any],
    params: dict[str, Any],
    point_id: str,
    sweep_dir: str,
    jobs_dir: str,
    results_dir: str,
) -> dict[str, Any]:
    """Run one point as an ordinary run and record its row; return the row.

    The arguments are plain JSON-ready values and paths, so that a Dask worker in another
    process or on another machine sharing the file system runs it the same way.
    """
    workspace = Workspace(Path(jobs_dir), Path(results_dir))
    if kind == "reservoir":
        metrics, run_dir, seed = _reservoir_point(config, workspace)
    else:
        metrics, run_dir, seed = _qdm_point(config, workspace)
    row = {"point_id": point_id, **params, **metrics, "seed": seed, "run_dir": str(run_dir),
           "version": qdm_qiskit.__version__}  # fmt: skip
    atomic_write_json(Path(sweep_dir) / "points" / f"{point_id}.json", row)
    return row


def _reservoir_point(config: dict[str, Any], workspace: Workspace) -> tuple[dict, Path, int]:
    from qdm_qiskit.reservoir import reservoir_config_from_dict, run_reservoir, write_reservoir

    parsed = reservoir_config_from_dict(config)
    result = run_reservoir(parsed, workspace=workspace)
    directory = write_reservoir(result, workspace.results_dir)
    return result.metrics, directory, parsed.inputs.seed


def _qdm_point(config: dict[str, Any], workspace: Workspace) -> tuple[dict, Path, int]:
    from qdm_qiskit.models.config import run_config_from_dict
    from qdm_qiskit.workflows.quantum import train_to_directory

    parsed = run_config_from_dict(config)
    directory, result = train_to_directory(parsed, results_dir=workspace.results_dir)
    history = result.history
    count = result.model.parameter_count()
    metrics = {
        "validation_loss": float(history["validation_loss"].min()),
        "train_loss": float(history["train_loss"].iloc[-1]),
        "quantum_parameters": float(count.quantum),
        "seconds": float(result.seconds),
    }
    return metrics, directory, parsed.train.seed


def finished_rows(sweep: SweepConfig, directory: Path) -> dict[str, dict[str, Any]]:
    """Rows of the sweep's points already done, by point id (unreadable rows count as not done)."""
    rows = {}
    for point in sweep.points:
        path = directory / "points" / f"{point.point_id}.json"
        with contextlib.suppress(OSError, ValueError):
            rows[point.point_id] = json.loads(path.read_text())
    return rows


def run_sweep(
    sweep: SweepConfig,
    *,
    workspace: Workspace | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
    progress: Progress | None = None,
) -> SweepOutcome:
    """Run the sweep's missing points, then write its table (``table.csv``) and ``sweep.json``.

    Args:
        sweep: the validated sweep.
        workspace: the ledger and results store every point uses.
        workers: run on a Dask ``LocalCluster`` of this many single-threaded worker processes.
        scheduler: run on the Dask scheduler at this address (``tcp://host:8786``).
        connect_timeout: seconds to wait for ``scheduler`` before giving up.
        progress: called as ``progress(done, total, row)`` after each point.

    Raises:
        ConfigError: both ``workers`` and ``scheduler``, a bad worker count, or a scheduler that
            does not answer within ``connect_timeout`` (before anything is written).
    """
    workspace = workspace or Workspace()
    if workers is not None and scheduler is not None:
        raise ConfigError("give --workers (a local Dask cluster) or --scheduler, not both")
    if workers is not None and not 1 <= workers <= 256:
        raise ConfigError(f"--workers must be between 1 and 256, got {workers}")
    directory = sweep_directory(sweep, workspace.results_dir)
    done = finished_rows(sweep, directory)
    pending = [p for p in sweep.points if p.point_id not in done]
    distributed = workers is not None or scheduler is not None
    with _executor(workers, scheduler, connect_timeout, bool(pending) and distributed) as client:
        check_writable(directory / "sweep.json")
        (directory / "points").mkdir(exist_ok=True)
        _write_spec(sweep, directory)
        total, count = len(sweep.points), len(done)
        for row in _execute(client, sweep, pending, directory, workspace):
            done[row["point_id"]] = row
            count += 1
            if progress is not None:
                progress(count, total, row)
    table = sweep_table(sweep, done)
    atomic_write_bytes(directory / "table.csv", table.to_csv(index=False).encode())
    ran = [p.point_id for p in pending]
    skipped = [p.point_id for p in sweep.points if p not in pending]
    return SweepOutcome(directory, table, ran, skipped)


def _execute(
    client: Any, sweep: SweepConfig, pending: list[SweepPoint], directory: Path,
    workspace: Workspace,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    # Absolute paths: a worker of a remote cluster does not share this process's directory.
    paths = [str(Path(p).resolve()) for p in (directory, workspace.jobs_dir, workspace.results_dir)]
    arguments: list[tuple[Any, ...]] = [
        (sweep.kind.name, p.config, p.params, p.point_id, *paths) for p in pending
    ]
    if client is None:
        for args in arguments:
            yield run_point(*args)
        return
    from dask.distributed import as_completed

    futures = [client.submit(run_point, *args, key=f"qdm-point-{args[3]}", pure=False)
               for args in arguments]  # fmt: skip
    try:
        for future in as_completed(futures):
            yield future.result()
    except QdmError:
        client.cancel(futures)
        raise


@contextlib.contextmanager
def _executor(
    workers: int | None, scheduler: str | None, timeout: float, needed: bool
) -> Iterator[Any]:
    """A Dask client (local cluster or remote scheduler), or ``None`` for in-process runs."""
    if not needed:
        yield None
        return
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"Dask scheduler {scheduler!r} did not answer within {timeout:g} s ({exc}); "
                "nothing was run"
            ) from exc
        with client:
            yield client
        return
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")  # fmt: skip
    with cluster, Client(cluster) as client:
        yield client


def _write_spec(sweep: SweepConfig, directory: Path) -> None:
    atomic_write_json(directory / "sweep.json", {
        "kind": sweep.kind.name, "name": sweep.name, "metric": sweep.metric,
        "axes": list(sweep.axes), "spec": sweep.spec, "version": qdm_qiskit.__version__,
        "points": [{"point": p.index, "point_id": p.point_id, "params": p.params,
                    "config": p.config} for p in sweep.points],
    })  # fmt: skip


def sweep_table(sweep: SweepConfig, rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """The finished points' rows in sweep order (missing points are left out)."""
    records = [{"point": p.index, **rows[p.point_id]} for p in sweep.points if p.point_id in rows]
    table = pd.DataFrame.from_records(records)
    front = ["point", "point_id", *sweep.axes, *sweep.kind.metrics]
    columns = [c for c in front if c in table.columns]
    return table[columns + sorted(c for c in table.columns if c not in columns)]
