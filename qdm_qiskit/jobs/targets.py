"""Execution targets by name: the one place that turns ``"fake:FakeFez"`` into a backend.

- ``aer``: the ideal Aer simulator;
- ``aer:<fake>``: Aer with a fake backend's noise model and target (``AerSimulator.from_backend``);
- ``fake:<fake>``: a fake backend from ``qiskit_ibm_runtime.fake_provider`` (Runtime local
  testing mode: Aer with the snapshot's noise);
- ``ibm:<backend>``: a real IBM Quantum backend, with credentials from ``QISKIT_IBM_TOKEN`` /
  ``QISKIT_IBM_INSTANCE`` or the saved Qiskit account (never stored by qdm-qiskit).

Fake names are matched case-insensitively with or without the ``Fake`` prefix (``fez``,
``FakeFez``, ``fake_fez``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, cast

from qiskit.providers import BackendV2

from qdm_qiskit.errors import ConfigError

KINDS = ("aer", "fake", "ibm")
NO_CREDENTIALS = (
    "no IBM Quantum credentials: set QISKIT_IBM_TOKEN (an IBM Cloud API key) and "
    "QISKIT_IBM_INSTANCE (instance CRN or name), or save an account once with "
    "QiskitRuntimeService.save_account(token=..., instance=..., set_as_default=True)"
)


@dataclass(frozen=True)
class TargetSpec:
    """A parsed target string.

    Attributes:
        kind: ``aer``, ``fake`` or ``ibm``.
        backend: the fake or IBM backend name (``None`` for plain ``aer``).
    """

    kind: str
    backend: str | None

    @property
    def text(self) -> str:
        """Canonical target string, e.g. ``fake:FakeFez``."""
        return self.kind if self.backend is None else f"{self.kind}:{self.backend}"

    @property
    def label(self) -> str:
        """Canonical string form, also a safe file-name part."""
        return self.kind if self.backend is None else f"{self.kind}-{self.backend}"


def parse_target(text: str) -> TargetSpec:
    """Parse ``aer``, ``aer:<fake>``, ``fake:<fake>`` or ``ibm:<backend>``."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("target must be a non-empty string such as 'aer' or 'fake:FakeFez'")
    kind, colon, backend = text.strip().partition(":")
    if kind not in KINDS:
        raise ConfigError(
            f"unknown target {text!r}; valid targets are aer, aer:<fake>, fake:<fake> and "
            "ibm:<backend> (list them with 'qdm backends')"
        )
    if (kind in ("fake", "ibm") or colon) and not backend:
        raise ConfigError(f"target {text!r} needs a backend name, e.g. {kind}:FakeFez")
    if kind in ("aer", "fake") and backend:
        backend = fake_backend_class_name(backend)
    return TargetSpec(kind, backend or None)


def fake_backend_names() -> list[str]:
    """Class names of the fake backends shipped with qiskit-ibm-runtime."""
    from qiskit_ibm_runtime import fake_provider

    return sorted(
        name
        for name in dir(fake_provider)
        if name.startswith("Fake")
        and name not in ("FakeProviderForBackendV2", "FakeProvider")
        and not name.startswith("FakeFractional")
    )


def fake_backend_class_name(name: str) -> str:
    """Resolve a user's fake backend name to its class name, or raise with suggestions."""
    names = fake_backend_names()
    wanted = name.lower().replace("_", "").removeprefix("fake")
    for candidate in names:
        base = candidate.lower().removeprefix("fake")
        if wanted in (base, base.removesuffix("v2")):
            return candidate
    bases = {candidate.lower().removeprefix("fake"): candidate for candidate in names}
    hint = [bases[b] for b in difflib.get_close_matches(wanted, list(bases), n=3)]
    suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
    raise ConfigError(
        f"unknown fake backend {name!r}{suggestion} (all names: "
        "qdm_qiskit.jobs.fake_backend_names())"
    )


