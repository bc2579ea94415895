"""Validated option dataclasses: one helper to build them from plain mappings.

Option classes across the toolkit are frozen dataclasses that validate in ``__post_init__``.
:func:`options_from_dict` is how configs (JSON/TOML) become option objects: it rejects unknown
fields, so a typo raises instead of being silently ignored, as ``extra="forbid"`` does in
qiskit-ibm-runtime's options.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from qdm_qiskit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

T = TypeVar("T")


def options_from_dict(cls: type[T], data: Mapping[str, Any], *, context: str | None = None) -> T:
    """Build option dataclass ``cls`` from ``data``, rejecting unknown fields.

    Lists become tuples so that the frozen result stays hashable.

    Args:
        cls: a dataclass type.
        data: field values by name.
        context: what to name in error messages (defaults to the class name).

    Raises:
        ConfigError: for an unknown field (with a close-match suggestion) or an invalid value.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    where = context or cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table of options, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = [key for key in data if key not in names]
    if unknown:
        key = unknown[0]
        raise ConfigError(
            f"{where}: unknown option {key!r}{did_you_mean(key, names)}; known: {', '.join(names)}"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A `` (did you mean 'x'?)`` hint for a misspelt name, or an empty string.

    Tries difflib's similarity first, then candidates that contain the word or are contained in
    it (``denoiser`` -> ``denoising_circuit`` is too short for difflib alone).
    """
    options = list(candidates)
    hint = difflib.get_close_matches(word, options, n=1)
    if not hint:
        lowered = word.lower()
        hint = [
            c for c in options if lowered and (lowered[:5] in c.lower() or c.lower() in lowered)
        ]
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def options_to_dict(options: Any) -> dict[str, Any]:
    """Return the fields of option dataclass ``options`` as JSON-ready values (tuples as lists)."""
    return {
        f.name: list(v) if isinstance(v := getattr(options, f.name), tuple) else v
        for f in dataclasses.fields(options)
    }


def read_config_file(path: str | Path, *, kind: str, described: str) -> Any:
    """Parse a ``.toml`` or ``.json`` config file, with one-line errors naming the file.

    Args:
        path: the file.
        kind: word for "no such <kind> file" messages (``config``, ``experiment``).
        described: the subject of "<described> must be a .toml or .json file".

    Raises:
        ConfigError: missing file, other suffix, or unparsable content.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such {kind} file")
    if path.suffix not in (".toml", ".json"):
        raise ConfigError(f"{path}: {described} must be a .toml or .json file")
    try:
        text = path.read_text()
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable {path.suffix.lstrip('.')} file ({exc})") from exc
