"""Sessions: tests (fast suite), tests_slow, lint, typecheck, bench.

Every session installs the package with a CPU build of torch pinned explicitly: an unpinned torch
pulls gigabytes of CUDA wheels.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.error_on_external_run = True

TORCH = "torch==2.13.0"


def _install(session: nox.Session, extras: str = "test") -> None:
    session.install(TORCH, "-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """The fast suite (everything not marked slow), well under 10 minutes."""
    _install(session)
    session.run("pytest", "-m", "not slow", "-q", *session.posargs)


@nox.session
def tests_slow(session: nox.Session) -> None:
    """Minutes-long tests: fresh generation of 1000 jets, regeneration of the shipped sample."""
    _install(session)
    session.run("pytest", "-m", "slow", "-q", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy on the package."""
    _install(session, "dev")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmarks/bench_*.py; each prints ratios against a reference of the same run."""
    _install(session)
    session.install("pennylane==0.45.1")  # reference in bench_engine.py only, not a dependency
    for script in sorted(Path("benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
