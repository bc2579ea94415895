"""``qdm build``: circuits from a config to QPY (logical and ISA), and malformed configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qdm_qiskit.circuits import isa_violations, load_circuit
from qdm_qiskit.cli.main import cli
from qdm_qiskit.jobs import resolve_target

CONFIG = """
target = "fake:manila"

[transpile]
optimization_level = 1

[[circuits]]
name = "quddpm"
builder = "denoising_circuit"
[circuits.arguments]
num_data_qubits = 2
num_ancillas = 1
layers = 2
steps = 3
measure_data = true

[[circuits]]
name = "reservoir"
builder = "reservoir_circuit"
[circuits.arguments]
num_inputs = 2
num_ancillas = 1
trotter_steps = 2
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_build_writes_logical_and_isa_circuits(tmp_path: Path):
    config = tmp_path / "circuits.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    result = run("build", str(config), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "built 2 circuit(s) for fake:manila (optimization level 1)" in result.stdout
    assert "quddpm.isa-fake-FakeManilaV2" in result.stdout and "duration_us" in result.stdout
    backend = resolve_target("fake:manila")
    for name in ("quddpm", "reservoir"):
        logical, record = load_circuit(out / f"{name}.qpy")
        assert record["builder"] in ("denoising_circuit", "reservoir_circuit")
        isa, isa_record = load_circuit(out / f"{name}.isa-fake-FakeManilaV2.qpy")
        assert isa_violations(isa, backend) == []
        assert (
            isa_record["target"] == "fake:FakeManilaV2"
            and isa_record["transpile"]["optimization_level"] == 1
        )
        assert {p.name for p in isa.parameters} == {p.name for p in logical.parameters}
    again = run("build", str(config), "--out", str(out))
    assert "transpile cache: 2 hit(s), 0 miss(es)" in again.stdout


def test_target_and_level_options_override_the_config(tmp_path: Path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"circuits": [{"name": "a", "builder": "angle_encoding",
                                                "arguments": {"num_qubits": 2}}]}))  # fmt: skip
    result = run("build", str(config), "--out", str(tmp_path), "--target", "fake:fez",
                 "--optimization-level", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "for fake:fez (optimization level 3)" in result.stdout
    assert (tmp_path / "a.isa-fake-FakeFez.qpy").exists()
    no_target = run("build", str(config), "--out", str(tmp_path / "logical"))
    assert no_target.exit_code == 0 and "built 1 circuit(s) into" in no_target.stdout


BAD = {
    "unknown builder": ('[[circuits]]\nname = "a"\nbuilder = "denoiser"\n',
                        "unknown builder 'denoiser' (did you mean 'denoising_circuit'?)"),
    "negative qubits": ('[[circuits]]\nname = "a"\nbuilder = "angle_encoding"\n'
                        "[circuits.arguments]\nnum_qubits = -2\n",
                        "circuit 'a': angle_encoding: num_qubits must be an integer in [1, 1024]"),
    "more qubits than the target": ('target = "fake:manila"\n[[circuits]]\nname = "big"\n'
                                    'builder = "angle_encoding"\n[circuits.arguments]\n'
                                    "num_qubits = 7\n",
                                    "circuit 'big': needs 7 qubits but the target has 5"),
    "schedule outside [0, 1]": ('[[circuits]]\nname = "d"\nbuilder = "depolarizing_circuit"\n'
                                "[circuits.arguments]\nnum_qubits = 1\nstep = 1\n"
                                "schedule = { end = 1.5 }\n",
                                "schedule end must lie in [0, 1], got 1.5"),
    "unknown target": ('target = "fake:nowhere"\n[[circuits]]\nname = "a"\n'
                       'builder = "angle_encoding"\n[circuits.arguments]\nnum_qubits = 1\n',
                       "unknown fake backend 'nowhere'"),
    "broken TOML": ("[[circuits]\n", "not a readable toml file"),
    "string schedule": ('[[circuits]]\nname = "d"\nbuilder = "depolarizing_circuit"\n'
                        '[circuits.arguments]\nnum_qubits = 1\nstep = 1\nschedule = "linear"\n',
                        "schedule must be a NoiseSchedule"),
    "truthy string": ('[[circuits]]\nname = "a"\nbuilder = "amplitude_encoding"\n'
                      '[circuits.arguments]\nnum_qubits = 2\ncomplex_amplitudes = "no"\n',
                      "complex_amplitudes must be true or false, got 'no'"),
    "huge register": ('[[circuits]]\nname = "a"\nbuilder = "angle_encoding"\n'
                      "[circuits.arguments]\nnum_qubits = 1000000\n",
                      "num_qubits must be an integer in [1, 1024]"),
    "bad layout method": ('[transpile]\nlayout_method = "bogus"\n[[circuits]]\nname = "a"\n'
                          'builder = "angle_encoding"\n[circuits.arguments]\nnum_qubits = 1\n',
                          "layout_method must be one of"),
    "empty prefix": ('[[circuits]]\nname = "a"\nbuilder = "scrambling_layer"\n'
                     '[circuits.arguments]\nnum_qubits = 2\nprefix = ""\n',
                     "prefix must be a name"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_configs_give_one_error_line_and_no_files(tmp_path: Path, case: str):
    text, message = BAD[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "out"
    result = run("build", str(config), "--out", str(out))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), lines
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not list(out.glob("*.qpy")) if out.exists() else True


def test_a_bad_circuit_among_good_ones_writes_nothing(tmp_path: Path):
    config = tmp_path / "mixed.toml"
    config.write_text(CONFIG + '\n[[circuits]]\nname = "wide"\nbuilder = "angle_encoding"\n'
                      "[circuits.arguments]\nnum_qubits = 9\n")  # fmt: skip
    out = tmp_path / "out"
    result = run("build", str(config), "--out", str(out))
    assert result.exit_code == 2
    assert not out.exists() or not list(out.rglob("*.qpy"))  # cache entries included


def test_yaml_config_is_refused(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("circuits: []\n")
    result = run("build", str(config))
    assert result.exit_code == 2 and "must be a .toml or .json file" in result.stderr
