"""Sweep files: grid and list modes, base configs, point ids and up-front validation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.reservoir import reservoir_config_from_dict
from qdm_qiskit.sweeps import SweepConfig, load_sweep, sweep_from_dict, with_report_options

#: Tiny reservoir runs: four textbook distributions on 2 qubits plus 1 ancilla, exact engine.
TINY_BASE: dict[str, Any] = {
    "inputs": {"source": "gaussian", "count": 4, "num_qubits": 2},
    "reservoir": {"num_ancillas": 1},
    "engine": {"name": "exact"},
}

TINY_SWEEP_TOML = """
[sweep]
kind = "reservoir"
name = "{name}"

[sweep.axes]
"reservoir.tau_b" = [0.1, 15.0]
"reservoir.coupling" = [0.0, 0.7]

[base.inputs]
source = "gaussian"
count = 4
num_qubits = 2

[base.reservoir]
num_ancillas = 1

[base.engine]
name = "exact"
"""


def tiny_sweep(axes: dict[str, list[Any]], *, name: str = "tiny", **sweep: Any) -> dict:
    """A reservoir grid sweep mapping over ``axes`` on the tiny base config."""
    return {
        "sweep": {"kind": "reservoir", "name": name, "axes": axes, **sweep},
        "base": copy.deepcopy(TINY_BASE),
    }


def ids(sweep: SweepConfig) -> list[str]:
    return [p.point_id for p in sweep.points]


# --- grid mode ------------------------------------------------------------------------------


def test_grid_expands_every_combination_last_axis_fastest() -> None:
    sweep = sweep_from_dict(
        tiny_sweep({"reservoir.tau_b": [0.1, 1.0, 15.0], "reservoir.coupling": [0.0, 0.7]})
    )
    assert sweep.axes == ("reservoir.tau_b", "reservoir.coupling")
    assert [p.index for p in sweep.points] == list(range(6))
    assert [tuple(p.params.values()) for p in sweep.points] == [
        (0.1, 0.0), (0.1, 0.7), (1.0, 0.0), (1.0, 0.7), (15.0, 0.0), (15.0, 0.7),
    ]  # fmt: skip
    for point in sweep.points:
        assert point.params == {
            "reservoir.tau_b": point.config["reservoir"]["tau_b"],
            "reservoir.coupling": point.config["reservoir"]["coupling"],
        }
        # the whole config: the base's fields and the defaults of the rest
        assert point.config["inputs"]["source"] == "gaussian"
        assert point.config["inputs"]["count"] == 4
        assert point.config["reservoir"]["num_ancillas"] == 1
        assert point.config["reservoir"]["t_f"] == 15.0
        json.dumps(point.config)  # JSON-ready
        reservoir_config_from_dict(point.config)  # a valid config as it stands
    assert len(set(ids(sweep))) == 6
    assert sweep.metric == "wootters"
    assert not sweep.higher_is_better
    assert sweep.kind.name == "reservoir"
    assert sweep.plots == (("reservoir.tau_b", "reservoir.coupling"),)


def test_defaults_kind_metric_and_name() -> None:
    sweep = sweep_from_dict({"sweep": {"axes": {"reservoir.coupling": [0.0, 0.7]}}})
    assert sweep.kind.name == "reservoir"
    assert sweep.metric == "wootters"
    assert sweep.name == "sweep"
    assert sweep.plots == ()  # one axis: no heatmap
    qdm = sweep_from_dict(
        {
            "sweep": {"kind": "qdm", "axes": {"model.layers": [1, 2]}},
            "base": {"data": {"npix": 2}, "model": {"num_qubits": 2}},
        }
    )
    assert qdm.metric == "validation_loss"
    assert not qdm.higher_is_better


def test_fidelity_metric_is_maximised() -> None:
    sweep = sweep_from_dict(tiny_sweep({"reservoir.coupling": [0.0, 0.7]}, metric="fidelity"))
    assert sweep.higher_is_better
    assert sweep_from_dict(
        tiny_sweep({"reservoir.coupling": [0.0]}, metric="fidelity_min")
    ).higher_is_better
    assert not sweep_from_dict(
        tiny_sweep({"reservoir.coupling": [0.0]}, metric="wootters_max")
    ).higher_is_better


def test_load_sweep_names_the_sweep_after_the_file(tmp_path: Path) -> None:
    path = tmp_path / "my-grid.toml"
    path.write_text(TINY_SWEEP_TOML.replace('name = "{name}"\n', ""))
    sweep = load_sweep(path)
    assert sweep.name == "my-grid"
    assert len(sweep.points) == 4
    assert sweep.spec["base"]["inputs"]["source"] == "gaussian"
    json_path = tmp_path / "other.json"
    json_path.write_text(json.dumps(tiny_sweep({"reservoir.coupling": [0.0, 0.7]}, name="j")))
    assert load_sweep(json_path).name == "j"


# --- point ids ------------------------------------------------------------------------------


def test_point_ids_are_stable_across_loads(tmp_path: Path) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(TINY_SWEEP_TOML.format(name="grid"))
    first, second = load_sweep(path), load_sweep(path)
    assert ids(first) == ids(second)
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids(first))
    # the same grid from a mapping is the same points
    again = sweep_from_dict(
        tiny_sweep({"reservoir.tau_b": [0.1, 15.0], "reservoir.coupling": [0.0, 0.7]}, name="x")
    )
    assert ids(again) == ids(first)


def test_a_different_axis_value_is_a_different_point() -> None:
    one = sweep_from_dict(tiny_sweep({"reservoir.coupling": [0.0, 0.7]}))
    other = sweep_from_dict(tiny_sweep({"reservoir.coupling": [0.0, 0.35]}))
    assert ids(one)[0] == ids(other)[0]
    assert ids(one)[1] != ids(other)[1]
    # a different base field is a different point too
    changed = tiny_sweep({"reservoir.coupling": [0.0, 0.7]})
    changed["base"]["inputs"]["seed"] = 9
    assert set(ids(sweep_from_dict(changed))).isdisjoint(ids(one))


def test_axis_order_does_not_change_the_ids_of_equal_configs() -> None:
    ab = sweep_from_dict(
        tiny_sweep({"reservoir.tau_b": [0.1, 1.0], "reservoir.coupling": [0.0, 0.35, 0.7]})
    )
    ba = sweep_from_dict(
        tiny_sweep({"reservoir.coupling": [0.0, 0.35, 0.7], "reservoir.tau_b": [0.1, 1.0]})
    )
    assert ab.axes != ba.axes
    assert ids(ab) != ids(ba)  # another order of points ...
    assert sorted(ids(ab)) == sorted(ids(ba))  # ... but the same points
    by_params = {tuple(sorted(p.params.items())): p.point_id for p in ab.points}
    for point in ba.points:
        assert by_params[tuple(sorted(point.params.items()))] == point.point_id


def test_point_id_is_the_config_not_where_a_value_comes_from() -> None:
    """An axis value equal to the base's (or to the default) is the same config, same id."""
    swept = sweep_from_dict(tiny_sweep({"reservoir.coupling": [0.7]}))
    base = tiny_sweep({"reservoir.tau_b": [0.1]})  # 0.1 and 0.7 are the defaults
    base["base"]["reservoir"]["coupling"] = 0.7
    assert ids(sweep_from_dict(base)) == ids(swept)
    assert ids(sweep_from_dict(tiny_sweep({"reservoir.tau_b": [0.1]}))) == ids(swept)


