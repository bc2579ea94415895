"""One Pythia 8 instance plus FastJet clustering, vectorised over batches of events.

Kept apart from :mod:`qdm_qiskit.data.generate` so that the heavy generator packages are imported
only when jets are generated. Events come from ``Pythia.nextBatch`` as awkward arrays, are
clustered all at once with FastJet's multi-event interface, and the selection never loops over
particles in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import awkward as ak
import fastjet
import numpy as np
import pythia8mc

from qdm_qiskit.data.particles import rapidity
from qdm_qiskit.errors import ConfigError

if TYPE_CHECKING:
    from qdm_qiskit.data.generate import GeneratorSettings

_HARD_OUTGOING_STATUS = -23
_HEAVY_QUARKS = (4, 5, 6)
_NEUTRINOS = (12, 14, 16)


@dataclass(frozen=True)
class Batch:
    """Jets accepted from one batch of events.

    Attributes:
        n_events: events generated in the batch.
        jets: ``(event index within the batch, particles (n, 4) as pt, y, phi, pid)`` per
            accepted jet, in event order; particles sorted by decreasing pt.
    """

    n_events: int
    jets: list[tuple[int, np.ndarray]]


class JetSource:
    """A seeded Pythia instance that yields the selected hardest jet of each event."""

    def __init__(self, commands: Sequence[str], settings: GeneratorSettings) -> None:
        self._settings = settings
        self._pythia = pythia8mc.Pythia("", False)  # False: no banner
        for command in commands:
            if not self._pythia.readString(command):
                raise ConfigError(f"Pythia rejected the setting {command!r}")
        if not self._pythia.init():
            raise ConfigError("Pythia failed to initialise with these settings")
        fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)
        self._jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, settings.jet_radius)

    def next_batch(self, n_events: int) -> Batch:
        """Generate ``n_events`` events and return the jets that pass the selection."""
        record = self._pythia.nextBatch(n_events).prt
        keep_event = self._flavour_mask(record)
        visible = record[(record.status > 0) & ~_is_any(abs(record.id), _NEUTRINOS)]
        vectors = ak.zip(
            {"px": visible.p.px, "py": visible.p.py, "pz": visible.p.pz, "E": visible.p.e}
        )
        s = self._settings
        sequence = fastjet.ClusterSequence(vectors, self._jet_def)
        jets = sequence.inclusive_jets(min_pt=s.jet_pt_min_gev)
        constituents = sequence.constituent_index(min_pt=s.jet_pt_min_gev)
        # inclusive_jets() is not ordered by pT: pick the hardest jet of each event explicitly.
        jet_pt = np.hypot(jets.px, jets.py)
        hardest = ak.argmax(jet_pt, axis=1, keepdims=True)
        lead = ak.firsts(jets[hardest])
        lead_pt = ak.fill_none(ak.firsts(jet_pt[hardest]), 0.0)
        lead_y = ak.fill_none(rapidity(lead.E, lead.pz), np.inf)
        passed = ak.to_numpy(
            keep_event
            & (lead_pt >= s.jet_pt_min_gev)
            & (lead_pt <= s.jet_pt_max_gev)
            & (abs(lead_y) < s.jet_abs_rapidity_max)
        )
        events = np.flatnonzero(passed)
        if events.size == 0:
            return Batch(n_events=len(record), jets=[])
        index = ak.firsts(constituents[hardest])[passed]
        particles = visible[passed][index]
        lead_phi = np.mod(
            np.arctan2(ak.to_numpy(lead.py[passed]), ak.to_numpy(lead.px[passed])), 2 * np.pi
        )  # FastJet's [0, 2 pi) convention, as in EnergyFlow
        return Batch(
            n_events=len(record),
            jets=list(zip(events.tolist(), _rows(particles, lead_phi), strict=True)),
        )

    def _flavour_mask(self, record: ak.Array) -> ak.Array:
        if not self._settings.light_quarks_only:
            return ak.Array(np.ones(len(record), dtype=bool))
        outgoing = record.id[record.status == _HARD_OUTGOING_STATUS]
        return ~ak.any(_is_any(abs(outgoing), _HEAVY_QUARKS), axis=1)


def _is_any(values: ak.Array, choices: Sequence[int]) -> ak.Array:
    mask = values == choices[0]
    for choice in choices[1:]:
        mask = mask | (values == choice)
    return mask


def _rows(particles: ak.Array, jet_phi: np.ndarray) -> list[np.ndarray]:
    """Turn per-jet particle records into ``(n, 4)`` arrays of (pt, y, phi, pid)."""
    counts = ak.to_numpy(ak.num(particles))
    flat = ak.flatten(particles)
    px, py = ak.to_numpy(flat.p.px), ak.to_numpy(flat.p.py)
    pz, energy = ak.to_numpy(flat.p.pz), ak.to_numpy(flat.p.e)
    pid = ak.to_numpy(flat.id).astype(np.float64)
    pt = np.hypot(px, py)
    owner_phi = np.repeat(jet_phi, counts)
    # Wrap particle phi into [jet phi - pi, jet phi + pi), as in the EnergyFlow files.
    phi = owner_phi + np.mod(np.arctan2(py, px) - owner_phi + np.pi, 2 * np.pi) - np.pi
    table = np.stack([pt, rapidity(energy, pz), phi, pid], axis=1)
    owner = np.repeat(np.arange(counts.size), counts)
    table = table[np.lexsort((-pt, owner))]  # per jet, decreasing pt
    return np.split(table, np.cumsum(counts)[:-1])
