"""The job manager: plan -> submit -> collect -> combine, with the ledger as the source of truth.

- :func:`plan_tasks` transpiles and batches (no side effects; ``--dry-run`` stops here);
- :func:`submit_plan` writes the run directory, records the run in the ledger, then submits job
  after job, recording each id the moment ``run()`` returns;
- :func:`collect_run` fetches finished jobs, turns them into tidy rows in the results store and
  marks them collected; it is idempotent and safe to run twice at once or after a ``kill -9``;
- :func:`run_tasks` does all three for local targets and returns the results.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

import qdm_qiskit
from qdm_qiskit.circuits.transpile import TranspileCache, TranspileOptions
from qdm_qiskit.errors import ConfigError, QdmError
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.ledger import (
    CANCELLED,
    COLLECTED,
    FAILED,
    JobRow,
    Ledger,
    NewRun,
    RunRow,
)
from qdm_qiskit.jobs.mitigation import (
    CALIBRATION_PUBS,
    CALIBRATION_REGISTER,
    assignment_matrices,
    measured_qubits,
    readout_corrected,
    uses_readout_calibration,
)
from qdm_qiskit.jobs.plan import RunPlan, job_seed, plan_run
from qdm_qiskit.jobs.reduce import reduce_backend
from qdm_qiskit.jobs.rundir import StoredRun, read_run_dir, write_run_dir
from qdm_qiskit.jobs.services import (
    DONE,
    ERROR,
    LOST,
    IbmExecutor,
    JobOutcome,
    LocalExecutor,
    TransientError,
    encode_result,
)
from qdm_qiskit.jobs.targets import device_backend, parse_target, runtime_service
from qdm_qiskit.provenance import package_versions
from qdm_qiskit.results.store import CALIBRATION_CIRCUIT, ResultStore, RunResults
from qdm_qiskit.results.tidy import (
    PubKey,
    counts_frame,
    expectations_frame,
    parameters_frame,
    per_binding_counts,
    with_quasi_probabilities,
)

LEDGER_FILE = "ledger.sqlite"


@dataclass(frozen=True)
class Workspace:
    """Where runs live: the ledger and run directories, and the results store."""

    jobs_dir: Path = Path("jobs")
    results_dir: Path = Path("results")

    def run_dir(self, run_id: str) -> Path:
        """Where a run's plan (manifest, circuits, values) is kept."""
        return Path(self.jobs_dir) / run_id

    @property
    def ledger_path(self) -> Path:
        """The SQLite ledger."""
        return Path(self.jobs_dir) / LEDGER_FILE

    def ledger(self) -> Ledger:
        """Open the ledger (created on first use)."""
        return Ledger(self.ledger_path)

    def existing_ledger(self, run_id: str | None = None) -> Ledger:
        """Open the ledger, refusing to create one: reading commands must not write."""
        if not self.ledger_path.exists():
            about = f"no run {run_id!r}: " if run_id else ""
            raise ConfigError(f"{about}no ledger at {self.ledger_path}; nothing was submitted here")
        return Ledger(self.ledger_path)


@dataclass
class CollectReport:
    """What one :func:`collect_run` call did."""

    run_id: str
    collected: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)
    resubmitted: list[int] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    complete: bool = False


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus 24 random bits."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def job_tags(run_id: str, job_index: int) -> list[str]:
    """Tags put on a Runtime job, so ``service.jobs(job_tags=...)`` finds it without its id."""
    return ["qdm-qiskit", f"qdm-run-{run_id}", f"qdm-job-{run_id}-{job_index:04d}"]


def plan_tasks(
    tasks: Sequence[CircuitTask],
    *,
    target: str,
    primitive: str = "sampler",
    mitigation: str = "none",
    shots: int = 1024,
    precision: float = 0.015625,
    seed: int = 0,
    chunk_size: int = 1024,
    transpile: TranspileOptions | None = None,
    service: Any = None,
    cache: TranspileCache | None = None,
) -> RunPlan:
    """Resolve ``target`` and plan the run (see :func:`~qdm_qiskit.jobs.plan.plan_run`)."""
    spec = parse_target(target)
    device = device_backend(spec, service=service)
    return plan_run(
        list(tasks),
        spec=spec,
        device=device,
        primitive=primitive,
        mitigation=mitigation,
        shots=shots,
        precision=precision,
        seed=seed,
        chunk_size=chunk_size,
        transpile=transpile,
        cache=cache,
    )


