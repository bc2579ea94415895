"""Generated sample sets on disk: what ``qdm compare`` reads.

Every command that generates jet images (``qdm run``, ``qdm sample``)
writes, beside its other artifacts::

    sets.json   the data representation (the run's [data] section), and per set: its key, name,
                family, parameter counts, training and sampling seconds, QPU-seconds estimate,
                target, seed
    sets.npz    images (and labels / pairs of reconstructions) under each set's key
    history-<key>.csv   the training curve of a set's model, when it has one

Sets are joined to their metadata by key, never by position.
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qdm_qiskit._io import atomic_write_bytes, atomic_write_json, npz_bytes
from qdm_qiskit.errors import ConfigError, DataError

SETS_FILE = "sets.json"
ARRAYS_FILE = "sets.npz"


@dataclass(frozen=True, eq=False)
class SetRecord:
    """One generated sample set and how it was made.

    Attributes:
        key: file-safe identifier, unique within a directory.
        name: how the set appears in tables (unique within a comparison).
        family: ``angle``/``state`` (quantum) or ``ddpm`` (classical).
        images: ``(N, npix, npix)`` generated images.
        quantum_parameters: trainable circuit parameters.
        classical_parameters: trainable classical parameters.
        train_seconds: wall time of training (``None``: not trained here).
        sample_seconds: wall time of generating ``images``.
        qpu_seconds_per_1000: estimated QPU time for 1000 samples on the modelled device
            (``None`` for classical sets or when the device has no gate durations).
        target: where the images were generated (``engine``, ``aer:FakeManilaV2``, ``cpu``).
        seed: sampling seed.
        labels: true quark/gluon labels (reconstructions of test jets only).
        pairs: index of the test jet each image reconstructs (reconstructions only).
        history: training curve.
        extra: other JSON-ready facts (sampler, steps, prediction target).
    """

    key: str
    name: str
    family: str
    images: np.ndarray
    quantum_parameters: int
    classical_parameters: int
    train_seconds: float | None
    sample_seconds: float
    qpu_seconds_per_1000: float | None = None
    target: str = "engine"
    seed: int = 0
    labels: np.ndarray | None = None
    pairs: np.ndarray | None = None
    history: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.key) or "__" in self.key:
            raise ConfigError(
                f"set key {self.key!r} must be file-safe (letters, digits, _ . -) without '__' "
                "(reserved for the labels and pairs arrays)"
            )

    @property
    def sample_seconds_per_1000(self) -> float:
        """Sampling wall time scaled to 1000 samples."""
        return 1000.0 * self.sample_seconds / max(len(self.images), 1)

    def metadata(self) -> dict[str, Any]:
        """The JSON entry of this set in ``sets.json``."""
        skip = {"images", "labels", "pairs", "history"}
        entry = {k: v for k, v in asdict(self).items() if k not in skip}
        entry.update(
            count=len(self.images),
            has_labels=self.labels is not None,
            has_pairs=self.pairs is not None,
            has_history=self.history is not None,
        )
        return entry


def write_sets(
    directory: Path, records: list[SetRecord], representation: dict[str, Any], **info: Any
) -> None:
    """Write ``sets.json``, ``sets.npz`` and histories of ``records`` into ``directory``."""
    keys = [r.key for r in records]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"set keys must be unique, got {keys}")
    arrays: dict[str, np.ndarray] = {}
    for record in records:
        arrays[record.key] = np.asarray(record.images, dtype=np.float64)
        if record.labels is not None:
            arrays[f"{record.key}__labels"] = np.asarray(record.labels, dtype=np.int64)
        if record.pairs is not None:
            arrays[f"{record.key}__pairs"] = np.asarray(record.pairs, dtype=np.int64)
        if record.history is not None:
            csv = record.history.to_csv(index=False).encode()
            atomic_write_bytes(directory / f"history-{record.key}.csv", csv)
    atomic_write_bytes(directory / ARRAYS_FILE, npz_bytes(**arrays))
    atomic_write_json(
        directory / SETS_FILE,
        {"representation": representation, "sets": [r.metadata() for r in records], **info},
    )


@dataclass(frozen=True, eq=False)
class StoredSets:
    """The sets of one directory and the representation they were made in."""

    directory: Path
    representation: dict[str, Any]
    records: tuple[SetRecord, ...]
    info: dict[str, Any]


def read_sets(directory: str | Path) -> StoredSets:
    """Read what :func:`write_sets` wrote; one clear error for a directory without sets."""
    directory = Path(directory)
    manifest_path = directory / SETS_FILE
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such results directory")
    if not manifest_path.is_file():
        raise ConfigError(
            f"{directory}: holds no generated jet images ({SETS_FILE}); compare the directories "
            "written by 'qdm run' or 'qdm sample'"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as arrays:
            records = tuple(_record(entry, arrays, directory) for entry in manifest["sets"])
        representation = dict(manifest["representation"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile,
            zlib.error) as exc:  # fmt: skip
        raise DataError(f"{directory}: sample sets are incomplete or corrupt ({exc})") from exc
    info = {k: v for k, v in manifest.items() if k not in ("sets", "representation")}
    return StoredSets(directory, representation, records, info)


def _record(entry: dict[str, Any], arrays: Any, directory: Path) -> SetRecord:
    key = entry["key"]
    history_path = directory / f"history-{key}.csv"
    fields = {k: entry[k] for k in SetRecord.__dataclass_fields__ if k in entry}
    return SetRecord(
        **{**fields, "extra": dict(entry.get("extra", {}))},
        images=np.asarray(arrays[key]),
        labels=np.asarray(arrays[f"{key}__labels"]) if entry.get("has_labels") else None,
        pairs=np.asarray(arrays[f"{key}__pairs"]) if entry.get("has_pairs") else None,
        history=pd.read_csv(history_path) if entry.get("has_history") else None,
    )
