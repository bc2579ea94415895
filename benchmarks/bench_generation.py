"""Benchmark: jet generation time per 1000 jets, and the share spent outside Pythia.

Reference measured in the same run: plain Pythia event generation (``Pythia.next()``, same
settings and seeds) for exactly the number of events the full pipeline consumed. Everything
else the pipeline does (batch conversion to awkward arrays, FastJet clustering, selection, array
assembly, compressed atomic write) is overhead. Target: overhead below 20% of the total.

Usage: python benchmarks/bench_generation.py [n_jets]   (default 400)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import pythia8mc

from qdm_qiskit.data import GeneratorSettings, generate_jets, pythia_seeds, save_jets

TARGET_OVERHEAD = 0.20


def pythia_only_seconds(
    process: str, seed: int, n_events: int, settings: GeneratorSettings
) -> float:
    """Time Pythia alone (init + ``next()`` per event) on the events the pipeline generated."""
    start = time.perf_counter()
    pythia = pythia8mc.Pythia("", False)
    for command in settings.pythia_commands_for(process, seed):  # type: ignore[arg-type]
        pythia.readString(command)
    pythia.init()
    for _ in range(n_events):
        pythia.next()
    return time.perf_counter() - start


def main(n_jets: int = 400, seed: int = 7) -> float:
    settings = GeneratorSettings()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        jets = generate_jets(n_jets, seed=seed, settings=settings)
        save_jets(Path(tmp) / "bench.npz", jets)
        total = time.perf_counter() - start
    events = jets.metadata["events_generated"]
    seeds = pythia_seeds(seed)
    reference = sum(
        pythia_only_seconds(process, seeds[process], events[process], settings)
        for process in ("quark", "gluon")
    )
    overhead = max(total - reference, 0.0) / total
    n_events = sum(events.values())
    print(
        f"jet generation benchmark: {n_jets} jets from {n_events} events "
        f"(acceptance {n_jets / n_events:.3f} jets/event)"
    )
    print(f"{'stage':<34}{'seconds':>10}{'s / 1000 jets':>16}{'ms / event':>13}")
    for name, seconds in (
        ("full pipeline (generate + save)", total),
        ("reference: Pythia next() only", reference),
    ):
        print(
            f"{name:<34}{seconds:>10.2f}{seconds / n_jets * 1000:>16.1f}"
            f"{seconds / n_events * 1000:>13.2f}"
        )
    verdict = "OK" if overhead < TARGET_OVERHEAD else "ABOVE TARGET"
    print(
        f"overhead outside Pythia: {overhead:.1%} of the total "
        f"(ratio pipeline / Pythia = {total / reference:.3f}; target < {TARGET_OVERHEAD:.0%}: "
        f"{verdict})"
    )
    return overhead


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