def submit_plan(
    plan: RunPlan,
    *,
    workspace: Workspace = Workspace(),
    name: str = "experiment",
    config: dict[str, Any] | None = None,
    service: Any = None,
    run_id: str | None = None,
) -> str:
    """Record the run, then submit its jobs; returns the run id.

    For local targets the jobs execute here and their results are spooled; for ``ibm:`` they
    are queued inside one Batch. Either way, ``collect_run`` gathers them.
    """
    run_id = run_id or new_run_id()
    run_dir = workspace.run_dir(run_id)
    results_dir = Path(workspace.results_dir)
    executor = open_executor(
        plan.target, plan.primitive, plan.simulated_qubits, run_dir, service=service
    )
    manifest = write_run_dir(plan, run_dir)
    versions = package_versions()
    record = NewRun(
        run_id=run_id,
        name=name,
        primitive=plan.primitive,
        target=plan.target,
        mitigation=plan.mitigation,
        options=plan.options,
        shots=plan.shots,
        precision=plan.precision,
        seed=plan.seed,
        config=dict(config or {}),
        manifest=manifest,
        versions=versions,
        run_dir=str(run_dir),
        results_dir=str(results_dir),
        jobs=tuple(job.pub_ids for job in plan.jobs),
    )
    store = ResultStore(results_dir)
    store.write_info(run_id, _run_info(record))
    store.write_parameters(run_id, _parameters(run_id, plan))
    stored = read_run_dir(run_dir)
    with workspace.ledger() as ledger:
        ledger.create_run(record)
        try:
            for job in plan.jobs:
                _submit_job(ledger, executor, stored, ledger.run(run_id), job.index)
        finally:
            executor.close()
    return run_id


def collect_run(
    run_id: str,
    *,
    workspace: Workspace = Workspace(),
    service: Any = None,
    executor: Any = None,
) -> CollectReport:
    """Fetch the run's finished jobs into the results store (idempotent, concurrency-safe)."""
    with workspace.existing_ledger(run_id) as ledger:
        run = ledger.run(run_id)
        report = CollectReport(run.run_id)
        jobs = [job for job in ledger.jobs(run.run_id) if not job.final]
        if jobs:
            stored = read_run_dir(run.run_dir)
            if executor is None:
                executor = open_executor(
                    run.target,
                    run.primitive,
                    _simulated(run),
                    Path(run.run_dir),
                    service=service,
                )
            store = ResultStore(run.results_dir)
            try:
                for job in jobs:
                    if not ledger.claim(run.run_id, job.job_index):
                        report.busy.append(job.job_index)
                        continue
                    try:
                        _collect_job(ledger, executor, stored, run, job, store, report)
                    except QdmError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - one job's trouble, not the run's
                        message = f"collect failed, will retry: {type(exc).__name__}: {exc}"
                        ledger.note(run.run_id, job.job_index, message)
                        report.waiting.append(job.job_index)
                        report.messages.append(f"job {job.job_index}: {message}")
                    finally:
                        ledger.release(run.run_id, job.job_index)
            finally:
                executor.close()
        final = ledger.jobs(run.run_id)
        report.complete = all(job.final for job in final)
        if report.complete:
            ResultStore(run.results_dir).combine(run.run_id)
    return report


def cancel_run(
    run_id: str, *, workspace: Workspace = Workspace(), service: Any = None
) -> list[str]:
    """Cancel a run's unfinished jobs; returns one message per job touched."""
    messages = []
    with workspace.existing_ledger(run_id) as ledger:
        run = ledger.run(run_id)
        jobs = ledger.jobs(run.run_id)
        pending = [job for job in jobs if not job.final]
        for job in jobs:
            if job.final:
                messages.append(f"job {job.job_index}: already {job.state.lower()}")
        if not pending:
            return messages
        executor = open_executor(
            run.target, run.primitive, _simulated(run), Path(run.run_dir), service=service
        )
        ledger.mark_cancelled(run.run_id)
        try:
            for job in pending:
                messages.append(_cancel_job(ledger, executor, run, job))
        finally:
            executor.close()
    return messages