def test_point_id_of_an_integer_and_an_equal_float_value() -> None:
    """``tau_b = 1`` and ``tau_b = 1.0`` validate to equal configs, hence the same point."""
    as_int = sweep_from_dict(tiny_sweep({"reservoir.tau_b": [1]}))
    as_float = sweep_from_dict(tiny_sweep({"reservoir.tau_b": [1.0]}))
    assert reservoir_config_from_dict(as_int.points[0].config) == reservoir_config_from_dict(
        as_float.points[0].config
    )
    assert ids(as_int) == ids(as_float)


# --- list mode and base configs -------------------------------------------------------------


def test_list_mode_points_are_the_same_as_grid_points() -> None:
    listed = sweep_from_dict(
        {
            "sweep": {
                "mode": "list",
                "points": [
                    {"reservoir.tau_b": 15.0, "reservoir.coupling": 0.7},
                    {"reservoir.tau_b": 0.1, "reservoir.coupling": 0.0},
                    {"reservoir.coupling": 0.35, "reservoir.tau_b": 1.0},
                ],
            },
            "base": copy.deepcopy(TINY_BASE),
        }
    )
    assert listed.axes == ("reservoir.tau_b", "reservoir.coupling")
    assert [p.params for p in listed.points] == [
        {"reservoir.tau_b": 15.0, "reservoir.coupling": 0.7},
        {"reservoir.tau_b": 0.1, "reservoir.coupling": 0.0},
        {"reservoir.tau_b": 1.0, "reservoir.coupling": 0.35},
    ]
    grid = sweep_from_dict(
        tiny_sweep({"reservoir.tau_b": [0.1, 1.0, 15.0], "reservoir.coupling": [0.0, 0.35, 0.7]})
    )
    by_params = {tuple(p.params.values()): p.point_id for p in grid.points}
    assert ids(listed) == [by_params[(15.0, 0.7)], by_params[(0.1, 0.0)], by_params[(1.0, 0.35)]]


