"""A sweep: a grid or list of values over any fields of an ordinary run config.

A sweep file (TOML or JSON) names the kind of run, the axes and the base config::

    [sweep]
    kind = "reservoir"            # reservoir | qdm
    name = "talk-grid"            # results/sweep-<name>/ (default: the file's stem)
    metric = "wootters"           # what the report ranks and plots (default per kind)
    mode = "grid"                 # grid: every combination of the axes | list: sweep.points

    [sweep.axes]
    "reservoir.tau_b" = [0.1, 1.0, 5.0, 15.0]
    "reservoir.coupling" = [0.0, 0.35, 0.7]

    [base.reservoir]              # the config every point starts from (or sweep.base_config)
    t_f = 15.0

Every point is validated as a whole config before anything runs, so a bad axis value fails
up front with the point named.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.options import did_you_mean, read_config_file


@dataclass(frozen=True)
class SweepKind:
    """What a sweep of one kind runs.

    Attributes:
        name: ``reservoir`` or ``qdm``.
        sections: config section name -> option dataclass (for axis validation).
        from_dict: validates a mapping of sections into a config object.
        metrics: what a point reports; the first is the default metric.
        higher_is_better: metrics to maximise (every other metric is minimised).
    """

    name: str
    sections: Mapping[str, type]
    from_dict: Callable[..., Any]
    metrics: tuple[str, ...]
    higher_is_better: frozenset[str] = frozenset()

    def check_metric(self, metric: object, context: str) -> str:
        """``metric`` if this kind reports it, else one clear error."""
        if metric not in self.metrics:
            raise ConfigError(
                f"{context}: a {self.name} sweep reports {', '.join(self.metrics)}; got metric "
                f"{metric!r}{did_you_mean(str(metric), self.metrics)}"
            )
        return str(metric)


def sweep_kinds() -> dict[str, SweepKind]:
    """The kinds of run a sweep can vary (imported lazily: each pulls in its own room)."""
    from qdm_qiskit.models.config import RUN_SECTIONS, run_config_from_dict
    from qdm_qiskit.reservoir.config import SECTIONS, reservoir_config_from_dict

    return {
        "reservoir": SweepKind("reservoir", SECTIONS, reservoir_config_from_dict,
                               ("wootters", "wootters_max", "wootters_ensemble", "fidelity",
                                "fidelity_min", "seconds"),
                               frozenset({"fidelity", "fidelity_min"})),
        "qdm": SweepKind("qdm", RUN_SECTIONS,
                         run_config_from_dict,
                         ("validation_loss", "train_loss", "quantum_parameters", "seconds")),
    }  # fmt: skip


@dataclass(frozen=True)
class SweepPoint:
    """One run of the sweep.

    Attributes:
        index: position in the sweep (grid order: the last axis varies fastest).
        params: axis -> value of this point.
        config: the whole validated config as plain sections (JSON-ready).
        point_id: content hash of ``config``: the same config is the same point, whichever
            sweep or order it comes in, which is what makes re-runs resume.
    """

    index: int
    params: dict[str, Any]
    config: dict[str, Any]
    point_id: str


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep.

    Attributes:
        kind: the kind of run.
        name: names the sweep directory.
        metric: what the report ranks and plots.
        axes: the varied fields, in order.
        points: every point, validated.
        plots: pairs of axes ``(x, y)`` drawn as heatmaps (default: the first two axes).
        spec: the sweep file's content (stored with the results).
    """

    kind: SweepKind
    name: str
    metric: str
    axes: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    plots: tuple[tuple[str, str], ...]
    spec: dict[str, Any]

    @property
    def higher_is_better(self) -> bool:
        """Whether the metric is maximised."""
        return self.metric in self.kind.higher_is_better


