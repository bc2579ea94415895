"""Execution targets by name."""

from __future__ import annotations

import pytest
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeFez

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs import fake_backend_names, parse_target, resolve_target


@pytest.mark.parametrize("text", ["fake:FakeFez", "fake:fez", "fake:fake_fez", "fake:FEZ"])
def test_fake_names_are_matched_loosely(text):
    spec = parse_target(text)
    assert (spec.kind, spec.backend, spec.label) == ("fake", "FakeFez", "fake-FakeFez")


def test_v2_suffix_is_optional():
    assert parse_target("fake:manila").backend == "FakeManilaV2"
    assert "FakeManilaV2" in fake_backend_names()


def test_resolve_each_kind():
    assert isinstance(resolve_target("aer"), AerSimulator)
    noisy = resolve_target("aer:manila")
    assert isinstance(noisy, AerSimulator) and noisy.num_qubits == 5
    assert noisy.options.noise_model is not None
    assert isinstance(resolve_target("fake:fez"), FakeFez)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty"),
        ("qpu:fez", "unknown target 'qpu:fez'.*qdm backends"),
        ("fake:", "needs a backend name"),
        ("ibm", "needs a backend name"),
        ("fake:Fezz", "did you mean FakeFez"),
    ],
)
def test_bad_targets(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_target(text)


def test_ibm_without_credentials_is_a_clear_error(monkeypatch, tmp_path):
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_URL", "QISKIT_IBM_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no saved account
    with pytest.raises(ConfigError, match="no IBM Quantum credentials"):
        resolve_target("ibm:ibm_fez")


def test_canonical_text_and_empty_backend():
    assert parse_target(" fake:fez").text == "fake:FakeFez"
    assert parse_target("aer").text == "aer"
    with pytest.raises(ConfigError, match="needs a backend name"):
        parse_target("aer:")