def resolve_target(text: str) -> BackendV2:
    """Return the backend for a target string (see the module docstring)."""
    spec = parse_target(text)
    if spec.kind == "ibm":
        return _ibm_backend(str(spec.backend))
    from qiskit_aer import AerSimulator

    if spec.backend is None:
        return AerSimulator()
    from qiskit_ibm_runtime import fake_provider

    fake = getattr(fake_provider, spec.backend)()
    return AerSimulator.from_backend(fake) if spec.kind == "aer" else fake


def device_backend(spec: TargetSpec, *, service: Any = None) -> BackendV2:
    """The backend circuits are transpiled for: the device itself, not a simulator of it.

    ``aer`` gives an ideal ``AerSimulator``; ``aer:<fake>`` and ``fake:<fake>`` the fake
    backend (its target and noise); ``ibm:<backend>`` the IBM backend from ``service`` (default:
    :func:`runtime_service`).
    """
    if spec.kind == "ibm":
        service = service if service is not None else runtime_service()
        try:
            return service.backend(str(spec.backend))
        except Exception as exc:
            raise ConfigError(f"IBM backend {spec.backend!r} is not available: {exc}") from exc
    if spec.backend is None:
        from qiskit_aer import AerSimulator

        return AerSimulator()
    from qiskit_ibm_runtime import fake_provider

    return cast(BackendV2, getattr(fake_provider, spec.backend)())


def runtime_service() -> Any:
    """A ``QiskitRuntimeService`` on channel ``ibm_quantum_platform``.

    Credentials come from ``QISKIT_IBM_TOKEN`` / ``QISKIT_IBM_INSTANCE`` or the saved Qiskit
    account, as the Runtime itself reads them; qdm-qiskit never stores them.

    Raises:
        ConfigError: if no credentials are found, saying how to set them.
    """
    import os

    from qiskit_ibm_runtime import QiskitRuntimeService
    from qiskit_ibm_runtime.accounts import AccountNotFoundError

    token = os.environ.get("QISKIT_IBM_TOKEN")
    kwargs: dict[str, Any] = {}
    if token:
        kwargs = {"channel": "ibm_quantum_platform", "token": token}
        if os.environ.get("QISKIT_IBM_INSTANCE"):
            kwargs["instance"] = os.environ["QISKIT_IBM_INSTANCE"]
    try:
        return QiskitRuntimeService(**kwargs)
    except AccountNotFoundError as exc:
        raise ConfigError(NO_CREDENTIALS) from exc
    except Exception as exc:
        raise ConfigError(f"cannot connect to IBM Quantum: {exc}") from exc


def _ibm_backend(name: str) -> BackendV2:
    return device_backend(TargetSpec("ibm", name))


def target_table() -> list[dict[str, Any]]:
    """Every local target with its width and native gates (for ``qdm backends``).

    Reads the fake backends' configuration files instead of instantiating them (60 backends,
    well under a second). ``ibm:<backend>`` targets are listed by the IBM service itself.
    """
    import json
    from pathlib import Path

    from qiskit_ibm_runtime import fake_provider

    rows: list[dict[str, Any]] = [
        {
            "target": "aer",
            "qubits": None,
            "basis_gates": "all",
            "noise": "none (ideal)",
            "description": "ideal Aer simulator, Aer primitives",
        }
    ]
    for name in fake_backend_names():
        cls = getattr(fake_provider, name)
        conf_dir = getattr(cls, "dirname", None)
        conf_file = getattr(cls, "conf_filename", None)
        qubits, basis = None, ""
        if conf_dir and conf_file:
            try:
                conf = json.loads((Path(conf_dir) / conf_file).read_text())
                qubits = conf.get("n_qubits")
                basis = ",".join(conf.get("basis_gates", []))
            except (OSError, ValueError):
                pass
        for kind, description in (
            ("fake", "Runtime local testing mode (client-side mitigation runs)"),
            ("aer", "Aer primitives with the device's noise model"),
        ):
            rows.append(
                {
                    "target": f"{kind}:{name}",
                    "qubits": qubits,
                    "basis_gates": basis,
                    "noise": "device snapshot",
                    "description": description,
                }
            )
    return rows
