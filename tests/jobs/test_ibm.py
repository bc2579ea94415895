"""The ``ibm:`` path, tested at the network boundary.

``FakeService`` has the three ``QiskitRuntimeService`` methods qdm uses: ``backend(name)``,
``job(job_id)`` and ``jobs(job_tags=..., limit=...)``. Its ``backend()`` returns a real
``FakeManilaV2``, so ``Batch`` and the Runtime's client-side primitives run for real in local
testing mode. Local jobs are not registered with any service, so every ``LocalRuntimeJob`` that
is submitted is captured into the fake service, together with the job tags the primitive was
built with (what the real service would store with the job). A "new process" is a fresh
``IbmExecutor`` over a :class:`JobOnlyService` that can do nothing but ``job(job_id)``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from qiskit import QuantumCircuit
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import IBMRuntimeError
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from qiskit_ibm_runtime.fake_provider.local_runtime_job import LocalRuntimeJob

from qdm_qiskit.circuits.encoding import angle_encoding
from qdm_qiskit.jobs import manager, services
from qdm_qiskit.jobs import plan as plan_module
from qdm_qiskit.jobs.experiment import CircuitTask
from qdm_qiskit.jobs.ledger import CANCELLED, COLLECTED, FAILED, PENDING, SUBMITTED
from qdm_qiskit.jobs.services import DONE, IbmExecutor, TransientError
from qdm_qiskit.results.store import ResultStore

TARGET = "ibm:fake_device"
SHOTS = 64
#: angle_encoding(2) with RY(x[0]) on qubit 0 and RY(x[1]) on qubit 1: |10> then |01>.
VALUES = np.array([[0.0, np.pi], [np.pi, 0.0]])
EXPECTED_BITSTRING = {0: "10", 1: "01"}
ERROR_MESSAGE = "Error code 8041; the job failed on the device (calibration out of date)"


class FakeService:
    """What qdm uses of ``QiskitRuntimeService``, with local jobs captured by id and tags."""

    def __init__(self) -> None:
        self.submitted: dict[str, Any] = {}
        self.tags: dict[str, list[str]] = {}
        self.backend_names: list[str] = []
        self.job_calls: list[str] = []
        self.jobs_calls: list[dict[str, Any]] = []
        self.pending_tags: list[str] | None = None
        self.before_job: Callable[[str], None] | None = None
        self.before_jobs: Callable[[], None] | None = None
        self._device: FakeManilaV2 | None = None

    def backend(self, name: str) -> FakeManilaV2:
        self.backend_names.append(name)
        if self._device is None:
            self._device = FakeManilaV2()
        return self._device

    def job(self, job_id: str) -> Any:
        self.job_calls.append(job_id)
        if self.before_job is not None:
            self.before_job(job_id)
        return self.submitted[job_id]

    def jobs(self, job_tags: list[str] | None = None, limit: int | None = None, **_: Any) -> list:
        self.jobs_calls.append({"job_tags": list(job_tags or []), "limit": limit})
        if self.before_jobs is not None:
            self.before_jobs()
        wanted = set(job_tags or [])
        return [job for job_id, job in self.submitted.items() if wanted <= set(self.tags[job_id])]

    def register(self, job: LocalRuntimeJob) -> None:
        job_id = job.job_id()
        self.submitted[job_id] = job
        self.tags[job_id] = list(self.pending_tags or [])
        self.pending_tags = None

    def wait(self) -> None:
        """Block until every captured local job has finished."""
        for job in self.submitted.values():
            job.result()


class JobOnlyService:
    """A service in a new process that can only look jobs up by id."""

    def __init__(
        self, jobs: dict[str, Any], before_job: Callable[[str], None] | None = None
    ) -> None:
        self._jobs = dict(jobs)
        self.before_job = before_job
        self.calls: list[str] = []

    def job(self, job_id: str) -> Any:
        self.calls.append(job_id)
        if self.before_job is not None:
            self.before_job(job_id)
        return self._jobs[job_id]


class ReportedJob:
    """A job object as the service returns it, frozen in one state."""

    def __init__(self, job_id: str, status: str, error: str = "") -> None:
        self._job_id = job_id
        self._status = status
        self._error = error
        self.cancel_calls = 0

    def job_id(self) -> str:
        return self._job_id

    def status(self) -> str:
        return self._status

    def error_message(self) -> str:
        return self._error

    def result(self) -> Any:
        raise AssertionError(f"result() of a {self._status} job must not be requested")

    def cancel(self) -> None:
        self.cancel_calls += 1
        self._status = "CANCELLED"


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> FakeService:
    fake = FakeService()
    original_submit = LocalRuntimeJob._submit

    def submit_and_register(job: LocalRuntimeJob) -> None:
        original_submit(job)
        fake.register(job)

    real_make_primitive = services.make_primitive

    def spy_make_primitive(primitive: str, **kwargs: Any) -> Any:
        made = real_make_primitive(primitive, **kwargs)
        # The tags as the Runtime options model holds them: what the service would receive.
        fake.pending_tags = list(made.options.environment.job_tags or [])
        return made

    monkeypatch.setattr(LocalRuntimeJob, "_submit", submit_and_register)
    monkeypatch.setattr(services, "make_primitive", spy_make_primitive)
    return fake


@pytest.fixture
def workspace(tmp_path: Path) -> manager.Workspace:
    return manager.Workspace(tmp_path / "jobs", tmp_path / "results")


def two_job_plan(monkeypatch: pytest.MonkeyPatch, service: FakeService) -> plan_module.RunPlan:
    """One binding per PUB and one PUB per job (a tiny execution budget per job)."""
    monkeypatch.setattr(plan_module, "MAX_EXECUTIONS_PER_JOB", SHOTS)
    circuit = angle_encoding(num_qubits=2)
    circuit.measure_all()
    task = CircuitTask("enc", circuit, VALUES)
    plan = manager.plan_tasks([task], target=TARGET, service=service, shots=SHOTS, chunk_size=1)
    assert [len(job.pub_ids) for job in plan.jobs] == [1, 1]
    assert plan.simulated_qubits is None  # hardware runs the ISA circuit as it is
    return plan


def submitted_run(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> tuple[str, list[str]]:
    """Submit the two-job run, wait for the local jobs; return the run id and job ids."""
    run_id = manager.submit_plan(
        two_job_plan(monkeypatch, service), workspace=workspace, name="ibm-test", service=service
    )
    service.wait()
    return run_id, [job.job_id for job in ledger_jobs(workspace, run_id)]


def ledger_jobs(workspace: manager.Workspace, run_id: str) -> list:
    with workspace.ledger() as ledger:
        return ledger.jobs(run_id)


def ledger_events(workspace: manager.Workspace, run_id: str) -> list[dict[str, Any]]:
    with workspace.ledger() as ledger:
        return ledger.events(run_id)


def job_states(workspace: manager.Workspace, run_id: str) -> list[str]:
    return [job.state for job in ledger_jobs(workspace, run_id)]


def assert_counts_match_the_circuit(counts: pd.DataFrame, bindings: list[int]) -> None:
    assert sorted(counts["binding"].unique()) == bindings
    for binding in bindings:
        rows = counts[counts["binding"] == binding]
        assert rows["count"].sum() == SHOTS
        assert (rows["job_index"] == binding).all()  # one binding per job
        top = rows.sort_values("count").iloc[-1]
        assert top["bitstring"] == EXPECTED_BITSTRING[binding]
        assert top["count"] >= 0.8 * SHOTS  # FakeManilaV2 noise: a few percent


# --- submission ---------------------------------------------------------------------------


def test_every_job_is_tagged_with_its_run_and_its_id_recorded(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id, job_ids = submitted_run(monkeypatch, service, workspace)

    assert list(service.submitted) == job_ids  # ids recorded in submission order, none lost
    assert len(set(job_ids)) == 2
    assert set(service.backend_names) == {"fake_device"}
    assert job_states(workspace, run_id) == [SUBMITTED, SUBMITTED]
    for index, job_id in enumerate(job_ids):
        tags = service.tags[job_id]
        assert f"qdm-run-{run_id}" in tags
        assert f"qdm-job-{run_id}-{index:04d}" in tags
    # Each job also carries a tag of its own, so it can be found without its id.
    assert f"qdm-job-{run_id}-0001" not in service.tags[job_ids[0]]
    assert f"qdm-job-{run_id}-0000" not in service.tags[job_ids[1]]


def test_submission_does_not_wait_for_results_or_write_them(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id, _ = submitted_run(monkeypatch, service, workspace)
    run_results = Path(workspace.results_dir) / run_id
    assert (run_results / "run.json").exists()
    assert not (run_results / "counts.parquet").exists()
    assert not (run_results / "parts").exists()
    assert not (Path(workspace.jobs_dir) / run_id / "spool").exists()  # no local spooling


# --- collection ---------------------------------------------------------------------------


def test_collect_in_a_new_process_needs_only_service_job(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id, job_ids = submitted_run(monkeypatch, service, workspace)
    fresh = JobOnlyService(service.submitted)

    report = manager.collect_run(run_id, workspace=workspace, service=fresh)

    assert report.collected == [0, 1] and report.complete
    assert report.failed == [] and report.waiting == [] and report.resubmitted == []
    assert sorted(set(fresh.calls)) == sorted(job_ids)
    jobs = ledger_jobs(workspace, run_id)
    assert [job.state for job in jobs] == [COLLECTED, COLLECTED]
    assert [job.job_id for job in jobs] == job_ids
    for index in (0, 1):
        history = [e["state"] for e in ledger_events(workspace, run_id) if e["job_index"] == index]
        assert history == [SUBMITTED, COLLECTED]
    run_results = Path(workspace.results_dir) / run_id
    for name in ("counts.parquet", "raw/job-0000.json", "raw/job-0001.json"):
        assert (run_results / name).exists(), name
    results = ResultStore(workspace.results_dir).load(run_id)
    assert results.jobs_collected == (0, 1)
    assert set(results.counts["job_id"]) == set(job_ids)
    assert_counts_match_the_circuit(results.counts, [0, 1])

    again = manager.collect_run(run_id, workspace=workspace, service=JobOnlyService({}))
    assert again.collected == [] and again.complete


def test_a_job_the_service_reports_as_error_is_failed_and_the_rest_collected(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id, job_ids = submitted_run(monkeypatch, service, workspace)
    failed = ReportedJob(job_ids[0], "ERROR", ERROR_MESSAGE)
    fresh = JobOnlyService({**service.submitted, job_ids[0]: failed})

    report = manager.collect_run(run_id, workspace=workspace, service=fresh)

    assert report.failed == [0] and report.collected == [1] and report.complete
    assert any(ERROR_MESSAGE in message for message in report.messages)
    jobs = ledger_jobs(workspace, run_id)
    assert [job.state for job in jobs] == [FAILED, COLLECTED]
    assert jobs[0].error == ERROR_MESSAGE and jobs[1].error is None
    with workspace.ledger() as ledger:
        (row,) = manager.status_table(ledger).to_dict("records")
    assert (row["state"], row["collected"], row["failed"]) == ("partial", 1, 1)
    results = ResultStore(workspace.results_dir).load(run_id)
    assert results.jobs_collected == (1,)
    assert_counts_match_the_circuit(results.counts, [1])

    fresh.calls.clear()
    again = manager.collect_run(run_id, workspace=workspace, service=fresh)
    assert again.failed == [] and again.collected == [] and fresh.calls == []  # FAILED is final


def test_transient_fetch_errors_are_retried_with_doubling_backoff(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id, job_ids = submitted_run(monkeypatch, service, workspace)
    attempts: Counter[str] = Counter()

    def flaky(job_id: str) -> None:
        attempts[job_id] += 1
        if attempts[job_id] <= 2:
            raise ConnectionError("connection reset by peer")

    sleeps: list[float] = []
    monkeypatch.setattr(services, "time", SimpleNamespace(sleep=sleeps.append))

    report = manager.collect_run(
        run_id, workspace=workspace, service=JobOnlyService(service.submitted, flaky)
    )

    assert report.collected == [0, 1] and report.complete and report.waiting == []
    assert attempts == Counter({job_ids[0]: 3, job_ids[1]: 3})
    assert sleeps == [2.0, 4.0, 2.0, 4.0]
    assert job_states(workspace, run_id) == [COLLECTED, COLLECTED]


def test_a_fetch_that_keeps_failing_leaves_the_job_for_a_later_collect(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id, job_ids = submitted_run(monkeypatch, service, workspace)
    attempts: Counter[str] = Counter()

    def down_for_job_0(job_id: str) -> None:
        attempts[job_id] += 1
        if job_id == job_ids[0]:
            raise ConnectionError("network is unreachable")

    executor = IbmExecutor(
        service=JobOnlyService(service.submitted, down_for_job_0),
        backend_name="fake_device",
        primitive="sampler",
        retries=2,
        backoff=0,
    )
    report = manager.collect_run(run_id, workspace=workspace, executor=executor)

    assert report.waiting == [0] and report.collected == [1]
    assert report.failed == [] and not report.complete
    assert attempts[job_ids[0]] == 3  # the first try and two retries
    jobs = ledger_jobs(workspace, run_id)
    assert [job.state for job in jobs] == [SUBMITTED, COLLECTED]
    assert jobs[0].error is None and jobs[0].job_id == job_ids[0]
    notes = [e for e in ledger_events(workspace, run_id) if e["state"] == "NOTE"]
    assert any("network is unreachable" in (e["message"] or "") for e in notes)
    assert not (Path(workspace.results_dir) / run_id / "counts.parquet").exists()

    later = manager.collect_run(
        run_id, workspace=workspace, service=JobOnlyService(service.submitted)
    )
    assert later.collected == [0] and later.complete and later.resubmitted == []
    assert job_states(workspace, run_id) == [COLLECTED, COLLECTED]
    assert len(service.submitted) == 2  # nothing was resubmitted
    counts = pd.read_parquet(Path(workspace.results_dir) / run_id / "counts.parquet")
    assert_counts_match_the_circuit(counts, [0, 1])


@pytest.mark.parametrize(
    "error",
    [
        ConnectionError("connection reset by peer"),
        TimeoutError("read timed out"),
        RequestsApiError("503 Server Error: Service Unavailable", 503),
        RequestsApiError("429 Client Error: Too Many Requests", 429),
        # What the Runtime's HTTP session raises when no response arrived at all (status -1).
        RequestsApiError(
            "HTTPSConnectionPool(host='quantum.cloud.ibm.com', port=443): Max retries exceeded "
            "(Caused by NewConnectionError: Failed to establish a new connection)",
            -1,
        ),
    ],
    ids=["ConnectionError", "TimeoutError", "http-503", "http-429", "no-response"],
)
def test_network_errors_are_retried(
    monkeypatch: pytest.MonkeyPatch,
    service: FakeService,
    workspace: manager.Workspace,
    error: Exception,
) -> None:
    _, job_ids = submitted_run(monkeypatch, service, workspace)
    attempts: Counter[str] = Counter()

    def twice(job_id: str) -> None:
        attempts[job_id] += 1
        if attempts[job_id] <= 2:
            raise error

    executor = IbmExecutor(
        service=JobOnlyService(service.submitted, twice),
        backend_name="fake_device",
        primitive="sampler",
        backoff=0,
    )
    outcome = executor.fetch(job_ids[0])
    assert outcome.state == DONE and outcome.result is not None
    assert attempts[job_ids[0]] == 3


@pytest.mark.parametrize(
    "error",
    [
        RequestsApiError("404 Client Error: Not Found", 404),
        RequestsApiError("401 Client Error: Unauthorized", 401),
        KeyError("no such job"),
    ],
    ids=["http-404", "http-401", "KeyError"],
)
def test_permanent_errors_are_not_retried(
    monkeypatch: pytest.MonkeyPatch,
    service: FakeService,
    workspace: manager.Workspace,
    error: Exception,
) -> None:
    _, job_ids = submitted_run(monkeypatch, service, workspace)
    attempts: Counter[str] = Counter()

    def broken(job_id: str) -> None:
        attempts[job_id] += 1
        raise error

    executor = IbmExecutor(
        service=JobOnlyService(service.submitted, broken),
        backend_name="fake_device",
        primitive="sampler",
        backoff=0,
    )
    with pytest.raises(type(error)) as raised:
        executor.fetch(job_ids[0])
    assert not isinstance(raised.value, TransientError)
    assert attempts[job_ids[0]] == 1


def test_an_outage_as_the_real_service_reports_it_does_not_abort_collect(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    """``QiskitRuntimeService.job`` turns every non-404 HTTP failure into IBMRuntimeError."""
    run_id, job_ids = submitted_run(monkeypatch, service, workspace)

    def outage(job_id: str) -> None:
        if job_id == job_ids[0]:
            raise IBMRuntimeError(
                "Failed to retrieve job: HTTPSConnectionPool(host='quantum.cloud.ibm.com', "
                "port=443): Max retries exceeded with url: /api/v1/jobs (Caused by "
                "NewConnectionError: Failed to establish a new connection)"
            )

    executor = IbmExecutor(
        service=JobOnlyService(service.submitted, outage),
        backend_name="fake_device",
        primitive="sampler",
        backoff=0,
    )
    report = manager.collect_run(run_id, workspace=workspace, executor=executor)

    assert report.waiting == [0] and report.collected == [1] and not report.complete
    assert job_states(workspace, run_id) == [SUBMITTED, COLLECTED]


# --- recovery after a crash ---------------------------------------------------------------


def crash_after_first_run(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> str:
    """Submit the two-job run, killed after job 0's run() returned, before its id was stored."""
    plan = two_job_plan(monkeypatch, service)
    run_ids: list[str] = []
    real_record = manager.Ledger.record_job_id

    def killed(self: Any, run_id: str, job_index: int, job_id: str, message: str = "") -> None:
        run_ids.append(run_id)
        raise KeyboardInterrupt  # the process dies here

    monkeypatch.setattr(manager.Ledger, "record_job_id", killed)
    with pytest.raises(KeyboardInterrupt):
        manager.submit_plan(plan, workspace=workspace, name="crashed", service=service)
    monkeypatch.setattr(manager.Ledger, "record_job_id", real_record)
    service.wait()
    return run_ids[0]


