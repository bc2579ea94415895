"""Jets at scale: the project's generator, run once per shard and cached in the workspace.

Models at 16x16 and above need tens of thousands of jets; generating 20,000 takes about 25
minutes on two cores, so it happens once. A cached dataset of seed ``S`` is a list of shards of
:data:`SHARD_JETS` jets each, ``<directory>/pythia-s<S>/shard-<k>.npz``, shard ``k`` being exactly
``generate_jets(SHARD_JETS, seed=shard_seed(S, k))``. Asking for ``N`` jets reads the first
``ceil(N / SHARD_JETS)`` shards (generating the missing ones) and keeps the first ``N`` jets, so
a larger request reuses every shard a smaller one made, and shards can be made in parallel.

A shard is only reused when its own record says it is that shard: readable and valid, the right
seed and jet count, the recipe's default settings, the same file format and generator version.
Anything else is regenerated (and reported through ``notice``), never silently reused.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qdm_qiskit._io import check_writable
from qdm_qiskit.data.format import JetDataset, concatenate_jets, load_jets, save_jets
from qdm_qiskit.data.generate import MAX_SEED, GeneratorSettings, generate_jets
from qdm_qiskit.errors import ConfigError, DataError
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.provenance import distribution_version

#: Jets per shard (1000 quark + 1000 gluon).
SHARD_JETS = 2000
#: Shards per dataset seed; with SHARD_JETS this caps a cached dataset at 2,000,000 jets, the
#: size of the EnergyFlow dataset.
MAX_SHARDS = 1000
#: Largest dataset seed whose shard seeds stay within the generator's range.
MAX_CACHE_SEED = MAX_SEED // MAX_SHARDS - 2
#: Where the cache lives unless ``QDM_DATA_DIR`` or an explicit directory says otherwise.
DEFAULT_DATA_DIR = Path("data")

Notice = Callable[[str], None]


def default_data_dir() -> Path:
    """``$QDM_DATA_DIR`` if set, else ``data/`` in the working directory (the workspace)."""
    return Path(os.environ.get("QDM_DATA_DIR") or DEFAULT_DATA_DIR)


def shard_seed(seed: int, index: int) -> int:
    """Generator seed of shard ``index`` of dataset seed ``seed``: ``1000 (seed + 1) + index``.

    The offset keeps the cache disjoint from small seeds (the shipped sample is seed 1).
    """
    return MAX_SHARDS * (seed + 1) + index


def check_request(n_jets: object, seed: object) -> None:
    """Refuse a jet count or dataset seed the cache cannot serve (before any work)."""
    limit = SHARD_JETS * MAX_SHARDS
    if isinstance(n_jets, bool) or not isinstance(n_jets, int) or not 1 <= n_jets <= limit:
        raise ConfigError(f"the number of generated jets must be an integer in [1, {limit}], "
                          f"got {n_jets!r}")  # fmt: skip
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_CACHE_SEED:
        raise ConfigError(f"the generator seed must be an integer in [0, {MAX_CACHE_SEED}], "
                          f"got {seed!r}")  # fmt: skip


@dataclass(frozen=True)
class JetCache:
    """Generated jet shards under ``directory`` (see the module docstring)."""

    directory: Path

    def shard_path(self, seed: int, index: int) -> Path:
        """File of shard ``index`` of dataset seed ``seed``."""
        return Path(self.directory) / f"pythia-s{seed}" / f"shard-{index:04d}.npz"

    def shards_needed(self, n_jets: int) -> int:
        """How many shards hold ``n_jets`` jets."""
        return math.ceil(n_jets / SHARD_JETS)

    def missing(self, n_jets: int, *, seed: int) -> list[int]:
        """Shards of the request that are absent or unusable (would be generated)."""
        check_request(n_jets, seed)
        return [k for k in range(self.shards_needed(n_jets))
                if _read_shard(self.shard_path(seed, k), seed, k)[0] is None]  # fmt: skip

    def load(
        self,
        n_jets: int,
        *,
        seed: int,
        progress: Callable[[int], None] | None = None,
        notice: Notice | None = None,
    ) -> JetDataset:
        """The first ``n_jets`` jets of dataset seed ``seed``, generating missing shards.

        Args:
            n_jets: jets wanted.
            seed: dataset seed.
            progress: called with the number of jets accepted while generating.
            notice: told, in one line, about every shard generated or regenerated.
        """
        check_request(n_jets, seed)
        tell = notice or (lambda _message: None)
        count = self.shards_needed(n_jets)
        paths = [self.shard_path(seed, k) for k in range(count)]
        shards = [_read_shard(path, seed, k) for k, path in enumerate(paths)]
        if any(jets is None for jets, _ in shards):
            check_writable(paths[0])  # before minutes of generation
        for k, (path, (jets, problem)) in enumerate(zip(paths, shards, strict=True)):
            if jets is not None:
                continue
            tell(f"shard {k + 1}/{count} ({SHARD_JETS} jets, generator seed "
                 f"{shard_seed(seed, k)}): {problem}; generating it into {path}")  # fmt: skip
            save_jets(path, generate_jets(SHARD_JETS, seed=shard_seed(seed, k),
                                          progress=progress))  # fmt: skip
            shards[k] = _read_shard(path, seed, k)
            if shards[k][0] is None:  # pragma: no cover - a generator bug, not bad input
                raise DataError(f"{path}: the shard just generated is unusable: {shards[k][1]}")
        datasets = [jets for jets, _ in shards if jets is not None]
        return concatenate_jets(datasets, _metadata(n_jets, seed, paths), limit=n_jets)


def _expected_record(seed: int, index: int) -> dict[str, Any]:
    return {
        "format": "qdm-qiskit/qg-jets",
        "format_version": 1,
        "seed": shard_seed(seed, index),
        "n_jets": SHARD_JETS,
        "settings": options_to_dict(GeneratorSettings()),
    }


def _read_shard(path: Path, seed: int, index: int) -> tuple[JetDataset | None, str]:
    """The shard's jets, or ``None`` and why the file cannot serve as that shard."""
    if not path.exists():
        return None, "not cached yet"
    try:
        jets = load_jets(path)
    except DataError as error:
        return None, f"the cached file is damaged ({error})"
    record = dict(jets.metadata["sources"][0]["metadata"])
    for key, value in _expected_record(seed, index).items():
        if record.get(key) != value:
            return None, f"the cached file has {key} = {record.get(key)!r}, expected {value!r}"
    made_with = record.get("versions", {}).get("pythia8mc")
    installed = distribution_version("pythia8mc")
    if made_with != installed:
        return None, f"made with pythia8mc {made_with}, but {installed} is installed"
    if jets.n_jets != SHARD_JETS:
        return None, f"the cached file holds {jets.n_jets} jets, expected {SHARD_JETS}"
    return jets, ""


def _metadata(n_jets: int, seed: int, shards: list[Path]) -> dict[str, Any]:
    return {
        "source": "pythia",
        "seed": seed,
        "n_jets": n_jets,
        "shard_jets": SHARD_JETS,
        "shards": [
            {"file": str(p), "seed": shard_seed(seed, k), "sha256": _digest(p)}
            for k, p in enumerate(shards)
        ],
        "settings": options_to_dict(GeneratorSettings()),
        "versions": {name: distribution_version(name) for name in ("pythia8mc", "fastjet")},
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
