"""Run ``collect_run`` in a separate process, for the kill -9 and two-collector tests.

Usage: ``python _collect_worker.py JOBS_DIR RESULTS_DIR RUN_ID DELAY [GO_FILE]``

Prints ``ready`` once imported; if ``GO_FILE`` is given, waits for it to exist before
collecting (so two workers start together). After each job's part is written, it sleeps
``DELAY`` seconds, before the job is marked collected: the window a kill -9 or a second
collector must cope with. Finally prints the report as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    from qdm_qiskit.jobs.manager import Workspace, collect_run
    from qdm_qiskit.results.store import ResultStore

    jobs_dir, results_dir, run_id, delay = argv[:4]
    go_file = Path(argv[4]) if len(argv) > 4 else None
    original = ResultStore.write_job

    def slow_write_job(self, run, job_index, *args, **kwargs):
        rows = original(self, run, job_index, *args, **kwargs)
        print(f"wrote {job_index}", flush=True)
        time.sleep(float(delay))
        return rows

    ResultStore.write_job = slow_write_job  # type: ignore[method-assign]
    print("ready", flush=True)
    if go_file is not None:
        deadline = time.monotonic() + 60
        while not go_file.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    report = collect_run(run_id, workspace=Workspace(Path(jobs_dir), Path(results_dir)))
    print(
        json.dumps(
            {
                "collected": report.collected,
                "busy": report.busy,
                "failed": report.failed,
                "complete": report.complete,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