def _cancel_job(ledger: Ledger, executor: Any, run: RunRow, job: JobRow) -> str:
    index = job.job_index
    job_id = job.job_id
    if job_id is None:
        # It may have reached the service without reaching the ledger: look for it by tag.
        found = executor.find(job_tags(run.run_id, index))
        if not found:
            ledger.set_state(run.run_id, index, CANCELLED, "cancelled before submission")
            return f"job {index}: cancelled before submission"
        job_id = found[0]
        ledger.record_job_id(run.run_id, index, job_id, f"job id {job_id} recovered by tag")
    outcome = executor.fetch(job_id)
    if outcome.state == DONE:
        return f"job {index}: already finished; 'qdm collect' keeps it"
    message = executor.cancel(job_id)
    ledger.set_state(run.run_id, index, CANCELLED, "cancelled by the user")
    return f"job {index}: {message}"


def run_tasks(
    tasks: Sequence[CircuitTask],
    *,
    target: str = "aer",
    primitive: str = "sampler",
    workspace: Workspace = Workspace(),
    name: str = "tasks",
    config: dict[str, Any] | None = None,
    **options: Any,
) -> RunResults:
    """Plan, submit and collect in one call, for local targets; returns the results.

    ``config`` is recorded with the run (as by :func:`submit_plan`); ``options`` are those of
    :func:`plan_tasks` (mitigation, shots, precision, seed, ...).
    """
    if parse_target(target).kind == "ibm":
        raise QdmError("run_tasks waits for results; for ibm: targets submit and collect later")
    plan = plan_tasks(tasks, target=target, primitive=primitive, **options)
    run_id = submit_plan(plan, workspace=workspace, name=name, config=config)
    report = collect_run(run_id, workspace=workspace)
    with workspace.ledger() as ledger:
        problems = [
            f"job {job.job_index} {job.state.lower()}: {job.error or ''}".strip()
            for job in ledger.jobs(run_id)
            if job.state != COLLECTED
        ]
    if problems:
        raise QdmError(f"run {run_id} did not complete: {'; '.join(problems + report.messages)}")
    return ResultStore(workspace.results_dir).load(run_id)


def status_table(ledger: Ledger) -> pd.DataFrame:
    """One row per run: target, primitive, job counts and overall state."""
    rows = []
    for run in ledger.runs():
        jobs = ledger.jobs(run.run_id)
        states = [job.state for job in jobs]
        rows.append(
            {
                "run": run.run_id,
                "name": run.name,
                "primitive": run.primitive,
                "target": run.target,
                "mitigation": run.mitigation,
                "jobs": len(jobs),
                "collected": states.count(COLLECTED),
                "failed": states.count(FAILED),
                "state": run_state(run, jobs),
            }
        )
    columns = ["run", "name", "primitive", "target", "mitigation", "jobs", "collected", "failed"]
    return pd.DataFrame(rows, columns=[*columns, "state"])


def jobs_table(ledger: Ledger, run_id: str) -> pd.DataFrame:
    """One row per job of a run."""
    run = ledger.run(run_id)
    rows = [
        {
            "job": job.job_index,
            "job_id": job.job_id or "-",
            "state": job.state,
            "pubs": len(job.pub_ids),
            "rows": job.rows if job.rows is not None else "-",
            "error": job.error or "",
        }
        for job in ledger.jobs(run.run_id)
    ]
    return pd.DataFrame(rows, columns=["job", "job_id", "state", "pubs", "rows", "error"])


def run_state(run: RunRow, jobs: Sequence[JobRow]) -> str:
    """``complete``, ``partial`` (some failed), ``cancelled`` or ``in progress``."""
    if not all(job.final for job in jobs):
        return "in progress"
    if all(job.state == COLLECTED for job in jobs):
        return "complete"
    return "cancelled" if run.cancelled else "partial"