_SWEEP_FIELDS = ("kind", "name", "metric", "mode", "axes", "points", "base_config", "plots")


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and validate a sweep file; ``sweep.base_config`` is relative to it."""
    path = Path(path)
    data = read_config_file(path, kind="sweep", described="a sweep file")
    return sweep_from_dict(data, default_name=path.stem, root=path.parent, context=str(path))


def sweep_from_dict(
    data: Any, *, default_name: str = "sweep", root: Path = Path(), context: str = "sweep"
) -> SweepConfig:
    """Validate a sweep mapping (``[sweep]`` and ``[base]`` tables) and expand its points."""
    if not isinstance(data, dict) or not isinstance(data.get("sweep"), dict):
        raise ConfigError(f"{context}: a sweep file needs a [sweep] table")
    unknown = sorted(set(data) - {"sweep", "base"})
    if unknown:
        raise ConfigError(f"{context}: unknown table {unknown[0]!r}; known: sweep, base")
    sweep = data["sweep"]
    for key in sweep:
        if key not in _SWEEP_FIELDS:
            raise ConfigError(
                f"{context} [sweep]: unknown option {key!r}{did_you_mean(key, _SWEEP_FIELDS)}; "
                f"known: {', '.join(_SWEEP_FIELDS)}"
            )
    kinds = sweep_kinds()
    kind_name = sweep.get("kind", "reservoir")
    if kind_name not in kinds:
        raise ConfigError(f"{context}: sweep.kind must be one of {', '.join(kinds)}, got "
                          f"{kind_name!r}")  # fmt: skip
    kind = kinds[kind_name]
    base = _base(data, sweep, root, context)
    mode = sweep.get("mode", "grid")
    if mode == "grid":
        axes, combos = _grid(sweep.get("axes"), context)
    elif mode == "list":
        axes, combos = _listed(sweep.get("points"), context)
    else:
        raise ConfigError(f"{context}: sweep.mode must be grid or list, got {mode!r}")
    for axis in axes:
        _check_axis(kind, axis, context)
    points = tuple(_point(kind, base, i, dict(zip(axes, values, strict=True)), context)
                   for i, values in enumerate(combos))  # fmt: skip
    first: dict[str, int] = {}
    for point in points:
        if point.point_id in first:
            raise ConfigError(f"{context}: sweep points {first[point.point_id]} and "
                              f"{point.index} are the same config ({point.params})")  # fmt: skip
        first[point.point_id] = point.index
    name = str(sweep.get("name", default_name))
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"{context}: sweep.name {name!r} cannot name a directory")
    metric = kind.check_metric(sweep.get("metric", kind.metrics[0]), context)
    plots = _plots(sweep.get("plots"), axes, context)
    return SweepConfig(kind, name, metric, axes, points, plots, copy.deepcopy(data))


def with_report_options(
    sweep: SweepConfig, *, metric: str | None = None, plots: list[list[str]] | None = None
) -> SweepConfig:
    """The same sweep, ranked and plotted by another metric or over other pairs of axes."""
    if metric is not None:
        sweep = dataclasses.replace(sweep, metric=sweep.kind.check_metric(metric, "--metric"))
    if plots is not None:
        sweep = dataclasses.replace(sweep, plots=_plots(plots, sweep.axes, "--plot"))
    return sweep


def _plots(plots: Any, axes: tuple[str, ...], context: str) -> tuple[tuple[str, str], ...]:
    if plots is None:
        return ((axes[0], axes[1]),) if len(axes) > 1 else ()
    pairs = []
    for pair in plots if isinstance(plots, list) else [plots]:
        if not (isinstance(pair, list) and len(pair) == 2 and set(pair) <= set(axes)):
            raise ConfigError(f"{context}: sweep.plots holds [x, y] pairs of sweep axes "
                              f"({', '.join(axes)}), got {pair!r}")  # fmt: skip
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _base(data: dict[str, Any], sweep: dict[str, Any], root: Path, context: str) -> dict:
    if "base_config" in sweep:
        if "base" in data:
            raise ConfigError(f"{context}: give the base config inline [base] or as "
                              "sweep.base_config, not both")  # fmt: skip
        file = root / str(sweep["base_config"])
        return dict(read_config_file(file, kind="config", described="a base config"))
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise ConfigError(f"{context}: [base] must be a table of config sections")
    return base


def _grid(axes: Any, context: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    if not isinstance(axes, dict) or not axes:
        raise ConfigError(f"{context}: a grid sweep needs [sweep.axes] with at least one axis")
    for axis, values in axes.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{context}: sweep axis {axis!r} needs a non-empty list of values, "
                              f"got {values!r}")  # fmt: skip
    names = tuple(axes)
    return names, list(itertools.product(*(axes[a] for a in names)))


def _listed(points: Any, context: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    if not isinstance(points, list) or not points or not all(isinstance(p, dict) for p in points):
        raise ConfigError(f"{context}: a list sweep needs [[sweep.points]] tables (none given)")
    names = tuple(dict.fromkeys(axis for point in points for axis in point))
    for i, point in enumerate(points):
        missing = [a for a in names if a not in point]
        if missing:
            raise ConfigError(f"{context}: sweep point {i} does not set {missing[0]!r}; every "
                              "listed point sets the same fields")  # fmt: skip
    return names, [tuple(point[a] for a in names) for point in points]


def _check_axis(kind: SweepKind, axis: str, context: str) -> None:
    known = [f"{s}.{f.name}" for s, cls in kind.sections.items() for f in dataclasses.fields(cls)]
    if axis not in known:
        raise ConfigError(
            f"{context}: sweep axis {axis!r} is not a {kind.name} config field"
            f"{did_you_mean(str(axis), known)}; fields are section.name, e.g. {known[0]}"
        )


def _point(kind: SweepKind, base: dict, index: int, params: dict[str, Any], context: str):  # type: ignore[no-untyped-def]
    sections = copy.deepcopy(base)
    for axis, value in params.items():
        section, _, name = axis.partition(".")
        sections.setdefault(section, {})[name] = value
    where = f"{context}: sweep point {index} ({', '.join(f'{a}={v!r}' for a, v in params.items())})"
    try:
        config = kind.from_dict(sections, context=where)
    except ConfigError as exc:  # checks across sections raise without the context
        raise ConfigError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from exc
    plain = json.loads(json.dumps(config.to_dict(), sort_keys=True))
    canonical = json.dumps([kind.name, _numbers_as_floats(plain)], sort_keys=True)
    return SweepPoint(index, params, plain, hashlib.sha256(canonical.encode()).hexdigest()[:16])


def _numbers_as_floats(value: Any) -> Any:
    """``1`` and ``1.0`` are the same setting: hash them alike."""
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_floats(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