def test_list_mode_from_toml_array_of_tables(tmp_path: Path) -> None:
    path = tmp_path / "listed.toml"
    path.write_text(
        '[sweep]\nmode = "list"\n\n[[sweep.points]]\n"reservoir.tau_b" = 0.1\n\n'
        '[[sweep.points]]\n"reservoir.tau_b" = 15.0\n\n[base.inputs]\nsource = "gaussian"\n'
        "count = 4\nnum_qubits = 2\n"
    )
    sweep = load_sweep(path)
    assert sweep.name == "listed"
    assert [p.params for p in sweep.points] == [
        {"reservoir.tau_b": 0.1},
        {"reservoir.tau_b": 15.0},
    ]


def test_base_config_is_relative_to_the_sweep_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "base.toml").write_text(
        '[inputs]\nsource = "gaussian"\ncount = 3\nnum_qubits = 2\n\n'
        "[reservoir]\nnum_ancillas = 1\nt_f = 7.5\n"
    )
    (folder / "sweep.toml").write_text(
        '[sweep]\nbase_config = "base.toml"\n\n[sweep.axes]\n"reservoir.coupling" = [0.0, 0.7]\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # base.toml is not in the working directory
    sweep = load_sweep(Path("..") / "configs" / "sweep.toml")
    for point in sweep.points:
        assert point.config["inputs"]["count"] == 3
        assert point.config["reservoir"]["t_f"] == 7.5
        assert point.config["reservoir"]["num_ancillas"] == 1
    # the same config given inline is the same points
    inline = sweep_from_dict(
        {
            "sweep": {"axes": {"reservoir.coupling": [0.0, 0.7]}},
            "base": {
                "inputs": {"source": "gaussian", "count": 3, "num_qubits": 2},
                "reservoir": {"num_ancillas": 1, "t_f": 7.5},
            },
        }
    )
    assert ids(inline) == ids(sweep)


def test_inline_base_and_base_config_together_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "base.toml").write_text('[inputs]\nsource = "gaussian"\n')
    path = tmp_path / "both.toml"
    path.write_text(
        '[sweep]\nbase_config = "base.toml"\n\n[sweep.axes]\n"reservoir.coupling" = [0.0]\n\n'
        '[base.inputs]\nsource = "gaussian"\n'
    )
    with pytest.raises(ConfigError, match="not both") as info:
        load_sweep(path)
    assert "\n" not in str(info.value)