def open_executor(
    target: str,
    primitive: str,
    simulated_qubits: Sequence[int] | None,
    run_dir: Path,
    *,
    service: Any = None,
) -> LocalExecutor | IbmExecutor:
    """The executor for a target (needs credentials for ``ibm:`` only)."""
    spec = parse_target(target)
    if spec.kind == "ibm":
        return IbmExecutor(
            service=service if service is not None else runtime_service(),
            backend_name=str(spec.backend),
            primitive=primitive,
        )
    mode = None
    if spec.backend is not None:
        device = device_backend(spec)
        qubits = simulated_qubits if simulated_qubits is not None else range(device.num_qubits)
        mode = reduce_backend(device, list(qubits))
    engine = "aer" if spec.kind == "aer" else "runtime"
    return LocalExecutor(primitive=primitive, engine=engine, mode=mode, spool=run_dir / "spool")


def _submit_job(
    ledger: Ledger, executor: Any, stored: StoredRun, run: RunRow, index: int
) -> str | None:
    pubs, _ = stored.build_pubs(index)
    try:
        return str(
            executor.submit(
                pubs,
                options=run.options,
                shots=run.shots,
                precision=run.precision,
                seed=job_seed(run.seed, index),
                tags=job_tags(run.run_id, index),
                on_submitted=lambda job_id: ledger.record_job_id(run.run_id, index, job_id),
            )
        )
    except TransientError as exc:
        ledger.note(run.run_id, index, f"submission failed, will retry on collect: {exc}")
    except QdmError:
        raise
    except Exception as exc:  # noqa: BLE001 - the service refused the job: record why
        ledger.set_state(
            run.run_id, index, FAILED, f"submission failed: {type(exc).__name__}: {exc}"
        )
    return None


def _collect_job(
    ledger: Ledger,
    executor: Any,
    stored: StoredRun,
    run: RunRow,
    job: JobRow,
    store: ResultStore,
    report: CollectReport,
) -> None:
    index = job.job_index
    job_id = job.job_id
    try:
        if job_id is None:
            if run.cancelled:
                ledger.set_state(run.run_id, index, CANCELLED, "run cancelled before submission")
                return
            found = executor.find(job_tags(run.run_id, index))
            if found:
                job_id = found[0]
                ledger.record_job_id(run.run_id, index, job_id, f"job id {job_id} recovered by tag")
            else:
                job_id = _submit_job(ledger, executor, stored, run, index)
                report.resubmitted.append(index)
                if job_id is None:
                    report.messages.append(f"job {index}: submission failed")
                    return
        outcome = executor.fetch(job_id)
        if outcome.state == LOST:
            ledger.note(run.run_id, index, f"{outcome.error}; re-executing with the same seed")
            new_id = _submit_job(ledger, executor, stored, run, index)
            report.resubmitted.append(index)
            outcome = executor.fetch(new_id) if new_id else JobOutcome(ERROR, error="resubmit")
            job_id = new_id or job_id
    except TransientError as exc:
        ledger.note(run.run_id, index, f"fetch failed, will retry: {exc}")
        report.waiting.append(index)
        report.messages.append(f"job {index}: {exc}")
        return
    if outcome.state == DONE and outcome.result is not None:
        table, frame = _tidy(stored, run, index, job_id, outcome)
        rows = store.write_job(run.run_id, index, table, frame, encode_result(outcome.result))
        ledger.mark_collected(run.run_id, index, rows)
        report.collected.append(index)
    elif outcome.state in (ERROR, CANCELLED):
        state = FAILED if outcome.state == ERROR else CANCELLED
        ledger.set_state(run.run_id, index, state, outcome.error or outcome.state.lower())
        report.failed.append(index)
        report.messages.append(f"job {index} {state.lower()}: {outcome.error}")
    else:
        ledger.set_state(run.run_id, index, outcome.state)
        report.waiting.append(index)