def test_a_job_submitted_but_never_recorded_is_recovered_by_its_tags(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id = crash_after_first_run(monkeypatch, service, workspace)
    (orphan_id,) = service.submitted  # job 0 reached the service, job 1 never did
    jobs = ledger_jobs(workspace, run_id)
    assert [(job.job_id, job.state) for job in jobs] == [(None, PENDING), (None, PENDING)]

    first = manager.collect_run(run_id, workspace=workspace, service=service)

    assert any(f"qdm-job-{run_id}-0000" in call["job_tags"] for call in service.jobs_calls)
    assert 0 not in first.resubmitted and 1 in first.resubmitted
    jobs = ledger_jobs(workspace, run_id)
    assert jobs[0].job_id == orphan_id
    tagged_job_0 = [i for i, tags in service.tags.items() if f"qdm-job-{run_id}-0000" in tags]
    assert tagged_job_0 == [orphan_id]  # recovered, not submitted a second time
    assert any(
        e["job_index"] == 0 and "recovered by tag" in (e["message"] or "")
        for e in ledger_events(workspace, run_id)
    )

    service.wait()
    manager.collect_run(run_id, workspace=workspace, service=service)
    assert job_states(workspace, run_id) == [COLLECTED, COLLECTED]
    assert len(service.submitted) == 2
    results = ResultStore(workspace.results_dir).load(run_id)
    assert results.counts[results.counts["job_index"] == 0]["job_id"].unique().tolist() == [
        orphan_id
    ]
    assert_counts_match_the_circuit(results.counts, [0, 1])


def test_a_transient_error_while_searching_by_tag_does_not_abort_collect(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id = crash_after_first_run(monkeypatch, service, workspace)

    def search_down() -> None:
        raise ConnectionError("connection reset by peer")

    service.before_jobs = search_down
    executor = IbmExecutor(
        service=service, backend_name="fake_device", primitive="sampler", backoff=0
    )
    report = manager.collect_run(run_id, workspace=workspace, executor=executor)

    assert 0 in report.waiting and report.collected == [] and not report.complete
    assert job_states(workspace, run_id)[0] == PENDING
    tagged_job_0 = [i for i, tags in service.tags.items() if f"qdm-job-{run_id}-0000" in tags]
    assert len(tagged_job_0) == 1  # not resubmitted blind while the search is down

    service.before_jobs = None
    manager.collect_run(run_id, workspace=workspace, service=service)
    service.wait()
    manager.collect_run(run_id, workspace=workspace, service=service)
    assert job_states(workspace, run_id) == [COLLECTED, COLLECTED]


# --- cancel -------------------------------------------------------------------------------


def test_cancel_cancels_queued_jobs_on_the_service_and_keeps_finished_ones(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id, job_ids = submitted_run(monkeypatch, service, workspace)
    queued = ReportedJob(job_ids[0], "QUEUED")
    fresh = JobOnlyService({**service.submitted, job_ids[0]: queued})

    messages = manager.cancel_run(run_id, workspace=workspace, service=fresh)

    assert queued.cancel_calls == 1
    assert len(messages) == 2
    assert messages[0].startswith("job 0") and job_ids[0] in messages[0]
    assert messages[1].startswith("job 1") and "already finished" in messages[1]
    jobs = ledger_jobs(workspace, run_id)
    assert [job.state for job in jobs] == [CANCELLED, SUBMITTED]
    assert jobs[0].error == "cancelled by the user"

    report = manager.collect_run(run_id, workspace=workspace, service=fresh)
    assert report.collected == [1] and report.complete
    assert queued.cancel_calls == 1  # a cancelled job is final: not fetched or cancelled again
    with workspace.ledger() as ledger:
        (row,) = manager.status_table(ledger).to_dict("records")
    assert row["state"] == "cancelled" and row["collected"] == 1


def test_cancel_also_cancels_a_job_that_reached_the_service_but_not_the_ledger(
    monkeypatch: pytest.MonkeyPatch, service: FakeService, workspace: manager.Workspace
) -> None:
    run_id = crash_after_first_run(monkeypatch, service, workspace)
    (orphan_id,) = service.submitted
    queued = ReportedJob(orphan_id, "QUEUED")  # the orphan waits in the device queue
    service.submitted[orphan_id] = queued

    messages = manager.cancel_run(run_id, workspace=workspace, service=service)

    assert len(messages) == 2 and messages[1] == "job 1: cancelled before submission"
    assert job_states(workspace, run_id) == [CANCELLED, CANCELLED]
    assert queued.cancel_calls == 1, messages  # else it runs (and uses QPU time) regardless
    report = manager.collect_run(run_id, workspace=workspace, service=service)
    assert report.resubmitted == [] and report.complete
    assert len(service.submitted) == 1  # a cancelled run is never resubmitted


# --- the real service (needs credentials) ------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("QISKIT_IBM_TOKEN"),
    reason="needs QISKIT_IBM_TOKEN: submits a 10-shot job to a real IBM Quantum backend",
)
def test_real_ibm_backend_round_trip(tmp_path: Path) -> None:
    from qdm_qiskit.jobs.targets import runtime_service

    real = runtime_service()
    backend = real.least_busy(operational=True, simulator=False, min_num_qubits=2)
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    task = CircuitTask("bell", bell, np.zeros((1, 0)))
    workspace = manager.Workspace(tmp_path / "jobs", tmp_path / "results")
    plan = manager.plan_tasks([task], target=f"ibm:{backend.name}", service=real, shots=10)
    run_id = manager.submit_plan(plan, workspace=workspace, name="ibm-smoke", service=real)
    (job,) = ledger_jobs(workspace, run_id)
    assert job.job_id is not None and job.state == SUBMITTED
    assert f"qdm-run-{run_id}" in real.job(job.job_id).tags

    deadline = time.monotonic() + 30 * 60
    report = manager.collect_run(run_id, workspace=workspace, service=real)
    while not report.complete and time.monotonic() < deadline:
        time.sleep(30)
        report = manager.collect_run(run_id, workspace=workspace, service=real)
    if not report.complete:
        manager.cancel_run(run_id, workspace=workspace, service=real)
    assert report.complete and report.failed == [], report.messages
    counts = ResultStore(workspace.results_dir).load(run_id).counts
    assert counts["count"].sum() == 10
    assert counts[counts["bitstring"].isin(["00", "11"])]["count"].sum() >= 6
