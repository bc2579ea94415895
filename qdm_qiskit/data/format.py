"""The EnergyFlow quark/gluon jet format: validated in-memory dataset, loader and writer.

Files follow the layout of the EnergyFlow ``QG_jets.npz`` files (Komiske, Metodiev, Thaler,
JHEP 01 (2019) 121): ``X`` of shape ``(N, M, 4)`` holding zero-padded particles as
``(pt, y, phi, pid)`` and ``y`` the labels, quark = 1 and gluon = 0. Files written by
qdm-qiskit add a third member, ``metadata``, a JSON string with the generator settings, seed and
package versions; the EnergyFlow loader ignores it.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qdm_qiskit._io import atomic_writer
from qdm_qiskit.errors import DataError

#: Column order of the particle axis of ``X``.
COLUMNS: tuple[str, str, str, str] = ("pt", "y", "phi", "pid")
QUARK, GLUON = 1, 0

PathLike = str | os.PathLike[str]

# A fixed timestamp makes the zip container, and so the file, byte-identical for equal content.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, eq=False)
class JetDataset:
    """A validated set of jets with labels and provenance.

    Attributes:
        X: particles, shape ``(n_jets, max_particles, 4)``, float64, columns :data:`COLUMNS`,
            zero-padded. Read-only.
        y: labels, shape ``(n_jets,)``, int64, quark = 1, gluon = 0. Read-only.
        metadata: provenance (generator settings, seed, versions, source files).
    """

    X: np.ndarray
    y: np.ndarray
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        X, y = validate_jets(self.X, self.y, source="JetDataset")
        # Freeze our own copy, never the caller's array.
        if np.may_share_memory(X, self.X):
            X = X.copy()
        if np.may_share_memory(y, self.y):
            y = y.copy()
        X.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)

    @property
    def n_jets(self) -> int:
        """Number of jets."""
        return int(self.X.shape[0])

    @property
    def multiplicity(self) -> np.ndarray:
        """Number of particles (non-padding rows) per jet."""
        return np.count_nonzero(self.X[:, :, 0] > 0, axis=1)

    def subset(self, indices: np.ndarray | Sequence[int]) -> JetDataset:
        """Return the jets at ``indices`` or a boolean mask, trimmed to their own padding."""
        selector = np.asarray(indices)
        if selector.dtype == bool:
            if selector.shape != (self.n_jets,):
                raise DataError(f"mask of shape {selector.shape} for {self.n_jets} jets")
            selector = np.flatnonzero(selector)
        X = self.X[selector.astype(np.int64)]
        # Padding trails the particles (validated), so the widest multiplicity is the width.
        width = max(int(np.count_nonzero(X[:, :, 0] > 0, axis=1).max(initial=1)), 1)
        return JetDataset(X[:, :width].copy(), self.y[selector].copy(), dict(self.metadata))


def validate_jets(X: Any, y: Any, *, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Check arrays against the format and return them as ``(float64 X, int64 y)``.

    Args:
        X: candidate particle array.
        y: candidate labels.
        source: what to name in error messages (usually the file path).

    Raises:
        DataError: one message naming ``source`` and the first problem found.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 3 or X.shape[2] != len(COLUMNS):
        raise DataError(f"{source}: X has shape {X.shape}, expected (n_jets, max_particles, 4)")
    if y.ndim != 1:
        raise DataError(f"{source}: y has shape {y.shape}, expected (n_jets,)")
    if X.shape[0] != y.shape[0]:
        raise DataError(f"{source}: X holds {X.shape[0]} jets but y holds {y.shape[0]} labels")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{source}: no jets (X has shape {X.shape})")
    if X.dtype.kind not in "fiu":
        raise DataError(f"{source}: X has dtype {X.dtype}, expected a real numeric type")
    if y.dtype.kind not in "fiub":
        raise DataError(f"{source}: y has dtype {y.dtype}, expected numeric labels")
    X = X.astype(np.float64, copy=False)
    _check_finite(X, source)
    labels = _checked_labels(y, source)
    pt = X[:, :, 0]
    if (pt < 0).any():
        jet = int(np.argwhere((pt < 0).any(axis=1))[0, 0])
        raise DataError(f"{source}: negative particle pt (first in jet {jet})")
    padding = pt == 0
    bad_padding = padding & (X[:, :, 1:] != 0).any(axis=2)
    if bad_padding.any():
        jet = int(np.argwhere(bad_padding.any(axis=1))[0, 0])
        raise DataError(
            f"{source}: {int(bad_padding.sum())} padding rows (pt = 0) are not all zero "
            f"(first in jet {jet})"
        )
    interleaved = padding[:, :-1] & ~padding[:, 1:]
    if interleaved.any():
        jet = int(np.argwhere(interleaved.any(axis=1))[0, 0])
        raise DataError(f"{source}: padding rows must follow all particles (first bad jet {jet})")
    empty = padding.all(axis=1)
    if empty.any():
        raise DataError(
            f"{source}: {int(empty.sum())} jets have no particles (first is jet "
            f"{int(np.argmax(empty))})"
        )
    pid = X[:, :, 3]
    if (pid != np.rint(pid)).any():
        raise DataError(f"{source}: particle ids (column 4) must be integers")
    return X, labels


def _check_finite(X: np.ndarray, source: str) -> None:
    finite = np.isfinite(X)
    if not finite.all():
        bad = ~finite
        jet = int(np.argwhere(bad.any(axis=(1, 2)))[0, 0])
        raise DataError(
            f"{source}: X contains {int(bad.sum())} NaN/inf values (first in jet {jet})"
        )


def _checked_labels(y: np.ndarray, source: str) -> np.ndarray:
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DataError(f"{source}: y contains NaN/inf labels")
    bad = (y != 0) & (y != 1)
    if bad.any():
        values = ", ".join(str(v) for v in np.unique(y[bad])[:5])
        raise DataError(f"{source}: labels must be 0 (gluon) or 1 (quark), found {values}")
    return y.astype(np.int64)


def load_jets(paths: PathLike | Sequence[PathLike], *, limit: int | None = None) -> JetDataset:
    """Load one or several EnergyFlow-format ``.npz`` files into one validated dataset.

    Files with different padding widths are padded to the widest. Nothing is pickled: files are
    opened with ``allow_pickle=False``.

    Args:
        paths: one path or a sequence of paths.
        limit: keep only the first ``limit`` jets (after concatenation), if given.

    Returns:
        The dataset; ``metadata["sources"]`` lists each file with its jet count and stored
        metadata.

    Raises:
        DataError: a file is missing, unreadable, truncated or violates the format.
    """
    path_list = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not path_list:
        raise DataError("no input files given")
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive number of jets, got {limit}")
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    sources: list[dict[str, Any]] = []
    for path in path_list:
        X, y, meta = _read_npz(Path(path))
        parts.append((X, y))
        sources.append({"path": str(path), "n_jets": int(X.shape[0]), "metadata": meta})
        if limit is not None and sum(len(part_y) for _, part_y in parts) >= limit:
            break
    X_all, y_all = _concatenate(parts, limit)
    return JetDataset(X_all, y_all, {"sources": sources})


def concatenate_jets(
    datasets: Sequence[JetDataset], metadata: Mapping[str, Any], *, limit: int | None = None
) -> JetDataset:
    """The jets of ``datasets`` in order (the first ``limit``), padded to one width."""
    if not datasets:
        raise DataError("no datasets to concatenate")
    X_all, y_all = _concatenate([(d.X, d.y) for d in datasets], limit)
    return JetDataset(X_all, y_all, dict(metadata))


def _concatenate(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], limit: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenation padded to the widest part, trimmed to the first ``limit`` jets."""
    if limit is not None:
        kept, remaining = [], limit
        for X, y in parts:
            if remaining <= 0:
                break
            kept.append((X[:remaining], y[:remaining]))
            remaining -= len(y)
        parts = kept
    width = max(X.shape[1] for X, _ in parts)
    X_all = np.concatenate([np.pad(X, ((0, 0), (0, width - X.shape[1]), (0, 0))) for X, _ in parts])
    return X_all, np.concatenate([y for _, y in parts])


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected an .npz file")
    try:
        _check_declared_sizes(path)
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: a single .npy array, expected an .npz with X and y")
        with loaded as archive:
            missing = [key for key in ("X", "y") if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path}: missing array(s) {', '.join(missing)}; found {archive.files}"
                )
            X_raw, y_raw = archive["X"], archive["y"]
            meta_raw = str(archive["metadata"]) if "metadata" in archive.files else None
    except DataError:
        raise
    except (
        OSError,
        ValueError,
        EOFError,
        zlib.error,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
    ) as exc:
        raise DataError(f"{path}: not a readable .npz file (corrupt or truncated: {exc})") from exc
    X, y = validate_jets(X_raw, y_raw, source=str(path))
    meta: dict[str, Any] = {}
    if meta_raw is not None:
        try:
            meta = json.loads(meta_raw)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: metadata is not valid JSON ({exc})") from exc
        if not isinstance(meta, dict):
            raise DataError(f"{path}: metadata must be a JSON object, got {type(meta).__name__}")
    return X, y, meta