def _tidy(
    stored: StoredRun, run: RunRow, index: int, job_id: str, outcome: JobOutcome
) -> tuple[str, pd.DataFrame]:
    """Rows of one finished job, every row keyed by run, job, PUB, circuit and binding."""
    result = outcome.result
    if result is None:
        raise QdmError(f"job {job_id}: no result to store")
    ids = stored.pub_ids(index)
    if len(result) != len(ids):
        raise QdmError(f"job {job_id}: {len(result)} PUB results for {len(ids)} PUBs")
    keys = {}
    for pub_id in ids:
        if pub_id in CALIBRATION_PUBS:
            keys[pub_id] = PubKey(run.run_id, index, job_id, pub_id, CALIBRATION_CIRCUIT, 0)
        else:
            entry = stored.pub(pub_id)
            keys[pub_id] = PubKey(
                run.run_id, index, job_id, pub_id, entry["circuit"], entry["start"]
            )
    if run.primitive == "estimator":
        frames = [
            _expectations(stored, keys[pub_id], pub_result)
            for pub_id, pub_result in zip(ids, result, strict=True)
        ]
        return "expectations", pd.concat(frames, ignore_index=True)
    matrices = None
    if uses_readout_calibration(run.mitigation, primitive=run.primitive):
        cal = {
            pub_id: r for pub_id, r in zip(ids, result, strict=True) if pub_id in CALIBRATION_PUBS
        }
        qubits = list(stored.manifest["calibration_qubits"])
        bits0 = cal["cal0"].data[CALIBRATION_REGISTER]
        bits1 = cal["cal1"].data[CALIBRATION_REGISTER]
        per_bit = assignment_matrices(bits0.get_counts(), bits1.get_counts(), len(qubits))
        matrices = dict(zip(qubits, per_bit, strict=True))
    frames = []
    for pub_id, pub_result in zip(ids, result, strict=True):
        key = keys[pub_id]
        for register in pub_result.data:
            bits = pub_result.data[register]
            frame = counts_frame(key, register, bits)
            if matrices is not None and pub_id not in CALIBRATION_PUBS:
                circuit = stored.circuits[key.circuit].circuit
                qubits = measured_qubits(circuit, register)
                quasis = readout_corrected(per_binding_counts(bits), qubits, matrices)
                frame = with_quasi_probabilities(frame, quasis, key.start)
            frames.append(frame)
    return "counts", pd.concat(frames, ignore_index=True)


def _expectations(stored: StoredRun, key: PubKey, pub_result: Any) -> pd.DataFrame:
    names = [name for name, _ in stored.circuits[key.circuit].observables]
    return expectations_frame(key, names, pub_result.data.evs, pub_result.data.stds)


def _simulated(run: RunRow) -> list[int] | None:
    qubits = run.manifest.get("simulated_qubits")
    return None if qubits is None else [int(q) for q in qubits]


def _run_info(record: NewRun) -> dict[str, Any]:
    return {
        "run_id": record.run_id,
        "name": record.name,
        "qdm_qiskit_version": qdm_qiskit.__version__,
        "primitive": record.primitive,
        "target": record.target,
        "mitigation": record.mitigation,
        "options": record.options,
        "shots": record.shots,
        "precision": record.precision,
        "seed": record.seed,
        "config": record.config,
        "versions": record.versions,
        "jobs": len(record.jobs),
        "notes": record.manifest.get("notes", []),
    }


def _parameters(run_id: str, plan: RunPlan) -> pd.DataFrame:
    frames = [parameters_frame(run_id, c.name, c.parameter_names, c.values) for c in plan.circuits]
    return pd.concat(frames, ignore_index=True)


def planned_qpu_seconds(workspace: Workspace, run_ids: Sequence[str]) -> float | None:
    """Estimated QPU time of runs, from their plans (``None`` if any job has no estimate).

    The estimate is the plan's: executions times (circuit duration on the device's gate
    durations plus the repetition delay), summed over jobs.
    """
    total = 0.0
    for run_id in run_ids:
        try:
            manifest = json.loads((workspace.run_dir(run_id) / "manifest.json").read_text())
        except (OSError, ValueError):
            return None
        for job in manifest.get("jobs", []):
            if job.get("qpu_seconds") is None:
                return None
            total += float(job["qpu_seconds"])
    return total
