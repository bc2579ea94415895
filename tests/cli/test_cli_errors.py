"""Tests of the ``qdm`` error policy: one ``Error:`` line on stderr, exit 2, nothing written."""

from __future__ import annotations

import inspect
import zipfile
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner, Result

import qdm_qiskit
from qdm_qiskit.cli.main import cli
from qdm_qiskit.data.format import JetDataset, save_jets
from qdm_qiskit.errors import DataError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_runner() -> CliRunner:
    """A runner whose ``result.stderr`` holds stderr alone (click 8.1 needs ``mix_stderr``)."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # click < 8.2
    return CliRunner()  # click >= 8.2: stderr is always captured separately


def run(*args: str) -> Result:
    return make_runner().invoke(cli, list(args), prog_name="qdm")


def make_jets(n_jets: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.zeros((n_jets, 6, 4))
    for jet in range(n_jets):
        n = int(rng.integers(3, 7))
        X[jet, :n, 0] = np.sort(rng.uniform(1.0, 200.0, n))[::-1]
        X[jet, :n, 1] = rng.normal(0.0, 0.2, n)
        X[jet, :n, 2] = rng.normal(1.0, 0.2, n)
        X[jet, :n, 3] = rng.choice([22, 211, -211, 2112], n)
    y = np.arange(n_jets) % 2
    return X, y


def assert_one_error_line(result: Result, *fragments: str) -> str:
    """Exit 2, one ``Error:`` line on stderr containing ``fragments``, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    stderr_lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(stderr_lines) == 1, stderr_lines
    (line,) = stderr_lines
    assert line.startswith("Error: ")
    assert "internal error" not in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert "Traceback" not in result.output
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return line


# --- bad input files for `qdm data inspect` -------------------------------------------------


def _truncated(path: Path) -> str:
    X, y = make_jets()
    save_jets(path, JetDataset(X, y))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return "corrupt or truncated"


def _corrupt(path: Path) -> str:
    path.write_bytes(np.random.default_rng(1).bytes(400))
    return "not a readable .npz file"


def _wrong_shape(path: Path) -> str:
    X, y = make_jets()
    np.savez_compressed(path, X=X[:, :, :3], y=y.astype(float))
    return "X has shape (6, 6, 3)"


def _nan(path: Path) -> str:
    X, y = make_jets()
    X[1, 0, 2] = np.nan
    np.savez_compressed(path, X=X, y=y.astype(float))
    return "NaN/inf"


def _labels(path: Path) -> str:
    X, y = make_jets()
    y[2] = 2
    y[3] = -1
    np.savez_compressed(path, X=X, y=y.astype(float))
    return "labels must be 0 (gluon) or 1 (quark), found -1.0, 2.0"


def _missing_y(path: Path) -> str:
    X, _ = make_jets()
    np.savez_compressed(path, X=X)
    return "missing array(s) y"


def _nonexistent(path: Path) -> str:
    return "no such file"


def _metadata_not_object(path: Path) -> str:
    X, y = make_jets()
    np.savez(path, X=X, y=y, metadata=np.array("[1, 2]"))
    return "metadata must be a JSON object"


def _corrupt_deflate(path: Path) -> str:
    X, y = make_jets()
    save_jets(path, JetDataset(X, y))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("X.npy")
    data[info.header_offset + 30 + len("X.npy") + 5] = 0xFF
    path.write_bytes(bytes(data))
    return "not a readable .npz file"