def _check_declared_sizes(path: Path) -> None:
    """Refuse members whose .npy header declares more data than the member holds.

    A corrupt or hostile header (say shape ``(1, 10**11, 4)``) would otherwise make numpy try to
    allocate terabytes before noticing the file is short.
    """
    if not zipfile.is_zipfile(path):
        return  # np.load reports what it is (or is not)
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            with zf.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(member)
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if declared > info.file_size:
                raise DataError(
                    f"{path}: member {info.filename} declares shape {shape} ({declared} bytes) "
                    f"but holds {info.file_size} bytes"
                )


def save_jets(path: PathLike, dataset: JetDataset) -> Path:
    """Write ``dataset`` in the EnergyFlow layout, atomically and byte-reproducibly.

    ``X`` and ``y`` are stored as float64 (as in the EnergyFlow files), plus ``metadata`` as a
    JSON string. Equal content gives an identical file: the zip entries carry a fixed timestamp.

    Returns:
        The written path.
    """
    members = {
        "X": np.ascontiguousarray(dataset.X, dtype=np.float64),
        "y": dataset.y.astype(np.float64),
        "metadata": np.array(json.dumps(dict(dataset.metadata), sort_keys=True)),
    }
    with atomic_writer(path) as stream, zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, array in members.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue())
    return Path(path)