def test_missing_base_config_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[sweep]\nbase_config = "nope.toml"\n[sweep.axes]\n"reservoir.coupling" = [0]\n'
    )
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_sweep(path)


# --- bad input: one clear line each ---------------------------------------------------------


def _error(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        sweep_from_dict(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_axis_field_suggests_the_right_one() -> None:
    message = _error(tiny_sweep({"reservoir.tua_b": [0.1, 1.0]}))
    assert "'reservoir.tua_b'" in message
    assert "did you mean 'reservoir.tau_b'" in message


def test_unknown_axis_section() -> None:
    message = _error(tiny_sweep({"reservoar.tau_b": [0.1]}))
    assert "'reservoar.tau_b'" in message
    assert "not a reservoir config field" in message
    message = _error(tiny_sweep({"bogus.tau_b": [0.1]}))
    assert "'bogus.tau_b'" in message
    # a qdm field in a reservoir sweep
    assert "'model.layers'" in _error(tiny_sweep({"model.layers": [1, 2]}))
    # an axis that is not section.name
    assert "'tau_b'" in _error(tiny_sweep({"tau_b": [0.1]}))


def test_unknown_section_in_the_base_config() -> None:
    data = tiny_sweep({"reservoir.tau_b": [0.1]})
    data["base"]["reservior"] = {"t_f": 1.0}
    message = _error(data)
    assert "'reservior'" in message
    assert "did you mean 'reservoir'" in message


def test_unknown_tables_and_sweep_options() -> None:
    assert "'bsae'" in _error({"sweep": {"axes": {"reservoir.tau_b": [0.1]}}, "bsae": {}})
    message = _error({"sweep": {"axis": {"reservoir.tau_b": [0.1]}}})
    assert "'axis'" in message
    assert "did you mean 'axes'" in message
    assert "[sweep]" in _error({"base": TINY_BASE})
    assert "[sweep]" in _error([1, 2])


def test_empty_grid_axis() -> None:
    message = _error(tiny_sweep({"reservoir.tau_b": [0.1], "reservoir.coupling": []}))
    assert "'reservoir.coupling'" in message
    assert "non-empty list" in message
    assert "'reservoir.tau_b'" in _error(tiny_sweep({"reservoir.tau_b": 0.1}))


def test_missing_axes() -> None:
    data = tiny_sweep({})
    assert "[sweep.axes]" in _error(data)
    del data["sweep"]["axes"]
    assert "[sweep.axes]" in _error(data)


def test_list_mode_points_setting_different_fields() -> None:
    data = {
        "sweep": {
            "mode": "list",
            "points": [{"reservoir.tau_b": 0.1}, {"reservoir.coupling": 0.7}],
        },
        "base": copy.deepcopy(TINY_BASE),
    }
    message = _error(data)
    assert "sweep point 0" in message
    assert "'reservoir.coupling'" in message
    data["sweep"]["points"] = []
    assert "[[sweep.points]]" in _error(data)
    data["sweep"]["mode"] = "diagonal"
    assert "grid or list" in _error(data)


def test_an_invalid_value_names_its_point() -> None:
    message = _error(tiny_sweep({"reservoir.tau_b": [0.1, -1.0], "reservoir.coupling": [0.0, 0.7]}))
    # point 2 is the first with tau_b = -1.0 (the last axis varies fastest)
    assert "sweep point 2" in message
    assert "reservoir.tau_b=-1.0" in message
    assert "reservoir.coupling=0.0" in message
    assert "reservoir.tau_b must be a finite number >= 0" in message
    listed = _error(
        {
            "sweep": {
                "mode": "list",
                "points": [{"inputs.count": 4}, {"inputs.count": 4}, {"inputs.count": "many"}],
            },
            "base": copy.deepcopy(TINY_BASE),
        }
    )
    assert "sweep point 2" in listed
    assert "inputs.count" in listed


def test_an_invalid_qdm_point_names_its_point() -> None:
    message = _error(
        {
            "sweep": {"kind": "qdm", "axes": {"model.num_qubits": [2, 3]}},
            "base": {"data": {"npix": 2}},
        }
    )
    assert "sweep point 1" in message
    assert "model.num_qubits=3" in message


def test_bad_kind_name_metric_and_plots() -> None:
    assert "sweep.kind" in _error({"sweep": {"kind": "vqe", "axes": {"a.b": [1]}}})
    assert "sweep.name" in _error(tiny_sweep({"reservoir.tau_b": [0.1]}, name="a/b"))
    assert "sweep.name" in _error(tiny_sweep({"reservoir.tau_b": [0.1]}, name=".hidden"))
    assert "got metric 3" in _error(tiny_sweep({"reservoir.tau_b": [0.1]}, metric=3))
    qdm_metric = _error(
        {
            "sweep": {"kind": "qdm", "axes": {"model.layers": [1]}, "metric": "wootters"},
            "base": {"data": {"npix": 2}, "model": {"num_qubits": 2}},
        }
    )
    assert "a qdm sweep reports validation_loss" in qdm_metric
    message = _error(
        tiny_sweep(
            {"reservoir.tau_b": [0.1], "reservoir.coupling": [0.0]},
            plots=[["reservoir.tau_b", "reservoir.delta"]],
        )
    )
    assert "sweep.plots" in message


def test_a_misspelt_metric_fails_up_front() -> None:
    """Bad input fails before anything runs: not after the whole sweep, at the report."""
    message = _error(tiny_sweep({"reservoir.tau_b": [0.1]}, metric="wooters"))
    assert "'wooters'" in message
    assert "did you mean 'wootters'" in message


def test_report_options_override_metric_and_plots() -> None:
    sweep = sweep_from_dict(
        tiny_sweep({"reservoir.tau_b": [0.1, 15.0], "reservoir.coupling": [0.0, 0.7]})
    )
    assert with_report_options(sweep) == sweep
    by_fidelity = with_report_options(sweep, metric="fidelity")
    assert by_fidelity.metric == "fidelity"
    assert by_fidelity.higher_is_better
    assert ids(by_fidelity) == ids(sweep)  # the same points: only the report changes
    flipped = with_report_options(sweep, plots=[["reservoir.coupling", "reservoir.tau_b"]])
    assert flipped.plots == (("reservoir.coupling", "reservoir.tau_b"),)
    with pytest.raises(ConfigError, match="did you mean 'fidelity'"):
        with_report_options(sweep, metric="fidelty")
    with pytest.raises(ConfigError, match="--plot"):
        with_report_options(sweep, plots=[["reservoir.coupling", "reservoir.delta"]])


def test_explicit_plots() -> None:
    sweep = sweep_from_dict(
        tiny_sweep(
            {"reservoir.tau_b": [0.1], "reservoir.coupling": [0.0], "reservoir.delta": [1.0]},
            plots=[
                ["reservoir.coupling", "reservoir.delta"],
                ["reservoir.tau_b", "reservoir.delta"],
            ],
        )
    )
    assert sweep.plots == (
        ("reservoir.coupling", "reservoir.delta"),
        ("reservoir.tau_b", "reservoir.delta"),
    )


def test_unreadable_sweep_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such sweep file"):
        load_sweep(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep\n")
    with pytest.raises(ConfigError, match="not a readable toml file"):
        load_sweep(bad)
    wrong = tmp_path / "s.yaml"
    wrong.write_text("sweep: {}\n")
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        load_sweep(wrong)
