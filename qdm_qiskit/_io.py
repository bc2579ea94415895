"""Atomic file writes shared by every room that persists artifacts.

A reader never sees a half-written file: bytes go to a temporary file in the destination
directory, are flushed to disk, and the temporary file is renamed over the target. If anything
fails, the temporary file is removed and a :class:`~qdm_qiskit.errors.QdmError` names the path.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from qdm_qiskit.errors import QdmError

_NEW_FILE_MODE = 0o644


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early, before expensive work, if ``path`` cannot be written.

    Creates missing parent directories, then creates and removes a probe file beside the target.

    Returns:
        The path as a :class:`~pathlib.Path`.

    Raises:
        QdmError: if the path is a directory or its directory cannot be created or written.
    """
    target = Path(path)
    if target.is_dir():
        raise QdmError(f"{target}: is a directory, expected a file path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise QdmError(f"{target}: cannot write here ({exc.strerror or exc})") from exc
    return target


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a binary stream whose content replaces ``path`` only if the block succeeds.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.bin"
        >>> with atomic_writer(target) as stream:
        ...     _ = stream.write(b"payload")
        >>> target.read_bytes()
        b'payload'
    """
    target = check_writable(path)
    # mkstemp creates files private (0600); give the result the usual mode of a data file, or
    # keep the mode of the file being replaced.
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _NEW_FILE_MODE
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise QdmError(f"{target}: write failed ({exc.strerror or exc})") from exc
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_writer(path) as stream:
        stream.write(data)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], payload: Any, *, indent: int = 2) -> Path:
    """Write ``payload`` as JSON (sorted keys, numpy values as numbers) atomically."""
    text = json.dumps(payload, indent=indent, sort_keys=True, default=_json_value) + "\n"
    return atomic_write_bytes(path, text.encode())


def _json_value(value: object) -> object:
    """JSON form of what ``json`` cannot encode: numpy scalars and arrays, else ``str``."""
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


@dataclass(frozen=True)
class ArtifactDirectory:
    """Where an artifact is written (``partial``) and where it appears when done (``final``)."""

    partial: Path
    final: Path


@contextlib.contextmanager
def artifact_directory(root: str | Path, kind: str) -> Iterator[ArtifactDirectory]:
    """A fresh directory ``root/<kind>-<YYYYmmdd-HHMMSS>-<hex>`` that appears only when complete.

    Work happens in the hidden ``root/.<name>.partial``, renamed when the block succeeds. After a
    failure the partial directory stays (hidden) so that, e.g., the last good checkpoint of a
    training run that hit a NaN loss is not lost; the error message names it.
    """
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"{kind}-{stamp}-{secrets.token_hex(3)}"
    partial = check_writable(Path(root) / f".{name}.partial")
    partial.mkdir(parents=True, exist_ok=False)
    out = ArtifactDirectory(partial, partial.with_name(name))
    yield out
    partial.rename(out.final)


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """A compressed ``.npz`` archive of ``arrays`` as bytes (for :func:`atomic_write_bytes`)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()
