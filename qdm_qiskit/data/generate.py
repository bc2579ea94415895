"""Offline regeneration of the quark/gluon jet dataset with Pythia 8 and FastJet.

Follows the recipe of the EnergyFlow dataset (Komiske, Metodiev, Thaler, JHEP 01 (2019) 121):
proton-proton collisions at sqrt(s) = 14 TeV, ``q g -> Z(-> nu nu) q`` for quark jets (u, d, s
only) and ``q qbar -> Z(-> nu nu) g`` for gluon jets, with showers, multi-parton interactions and
hadronisation on and no detector. Final-state particles other than neutrinos are clustered with
anti-kT, R = 0.4; the hardest jet of an event is kept if 500 <= pT <= 550 GeV and |y| < 1.7.

The result is deterministic for a seed: the quark sample uses Pythia seed ``2 * seed + 1`` and
the gluon sample ``2 * seed + 2``, and the two are merged with a permutation drawn from
``numpy.random.default_rng(seed)``. The batch size changes speed and memory, never the output.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from qdm_qiskit.data.format import GLUON, QUARK, JetDataset
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.provenance import package_versions

#: Pythia accepts seeds in [1, 900_000_000]; two per dataset seed are used.
MAX_SEED = 449_999_999

Process = Literal["quark", "gluon"]
_PROCESS_SWITCH: dict[Process, str] = {
    "quark": "WeakBosonAndParton:qg2gmZq",
    "gluon": "WeakBosonAndParton:qqbar2gmZg",
}
#: Settings that GeneratorSettings owns; overriding them through ``pythia_commands`` would make
#: the recorded seed, process or phase space untrue.
_RESERVED_PREFIXES = ("random:", "weakbosonandparton:", "beams:ecm", "phasespace:pthat", "23:")
#: Stop when fewer than one event in this many yields a jet (after _ACCEPTANCE_CHECK_EVENTS).
_MIN_ACCEPTANCE = 1e-3
_ACCEPTANCE_CHECK_EVENTS = 5000


@dataclass(frozen=True)
class GeneratorSettings:
    """Physics settings of the quark/gluon jet recipe; the defaults reproduce EnergyFlow's.

    Attributes:
        ecm_gev: centre-of-mass energy. Default 14000.
        jet_radius: anti-kT radius parameter R. Default 0.4.
        jet_pt_min_gev: lower edge of the jet pT window. Default 500.
        jet_pt_max_gev: upper edge of the jet pT window. Default 550.
        jet_abs_rapidity_max: jets must satisfy |y| below this. Default 1.7.
        pthat_min_gev: Pythia ``PhaseSpace:pTHatMin``. Default 400: a window of 400-700 GeV keeps
            the quark jets whose hard-process pT lies well outside the jet pT window.
        pthat_max_gev: Pythia ``PhaseSpace:pTHatMax``. Default 700.
        light_quarks_only: drop quark events whose hard outgoing quark is c or b (the uds variant
            of the dataset). Default True.
        pythia_commands: extra Pythia settings (for example ``"Tune:pp = 14"``) applied after the
            recipe's own, to study generator variations. Default none.
    """

    ecm_gev: float = 14000.0
    jet_radius: float = 0.4
    jet_pt_min_gev: float = 500.0
    jet_pt_max_gev: float = 550.0
    jet_abs_rapidity_max: float = 1.7
    pthat_min_gev: float = 400.0
    pthat_max_gev: float = 700.0
    light_quarks_only: bool = True
    pythia_commands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        numbers = (
            "ecm_gev",
            "jet_radius",
            "jet_pt_min_gev",
            "jet_pt_max_gev",
            "jet_abs_rapidity_max",
            "pthat_min_gev",
            "pthat_max_gev",
        )
        for name in numbers:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
        if self.jet_pt_min_gev >= self.jet_pt_max_gev:
            raise ConfigError("jet_pt_min_gev must be below jet_pt_max_gev")
        if self.pthat_min_gev >= self.pthat_max_gev:
            raise ConfigError("pthat_min_gev must be below pthat_max_gev")
        if not isinstance(self.light_quarks_only, bool):
            raise ConfigError("light_quarks_only must be true or false")
        for command in self.pythia_commands:
            if not isinstance(command, str):
                raise ConfigError(f"pythia_commands must be strings, got {command!r}")
            if command.strip().lower().startswith(_RESERVED_PREFIXES):
                raise ConfigError(
                    f"pythia_commands may not set {command!r}: the seed, process, beam energy and "
                    "pTHat window are GeneratorSettings fields and arguments"
                )

    def pythia_commands_for(self, process: Process, pythia_seed: int) -> list[str]:
        """Return the full list of Pythia settings for one sample."""
        return [
            f"Beams:eCM = {self.ecm_gev}",
            f"{_PROCESS_SWITCH[process]} = on",
            "WeakZ0:gmZmode = 2",  # pure Z, no photon interference
            "23:onMode = off",
            "23:onIfAny = 12 14 16",  # Z -> neutrinos only: the jet recoils against nothing seen
            f"PhaseSpace:pTHatMin = {self.pthat_min_gev}",
            f"PhaseSpace:pTHatMax = {self.pthat_max_gev}",
            "Random:setSeed = on",
            f"Random:seed = {pythia_seed}",
            "Print:quiet = on",
            "Next:numberCount = 0",
            "Next:numberShowEvent = 0",
            "Next:numberShowProcess = 0",
            "Next:numberShowInfo = 0",
            *self.pythia_commands,
        ]


def pythia_seeds(seed: int) -> dict[Process, int]:
    """Return the Pythia seeds used for the quark and gluon samples of dataset seed ``seed``."""
    return {"quark": 2 * seed + 1, "gluon": 2 * seed + 2}


def generate_jets(
    n_jets: int,
    *,
    seed: int,
    settings: GeneratorSettings | None = None,
    batch_size: int = 100,
    progress: Callable[[int], None] | None = None,
) -> JetDataset:
    """Generate ``n_jets`` quark and gluon jets (half each; the extra one is a quark).

    Args:
        n_jets: number of jets, at least 1.
        seed: dataset seed in ``[0, MAX_SEED]``; equal seeds give identical datasets.
        settings: physics settings; the EnergyFlow recipe by default.
        batch_size: events per Pythia batch (about 2 MB of memory per event).
        progress: called with the number of jets accepted since the previous call.

    Returns:
        A dataset whose metadata records the settings, seeds, event counts and versions.

    Raises:
        ConfigError: for invalid counts, seeds or Pythia settings.
    """
    if isinstance(n_jets, bool) or not isinstance(n_jets, int) or n_jets < 1:
        raise ConfigError(f"the number of jets must be a positive integer, got {n_jets!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    settings = settings or GeneratorSettings()
    seeds = pythia_seeds(seed)
    wanted: dict[Process, int] = {"quark": (n_jets + 1) // 2, "gluon": n_jets // 2}
    jets: list[np.ndarray] = []
    labels: list[int] = []
    events: dict[str, int] = {}
    processes: tuple[tuple[Process, int], ...] = (("quark", QUARK), ("gluon", GLUON))
    for process, label in processes:
        if wanted[process] == 0:
            events[process] = 0
            continue
        sample, events[process] = _generate_sample(
            process, wanted[process], seeds[process], settings, batch_size, progress
        )
        jets.extend(sample)
        labels.extend([label] * len(sample))
    order = np.random.default_rng(seed).permutation(n_jets)
    X = _pad([jets[i] for i in order])
    y = np.asarray(labels, dtype=np.int64)[order]
    return JetDataset(X, y, _metadata(n_jets, seed, settings, events))


def _metadata(
    n_jets: int, seed: int, settings: GeneratorSettings, events: dict[str, int]
) -> dict[str, Any]:
    return {
        "format": "qdm-qiskit/qg-jets",
        "format_version": 1,
        "generator": "pythia8mc + fastjet (anti-kT)",
        "seed": seed,
        "pythia_seeds": dict(pythia_seeds(seed)),
        "n_jets": n_jets,
        "events_generated": events,
        "settings": options_to_dict(settings),
        "versions": package_versions(("pythia8mc", "fastjet", "awkward", "numpy")),
    }


def _pad(jets: list[np.ndarray]) -> np.ndarray:
    width = max(j.shape[0] for j in jets)
    X = np.zeros((len(jets), width, 4), dtype=np.float64)
    for i, jet in enumerate(jets):
        X[i, : jet.shape[0]] = jet
    return X


def _generate_sample(
    process: Process,
    n_wanted: int,
    pythia_seed: int,
    settings: GeneratorSettings,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> tuple[list[np.ndarray], int]:
    """Run one Pythia instance until ``n_wanted`` jets pass; return them and the event count."""
    from qdm_qiskit.data._jet_source import JetSource  # heavy imports only when generating

    source = JetSource(settings.pythia_commands_for(process, pythia_seed), settings)
    accepted: list[np.ndarray] = []
    n_events = 0
    while len(accepted) < n_wanted:
        if n_events >= _ACCEPTANCE_CHECK_EVENTS and len(accepted) < _MIN_ACCEPTANCE * n_events:
            raise ConfigError(
                f"only {len(accepted)} {process} jets passed the selection in {n_events} events; "
                "check that the pTHat window can produce jets in the jet pT window"
            )
        batch = source.next_batch(batch_size)
        taken = batch.jets[: n_wanted - len(accepted)]
        accepted.extend(jet for _, jet in taken)
        # Events after the last needed jet are discarded, so the output (and the recorded event
        # count) does not depend on the batch size.
        n_events += taken[-1][0] + 1 if len(accepted) == n_wanted else batch.n_events
        if progress is not None and taken:
            progress(len(taken))
    return accepted, n_events