BAD_FILES = {
    "truncated": _truncated,
    "corrupt": _corrupt,
    "wrong_shape": _wrong_shape,
    "nan": _nan,
    "labels": _labels,
    "missing_y": _missing_y,
    "nonexistent": _nonexistent,
    "metadata_not_object": _metadata_not_object,
    "corrupt_deflate": _corrupt_deflate,
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_inspect_bad_file(tmp_path: Path, kind: str) -> None:
    data_file = tmp_path / f"{kind}.npz"
    problem = BAD_FILES[kind](data_file)
    before = {p.name for p in tmp_path.iterdir()}
    png = tmp_path / "preview.png"

    result = run("data", "inspect", str(data_file), "--png", str(png))

    assert_one_error_line(result, f"Error: {data_file}: ", problem)
    assert not png.exists()
    assert {p.name for p in tmp_path.iterdir()} == before  # no probe/temp files either


def test_inspect_bad_second_file_names_it(tmp_path: Path) -> None:
    X, y = make_jets()
    good = save_jets(tmp_path / "good.npz", JetDataset(X, y))
    bad = tmp_path / "bad.npz"
    _nan(bad)
    png = tmp_path / "preview.png"
    result = run("data", "inspect", str(good), str(bad), "--png", str(png))
    line = assert_one_error_line(result, f"Error: {bad}: ", "NaN/inf")
    assert str(good) not in line
    assert not png.exists()


def test_inspect_png_path_is_directory(tmp_path: Path) -> None:
    X, y = make_jets()
    good = save_jets(tmp_path / "good.npz", JetDataset(X, y))
    png_dir = tmp_path / "out.png"
    png_dir.mkdir()
    result = run("data", "inspect", str(good), "--png", str(png_dir))
    _usage_error(result, "--png")
    assert "is a directory" in result.stderr
    assert list(png_dir.iterdir()) == []


# --- `qdm data generate` argument and output errors -----------------------------------------


def _usage_error(result: Result, option: str) -> None:
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stdout == ""
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1, result.stderr
    assert option in error_lines[0]
    assert "Usage:" in result.stderr


def test_generate_negative_jets(tmp_path: Path) -> None:
    out = tmp_path / "x.npz"
    result = run("data", "generate", "--jets", "-5", "--seed", "1", "--out", str(out))
    _usage_error(result, "--jets")
    assert "-5" in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_generate_zero_jets(tmp_path: Path) -> None:
    out = tmp_path / "x.npz"
    result = run("data", "generate", "--jets", "0", "--seed", "1", "--out", str(out))
    _usage_error(result, "--jets")
    assert not out.exists()


def test_generate_negative_seed(tmp_path: Path) -> None:
    out = tmp_path / "x.npz"
    result = run("data", "generate", "--jets", "4", "--seed", "-1", "--out", str(out))
    _usage_error(result, "--seed")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_generate_missing_out(tmp_path: Path) -> None:
    result = run("data", "generate", "--jets", "4", "--seed", "1")
    _usage_error(result, "--out")


def test_generate_unwritable_out(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("I am a file")
    out = afile / "x.npz"
    result = run("data", "generate", "--jets", "4", "--seed", "1", "--out", str(out))
    assert_one_error_line(result, f"Error: {out}: ", "cannot write here")
    assert afile.read_text() == "I am a file"
    assert {p.name for p in tmp_path.iterdir()} == {"afile"}


def test_generate_out_is_directory(tmp_path: Path) -> None:
    out = tmp_path / "dir.npz"
    out.mkdir()
    result = run("data", "generate", "--jets", "4", "--seed", "1", "--out", str(out))
    _usage_error(result, "--out")
    assert "is a directory" in result.stderr
    assert list(out.iterdir()) == []


# --- --debug, --version, --help -------------------------------------------------------------


def test_debug_shows_exception(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.npz"
    _corrupt(bad)
    png = tmp_path / "preview.png"
    result = run("--debug", "data", "inspect", str(bad), "--png", str(png))
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError)
    assert str(bad) in str(result.exception)
    assert result.exc_info is not None
    assert not png.exists()


def test_debug_off_hides_exception(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.npz"
    _corrupt(bad)
    result = run("data", "inspect", str(bad), "--png", str(tmp_path / "p.png"))
    assert not isinstance(result.exception, DataError)
    assert_one_error_line(result, str(bad))


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"qdm, version {qdm_qiskit.__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["data", "--help"],
        ["data", "generate", "--help"],
        ["data", "inspect", "--help"],
    ],
)
def test_help(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: qdm")
    assert result.stderr == ""
    if args[0] == "data" and len(args) == 3:
        assert "Example" in result.stdout
    if args == ["data", "generate", "--help"]:
        for option in ("--jets", "--seed", "--out"):
            assert option in result.stdout
    if args == ["data", "--help"]:
        assert "generate" in result.stdout
        assert "inspect" in result.stdout


def test_cli_registers_data_group() -> None:
    assert isinstance(cli, click.Group)
    assert set(cli.commands["data"].commands) >= {"generate", "inspect"}


# --- a successful inspect -------------------------------------------------------------------


def test_inspect_valid_file(tmp_path: Path) -> None:
    X, y = make_jets(n_jets=6)
    data_file = save_jets(tmp_path / "small.npz", JetDataset(X, y, {"command": "made-by-test"}))
    png = tmp_path / "preview.png"

    result = run("data", "inspect", str(data_file), "--png", str(png))

    assert result.exit_code == 0, (result.output, result.exception)
    assert "Error" not in result.stderr
    out = result.stdout
    assert f"file: {data_file} (6 jets)" in out
    assert "made by: made-by-test" in out
    assert "max particles per jet (padding width): 6" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["quark"][1] == "3"
    assert rows["gluon"][1] == "3"
    assert rows["all"][1] == "6"
    assert "ROC AUC" in out
    assert f"image preview: {png}" in out
    assert png.read_bytes()[:8] == PNG_MAGIC
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_inspect_single_class_file_reports_nan_auc(tmp_path: Path) -> None:
    X, y = make_jets()
    path = save_jets(tmp_path / "quarks.npz", JetDataset(X, np.ones_like(y)))
    result = run("data", "inspect", str(path), "--png", str(tmp_path / "p.png"))
    assert result.exit_code == 0, result.output
    assert "multiplicity nan" in result.stdout
    assert (tmp_path / "p.png").exists()


def test_inspect_npy_file(tmp_path: Path) -> None:
    X, _ = make_jets()
    path = tmp_path / "jets.npy"
    np.save(path, X)
    png = tmp_path / "p.png"
    result = run("data", "inspect", str(path), "--png", str(png))
    assert_one_error_line(result, str(path), "single .npy array")
    assert not png.exists()


def test_inspect_unknown_pid_names_the_file(tmp_path: Path) -> None:
    X, y = make_jets()
    X[0, 0, 3] = 999999
    path = save_jets(tmp_path / "exotic.npz", JetDataset(X, y))
    png = tmp_path / "p.png"
    result = run("data", "inspect", str(path), "--png", str(png))
    assert_one_error_line(result, str(path), "999999")
    assert not png.exists()


def test_generate_inconsistent_pthat_window_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "dir" / "x.npz"
    result = run(
        "data", "generate", "--jets", "2", "--seed", "0", "--out", str(out),
        "--pthat-min", "800", "--pthat-max", "700",
    )  # fmt: skip
    assert_one_error_line(result, "pthat_min_gev must be below pthat_max_gev")
    assert not (tmp_path / "sub").exists()
