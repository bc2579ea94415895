"""Jet observables against closed forms and an independent per-jet computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdm_qiskit.data import OBSERVABLES, jet_observables
from qdm_qiskit.data.particles import PDG_MASSES_GEV
from qdm_qiskit.errors import DataError


def test_two_photon_mass_closed_form():
    pt1, pt2, dy, dphi = 120.0, 80.0, 0.2, 0.15
    X = np.array([[[pt1, 0.0, 1.0, 22], [pt2, dy, 1.0 + dphi, 22]]])
    mass = jet_observables(X)["mass"].iloc[0]
    expected = math.sqrt(2 * pt1 * pt2 * (math.cosh(dy) - math.cos(dphi)))
    assert mass == pytest.approx(expected, rel=1e-12)


def _reference(jet: np.ndarray, radius: float = 0.4) -> dict[str, float]:
    """Plain-Python observables of one jet, written independently of the package."""
    rows = [r for r in jet if r[0] > 0]
    e = px = py = pz = 0.0
    for pt, y, phi, pid in rows:
        m = PDG_MASSES_GEV[abs(int(pid))]
        mt = math.sqrt(pt * pt + m * m)
        e += mt * math.cosh(y)
        px += pt * math.cos(phi)
        py += pt * math.sin(phi)
        pz += mt * math.sinh(y)
    jet_y = 0.5 * math.log((e + pz) / (e - pz))
    jet_phi = math.atan2(py, px)
    total = sum(r[0] for r in rows)
    girth = lam_half = lam2 = 0.0
    for pt, y, phi, _ in rows:
        dphi = (phi - jet_phi + math.pi) % (2 * math.pi) - math.pi
        dr = math.hypot(y - jet_y, dphi)
        girth += pt / total * dr
        lam_half += pt / total * math.sqrt(dr / radius)
        lam2 += pt / total * (dr / radius) ** 2
    return {
        "pt": math.hypot(px, py),
        "mass": math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0)),
        "multiplicity": len(rows),
        "ptd": math.sqrt(sum(r[0] ** 2 for r in rows)) / total,
        "girth": girth,
        "lambda_half": lam_half,
        "lambda_2": lam2,
    }


def test_observables_match_an_independent_computation(sample):
    obs = jet_observables(sample.X[:25])
    assert list(obs.columns) == list(OBSERVABLES)
    for i in range(25):
        for name, value in _reference(sample.X[i]).items():
            assert obs[name].iloc[i] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    np.testing.assert_allclose(obs["lambda_1"], obs["girth"] / 0.4, rtol=1e-12)


def test_gluon_jets_are_heavier_and_wider(sample, sample_observables):
    gluon = sample.y == 0
    obs = sample_observables
    assert obs["mass"][gluon].mean() > obs["mass"][~gluon].mean()
    assert obs["girth"][gluon].mean() > obs["girth"][~gluon].mean()
    assert obs["ptd"][gluon].mean() < obs["ptd"][~gluon].mean()


def test_unknown_pid_is_an_error_unless_massless():
    X = np.array([[[100.0, 0.0, 0.0, 999999.0]]])
    with pytest.raises(DataError, match="999999"):
        jet_observables(X)
    assert jet_observables(X, masses="massless")["mass"].iloc[0] == 0.0
