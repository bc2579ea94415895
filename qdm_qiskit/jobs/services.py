"""Where jobs run: locally (Aer or the Runtime's local testing mode) or on IBM Quantum.

Both executors give the job manager the same five operations: ``submit`` (returns the job id as
soon as ``run()`` does, through a callback, so the ledger records it before anything else can
fail), ``fetch`` (state, result or error), ``cancel``, ``find`` (job ids by tag, to recover a job
whose id was never recorded) and ``close``.

Local jobs die with the process that ran them, so :class:`LocalExecutor` behaves like a tiny
service: each job's raw result is spooled to ``jobs/<run>/spool/<job_id>.json`` (the Runtime's
JSON encoding) when it completes, and a job whose spool file never appeared is reported as
``LOST`` so the collector can re-execute it with the same seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qiskit.primitives import PrimitiveResult

from qdm_qiskit._io import atomic_write_bytes
from qdm_qiskit.errors import QdmError
from qdm_qiskit.jobs.primitives import make_primitive

DONE, ERROR, CANCELLED, LOST = "DONE", "ERROR", "CANCELLED", "LOST"
QUEUED, RUNNING = "QUEUED", "RUNNING"


@dataclass(frozen=True)
class JobOutcome:
    """What a service reports about a job.

    Attributes:
        state: ``QUEUED``, ``RUNNING``, ``DONE``, ``ERROR``, ``CANCELLED`` or ``LOST``.
        result: the primitive result when ``DONE``.
        error: the service's message when ``ERROR``/``CANCELLED``.
    """

    state: str
    result: PrimitiveResult | None = None
    error: str | None = None


class TransientError(QdmError):
    """A fetch failed in a way that may succeed later (network, rate limit, timeout)."""


def encode_result(result: PrimitiveResult) -> bytes:
    """Serialize a primitive result with the Runtime's JSON encoder (for provenance).

    Metadata objects the encoder does not know (the client-side primitives put samplomatic
    objects there) are stored as their ``repr``; data and shapes round-trip exactly.
    """
    from qiskit_ibm_runtime import RuntimeEncoder

    class _Encoder(RuntimeEncoder):
        def default(self, obj: Any) -> Any:
            try:
                return super().default(obj)
            except TypeError:
                return {"__type__": "repr", "__value__": repr(obj)}

    return json.dumps(result, cls=_Encoder).encode()


def decode_result(data: bytes) -> PrimitiveResult:
    """Inverse of :func:`encode_result`."""
    from qiskit_ibm_runtime import RuntimeDecoder

    result = json.loads(data.decode(), cls=RuntimeDecoder)
    if not isinstance(result, PrimitiveResult):
        raise QdmError(f"expected a PrimitiveResult, decoded {type(result).__name__}")
    return result


def run_primitive(
    primitive: Any,
    kind: str,
    pubs: list[tuple[Any, ...]],
    *,
    shots: int,
    precision: float | None,
) -> Any:
    """Call ``run`` with the one budget argument a ``kind`` of primitive takes."""
    if kind == "sampler":
        return primitive.run(pubs, shots=shots)
    return primitive.run(pubs, precision=precision)


def normalise_status(status: Any) -> str:
    """Runtime (strings) and Aer/local jobs (``JobStatus`` enums) report states differently."""
    text = str(getattr(status, "name", status)).upper()
    if text in ("INITIALIZING", "VALIDATING"):
        return QUEUED
    if text in ("CANCELED",):
        return CANCELLED
    return text


class LocalExecutor:
    """Runs jobs in this process and spools their results (see the module docstring)."""

    def __init__(self, *, primitive: str, engine: str, mode: Any, spool: Path) -> None:
        """Run ``primitive`` on ``engine``/``mode`` (see :func:`make_primitive`)."""
        self.primitive = primitive
        self.engine = engine
        self.mode = mode
        self.spool = Path(spool)

    def submit(
        self,
        pubs: list[tuple[Any, ...]],
        *,
        options: dict[str, Any],
        shots: int,
        precision: float | None,
        seed: int,
        tags: list[str],
        on_submitted: Callable[[str], None],
    ) -> str:
        """Run the PUBs, hand the job id to ``on_submitted``, wait, and spool the result."""
        del tags  # local jobs are found through the ledger and the spool
        primitive = make_primitive(
            self.primitive,
            engine=self.engine,
            mode=self.mode,
            options=options if self.engine == "runtime" else None,
            seed=seed,
        )
        job = run_primitive(primitive, self.primitive, pubs, shots=shots, precision=precision)
        job_id = str(job.job_id())
        on_submitted(job_id)
        try:
            result = job.result()
        except Exception as exc:  # noqa: BLE001 - the job's own failure, recorded as its error
            payload = {"state": ERROR, "error": f"{type(exc).__name__}: {exc}"}
            atomic_write_bytes(self._path(job_id, "error"), json.dumps(payload).encode())
            return job_id
        atomic_write_bytes(self._path(job_id, "result"), encode_result(result))
        return job_id

    def fetch(self, job_id: str) -> JobOutcome:
        """The spooled outcome, or ``LOST`` if the process running the job died."""
        error_path = self._path(job_id, "error")
        if error_path.exists():
            return JobOutcome(ERROR, error=json.loads(error_path.read_text())["error"])
        path = self._path(job_id, "result")
        if not path.exists():
            return JobOutcome(LOST, error="the process running this local job ended early")
        return JobOutcome(DONE, result=decode_result(path.read_bytes()))

    def cancel(self, job_id: str) -> str:
        """Local jobs run to completion during submit; nothing to cancel."""
        return f"local job {job_id} already ran"

    def find(self, tags: list[str]) -> list[str]:
        """Local jobs are never lost between ``run()`` and the ledger (same process)."""
        del tags
        return []

    def close(self) -> None:
        """Nothing to release."""

    def _path(self, job_id: str, kind: str) -> Path:
        suffix = ".json" if kind == "result" else ".error.json"
        return self.spool / f"{job_id}{suffix}"


class IbmExecutor:
    """Submits jobs to IBM Quantum inside one ``Batch``, and fetches them by id later.

    Args:
        service: a ``QiskitRuntimeService`` (or an object with its ``backend``, ``job`` and
            ``jobs`` methods).
        backend_name: the device.
        primitive: ``sampler`` or ``estimator``.
        retries: attempts for a transient fetch failure; ``backoff`` seconds before the first
            retry, doubling.
    """

    def __init__(
        self,
        *,
        service: Any,
        backend_name: str,
        primitive: str,
        retries: int = 4,
        backoff: float = 2.0,
    ) -> None:
        """Connect lazily: nothing is sent until the first submit or fetch."""
        self.service = service
        self.backend_name = backend_name
        self.primitive = primitive
        self.retries = retries
        self.backoff = backoff
        self._batch: Any = None
        self._live: dict[str, Any] = {}

    def submit(
        self,
        pubs: list[tuple[Any, ...]],
        *,
        options: dict[str, Any],
        shots: int,
        precision: float | None,
        seed: int,
        tags: list[str],
        on_submitted: Callable[[str], None],
    ) -> str:
        """Submit inside the run's Batch, tagged so the job can be found without its id."""
        del seed  # hardware is not seeded
        from qiskit_ibm_runtime import Batch

        if self._batch is None:
            backend = self.service.backend(self.backend_name)
            self._batch = Batch(backend=backend)
        tagged = json.loads(json.dumps(options))
        tagged.setdefault("environment", {})["job_tags"] = list(tags)
        primitive = make_primitive(
            self.primitive, engine="runtime", mode=self._batch, options=tagged
        )
        job = run_primitive(primitive, self.primitive, pubs, shots=shots, precision=precision)
        job_id = str(job.job_id())
        on_submitted(job_id)
        self._live[job_id] = job
        return job_id

    def fetch(self, job_id: str) -> JobOutcome:
        """Ask the service for the job's state and, when done, its result."""
        job = self._live.get(job_id) or self._with_retries(lambda: self.service.job(job_id))
        state = normalise_status(self._with_retries(job.status))
        if state == DONE:
            return JobOutcome(DONE, result=self._with_retries(job.result))
        if state in (ERROR, CANCELLED):
            message = getattr(job, "error_message", lambda: None)()
            return JobOutcome(state, error=str(message or state.lower()))
        return JobOutcome(state)

    def cancel(self, job_id: str) -> str:
        """Cancel a queued or running job on the service."""
        job = self._live.get(job_id) or self._with_retries(lambda: self.service.job(job_id))
        job.cancel()
        return f"cancel requested for {job_id}"

    def find(self, tags: list[str]) -> list[str]:
        """Job ids carrying all ``tags`` (recovers a job submitted but never recorded)."""
        jobs = self._with_retries(lambda: self.service.jobs(job_tags=list(tags), limit=None))
        return [str(job.job_id()) for job in jobs]

    def close(self) -> None:
        """Close the Batch: jobs already submitted still run."""
        if self._batch is not None:
            try:
                self._batch.close()
            finally:
                self._batch = None

    def _with_retries(self, call: Callable[[], Any]) -> Any:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                return call()
            except Exception as exc:
                if not _is_transient(exc) or attempt == self.retries:
                    if _is_transient(exc):
                        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
                    raise
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover


def _is_transient(exc: BaseException) -> bool:
    """Network trouble, timeouts, rate limits and 5xx answers are worth retrying."""
    if isinstance(exc, (ConnectionError, TimeoutError, TransientError)):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"RequestsApiError", "ConnectionError", "Timeout", "ReadTimeout"}:
        # The Runtime reports "no response at all" (outage, maintenance) as status -1.
        status = getattr(exc, "status_code", None)
        return status is None or status < 0 or status in (408, 429) or status >= 500
    # QiskitRuntimeService.job() wraps every failure except "not found" (RuntimeJobNotFound)
    # in a bare IBMRuntimeError("Failed to retrieve job: ...").
    return type(exc).__name__ == "IBMRuntimeError" and "Failed to retrieve" in str(exc)
