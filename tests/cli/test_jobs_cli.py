"""``qdm backends``, ``submit``, ``status``, ``collect`` and ``cancel`` on local targets."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from qiskit_ibm_runtime.fake_provider import FakeFez

import qdm_qiskit
from qdm_qiskit.cli.main import cli
from qdm_qiskit.jobs.ledger import Ledger
from qdm_qiskit.results.store import parquet_provenance

SHOTS = 40
#: Rows of values.npy for angle_encoding(2): RY(x[0]) on qubit 0, RY(x[1]) on qubit 1.
VALUES = np.array([[0.0, np.pi], [np.pi, 0.0], [0.0, 0.0]])
#: The one outcome of each row on an ideal simulator (bit 0 is the rightmost character).
IDEAL_BITSTRING = {0: "10", 1: "01", 2: "00"}

SAMPLER = f"""
name = "tiny"
primitive = "sampler"
seed = 3
shots = {SHOTS}

[transpile]
optimization_level = 1

[[circuits]]
name = "enc"
builder = "angle_encoding"
arguments = {{ num_qubits = 2 }}
values = "values.npy"
"""

RANDOM_SAMPLER = """
name = "random"
primitive = "sampler"
seed = SEED
shots = 8

[[circuits]]
name = "hea"
builder = "hardware_efficient_ansatz"
arguments = { num_qubits = 2, layers = 1 }
bindings = 3
"""

ESTIMATOR = """
name = "est"
primitive = "estimator"
seed = 5
precision = 0.05

[[circuits]]
name = "enc"
builder = "angle_encoding"
arguments = { num_qubits = 2 }
values = "values.npy"
observables = ["IZ", "ZI"]
"""


def make_runner() -> CliRunner:
    """A runner whose ``result.stderr`` holds stderr alone (click 8.1 needs ``mix_stderr``)."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # click < 8.2
    return CliRunner()


def run(*args: str) -> Result:
    return make_runner().invoke(cli, list(args), prog_name="qdm")


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def workspace(tmp_path: Path) -> list[str]:
    return ["--jobs-dir", str(tmp_path / "jobs"), "--results-dir", str(tmp_path / "results")]


def experiment(tmp_path: Path, text: str = SAMPLER, name: str = "exp.toml") -> Path:
    np.save(tmp_path / "values.npy", VALUES)
    path = tmp_path / name
    path.write_text(text)
    return path


def submitted_run_id(result: Result) -> str:
    match = re.search(r"^run (\S+): (\d+) job\(s\) submitted to (\S+)$", result.stdout, re.M)
    assert match, result.stdout
    return match.group(1)


def submit(tmp_path: Path, *options: str, path: Path | None = None) -> str:
    path = path or experiment(tmp_path)
    return submitted_run_id(ok("submit", str(path), *options, *workspace(tmp_path)))


def table_rows(text: str, key: str) -> dict[str, list[str]]:
    """Whitespace-split rows of a printed table, keyed by their first field."""
    rows = {}
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0].startswith(key):
            rows[fields[0]] = fields
    return rows


def job_table(stdout: str) -> pd.DataFrame:
    """The plan's per-job table (header line, index line ``job``, then one row per job)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["job"])
    header = lines[start - 1].split()
    rows = []
    for line in lines[start + 1 :]:
        fields = line.split()
        if not fields or not fields[0].isdigit():
            break
        rows.append(dict(zip(["job", *header], fields, strict=True)))
    return pd.DataFrame(rows)


def qpu_seconds(stdout: str) -> str:
    match = re.search(r"^estimated QPU time: (.+)$", stdout, re.M)
    assert match, stdout
    return match.group(1)


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


# --- qdm backends ---------------------------------------------------------------------------


def test_backends_lists_local_targets_with_their_width() -> None:
    result = ok("backends")
    rows = table_rows(result.stdout, "")
    assert rows["aer"][1] == "-"
    assert rows["fake:FakeManilaV2"][1] == "5"
    assert rows["fake:FakeFez"][1] == "156"
    assert "cz" in rows["fake:FakeFez"][2].split(",")
    assert not any(name.startswith("aer:") for name in rows)
    assert "ibm:<backend>" in result.stdout


def test_backends_all_adds_an_aer_row_per_fake_device() -> None:
    rows = table_rows(ok("backends", "--all").stdout, "")
    fakes = {name.removeprefix("fake:") for name in rows if name.startswith("fake:")}
    aers = {name.removeprefix("aer:") for name in rows if name.startswith("aer:")}
    assert fakes and aers == fakes
    assert rows["aer:FakeManilaV2"][1] == "5"
    assert rows["aer:FakeFez"][1] == "156"


# --- qdm submit --dry-run -------------------------------------------------------------------


def test_dry_run_on_aer_prints_the_plan_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = experiment(tmp_path)
    monkeypatch.chdir(tmp_path)  # default --jobs-dir/--results-dir: ./jobs and ./results
    before = files_under(tmp_path)

    result = ok("submit", path.name, "--target", "aer", "--dry-run")

    out = result.stdout
    assert "plan: 1 circuit(s), 3 binding(s), 1 PUB(s), 1 job(s), sampler on aer" in out
    assert f"{SHOTS} shots per binding" in out
    jobs = job_table(out)
    assert len(jobs) == 1
    assert int(jobs.loc[0, "bindings"]) == len(VALUES)
    assert int(jobs.loc[0, "shots"]) == SHOTS
    assert int(jobs.loc[0, "executions"]) == len(VALUES) * SHOTS
    assert qpu_seconds(out).startswith("n/a")  # an ideal simulator has no QPU time
    assert "nothing submitted, nothing written" in out
    assert files_under(tmp_path) == before
    assert not (tmp_path / "jobs").exists() and not (tmp_path / "results").exists()


def test_dry_run_on_fake_fez_estimates_qpu_time_and_simulates_only_used_qubits(
    tmp_path: Path,
) -> None:
    path = experiment(tmp_path)
    before = files_under(tmp_path)
    shots = 4000

    result = ok("submit", str(path), "--target", "fake:fez", "--shots", str(shots),
                "--dry-run", *workspace(tmp_path))  # fmt: skip

    out = result.stdout
    assert "sampler on fake:FakeFez" in out
    assert "note: simulating 2 of 156 device qubits" in out
    jobs = job_table(out)
    executions = int(jobs.loc[0, "executions"])
    assert executions == len(VALUES) * shots
    seconds = float(qpu_seconds(out).removesuffix(" s"))
    # At least one repetition delay per execution, and the circuit itself is microseconds.
    rep_delay = FakeFez().default_rep_delay
    assert executions * rep_delay <= seconds + 0.05
    assert seconds <= executions * (rep_delay + 50e-6) + 0.05
    assert float(jobs.loc[0, "qpu_seconds"]) == pytest.approx(seconds, abs=0.05)
    assert files_under(tmp_path) == before


# --- submit, status, collect ---------------------------------------------------------------


def test_submit_status_collect_on_aer(tmp_path: Path) -> None:
    run_id = submit(tmp_path, "--target", "aer")
    results = tmp_path / "results" / run_id
    assert (results / "run.json").exists()
    assert not (results / "counts.parquet").exists()  # not collected yet

    listing = ok("status", *workspace(tmp_path)).stdout
    row = table_rows(listing, run_id)[run_id]
    assert row[1:5] == ["tiny", "sampler", "aer", "none"]
    assert " ".join(row[-2:]) == "in progress"

    detail = ok("status", run_id[:17], *workspace(tmp_path)).stdout
    assert f"run {run_id} (tiny): sampler on aer, mitigation none, seed 3" in detail
    job_row = table_rows(detail, "0")["0"]
    assert "SUBMITTED" in job_row
    history = detail.split("history:", 1)[1]
    assert "CREATED" in history and "SUBMITTED" in history

    collected = ok("collect", run_id, *workspace(tmp_path)).stdout
    assert f"run {run_id}: 1 job(s) collected; run complete" in collected
    assert {"counts.parquet", "run.json", "parameters.parquet"} <= files_under(results)
    assert list((results / "raw").glob("*.json"))
    assert list((results / "parts").glob("*.counts.parquet"))

    counts = pd.read_parquet(results / "counts.parquet")
    assert sorted(counts["binding"].unique()) == [0, 1, 2]
    for binding, bitstring in IDEAL_BITSTRING.items():
        rows = counts[counts["binding"] == binding]
        assert rows["bitstring"].tolist() == [bitstring]  # ideal: one outcome, every shot
        assert rows["count"].tolist() == [SHOTS]
    assert parquet_provenance(results / "counts.parquet")["run_id"] == run_id

    detail = ok("status", run_id, *workspace(tmp_path)).stdout
    assert "COLLECTED" in table_rows(detail, "0")["0"]
    assert "COLLECTED" in detail.split("history:", 1)[1]
    row = table_rows(ok("status", *workspace(tmp_path)).stdout, run_id)[run_id]
    assert row[-1] == "complete" and row[-3:-1] == ["1", "0"]

    again = ok("collect", run_id, *workspace(tmp_path)).stdout
    assert "0 job(s) collected" in again
    everything = ok("collect", *workspace(tmp_path)).stdout
    assert "every run is complete" in everything
    pd.testing.assert_frame_equal(pd.read_parquet(results / "counts.parquet"), counts)


def test_collect_without_a_run_collects_every_open_run(tmp_path: Path) -> None:
    first = submit(tmp_path, "--target", "aer")
    second = submit(tmp_path, "--target", "aer", "--seed", "4")
    out = ok("collect", *workspace(tmp_path)).stdout
    for run_id in (first, second):
        assert f"run {run_id}: 1 job(s) collected; run complete" in out
        assert (tmp_path / "results" / run_id / "counts.parquet").exists()


def test_submit_with_collect_flag(tmp_path: Path) -> None:
    path = experiment(tmp_path)
    result = ok("submit", str(path), "--target", "aer", "--collect", *workspace(tmp_path))
    run_id = submitted_run_id(result)
    assert f"run {run_id}: 1 job(s) collected; run complete" in result.stdout
    assert "collect with:" not in result.stdout
    counts = pd.read_parquet(tmp_path / "results" / run_id / "counts.parquet")
    assert counts.groupby("binding")["count"].sum().tolist() == [SHOTS] * len(VALUES)


def test_estimator_with_readout_mitigation_on_fake_manila(tmp_path: Path) -> None:
    path = experiment(tmp_path, ESTIMATOR)
    result = ok("submit", str(path), "--target", "fake:manila", "--mitigation", "readout",
                "--collect", *workspace(tmp_path))  # fmt: skip
    run_id = submitted_run_id(result)
    assert "estimator on fake:FakeManilaV2, mitigation readout" in result.stdout
    assert "run complete" in result.stdout

    results = tmp_path / "results" / run_id
    info = json.loads((results / "run.json").read_text())
    assert info["mitigation"] == "readout" and info["target"] == "fake:FakeManilaV2"
    assert info["options"]["resilience"]["measure_mitigation"] is True
    frame = pd.read_parquet(results / "expectations.parquet")
    assert len(frame) == len(VALUES) * 2
    # <Z> on qubit q is cos(x[q]); "IZ" is qubit 0, "ZI" qubit 1 (Qiskit labels, little-endian).
    for _, row in frame.iterrows():
        qubit = 0 if row["observable"] == "IZ" else 1
        expected = np.cos(VALUES[row["binding"], qubit])
        assert row["value"] == pytest.approx(expected, abs=0.25), row.to_dict()
        assert 0 < row["stderr"] < 0.25


# --- provenance -----------------------------------------------------------------------------


def test_run_json_records_seed_target_mitigation_version_and_config(tmp_path: Path) -> None:
    run_id = submit(tmp_path, "--target", "aer", "--seed", "11", "--mitigation", "readout")
    info = json.loads((tmp_path / "results" / run_id / "run.json").read_text())
    assert info["run_id"] == run_id
    assert info["seed"] == 11  # the command-line override, not the file's 3
    assert info["target"] == "aer"
    assert info["mitigation"] == "readout"
    assert info["qdm_qiskit_version"] == qdm_qiskit.__version__
    assert info["config"]["name"] == "tiny"
    assert info["config"]["shots"] == SHOTS
    assert info["config"]["source"].endswith("exp.toml")
    assert "seed 11" in ok("status", run_id, *workspace(tmp_path)).stdout


def test_run_json_config_records_the_circuits_as_data(tmp_path: Path) -> None:
    run_id = submit(tmp_path, "--target", "aer")
    config = json.loads((tmp_path / "results" / run_id / "run.json").read_text())["config"]
    (circuit,) = config["circuits"]
    assert isinstance(circuit, dict), circuit  # not a repr string: the config can be re-run
    assert circuit["builder"] == "angle_encoding"
    assert circuit["arguments"] == {"num_qubits": 2}
    assert circuit["values"] == "values.npy"
    assert config["transpile"]["optimization_level"] == 1


def test_seed_option_acts_like_the_seed_in_the_file(tmp_path: Path) -> None:
    """``--seed`` overrides the config's seed, which draws the random parameter values."""

    def parameters(run_id: str) -> np.ndarray:
        frame = pd.read_parquet(tmp_path / "results" / run_id / "parameters.parquet")
        return frame.sort_values(["binding", "parameter"])["value"].to_numpy()

    file_seed_3 = experiment(tmp_path, RANDOM_SAMPLER.replace("SEED", "3"), "seed3.toml")
    file_seed_9 = experiment(tmp_path, RANDOM_SAMPLER.replace("SEED", "9"), "seed9.toml")
    from_file = submit(tmp_path, "--target", "aer", path=file_seed_9)
    overridden = submit(tmp_path, "--target", "aer", "--seed", "9", path=file_seed_3)
    unchanged = submit(tmp_path, "--target", "aer", path=file_seed_3)

    assert not np.allclose(parameters(from_file), parameters(unchanged))  # seeds matter
    np.testing.assert_array_equal(parameters(overridden), parameters(from_file))


# --- bad input: one error line, exit 2, nothing written -------------------------------------


def assert_one_error_line(result: Result, *fragments: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith("Error: ") and "internal error" not in line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert "Traceback" not in result.output
    return line


def assert_nothing_written(tmp_path: Path) -> None:
    assert not (tmp_path / "jobs" / "ledger.sqlite").exists()
    assert not (tmp_path / "jobs").exists()
    assert not (tmp_path / "results").exists()


BAD_SUBMISSIONS = {
    "unknown target": (SAMPLER, ["--target", "qpu:fez"],
                       ["unknown target 'qpu:fez'", "aer", "fake:<fake>", "ibm:<backend>"]),
    "unknown fake name": (SAMPLER, ["--target", "fake:Nowhere"],
                          ["unknown fake backend 'Nowhere'"]),
    "circuit wider than the target": (
        SAMPLER.replace('values = "values.npy"', "bindings = 2").replace(
            "num_qubits = 2", "num_qubits = 6"),
        ["--target", "fake:FakeManilaV2"], ["'enc'", "6 qubits", "5"]),
    "unknown experiment field": ("shotz = 5\n" + SAMPLER, ["--target", "aer"],
                                 ["unknown option 'shotz'", "shots"]),
    "typo in a circuit field": (SAMPLER.replace("builder =", "bulider ="), ["--target", "aer"],
                                ["circuits[0]", "'bulider'", "builder"]),
    "sampler with zne": (SAMPLER, ["--target", "fake:FakeManilaV2", "--mitigation", "zne"],
                         ["'zne'", "estimator"]),
    "aer estimator with zne": (ESTIMATOR, ["--target", "aer", "--mitigation", "zne"],
                               ["'zne'", "fake:<backend>"]),
    "no target anywhere": (SAMPLER, [], ["no target", "--target"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_SUBMISSIONS))
def test_bad_submission_gives_one_error_line_and_writes_nothing(tmp_path: Path, case: str) -> None:
    text, options, fragments = BAD_SUBMISSIONS[case]
    path = experiment(tmp_path, text)
    result = run("submit", str(path), *options, *workspace(tmp_path))
    assert_one_error_line(result, *fragments)
    assert_nothing_written(tmp_path)


def test_missing_experiment_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    result = run("submit", str(missing), "--target", "aer", *workspace(tmp_path))
    assert_one_error_line(result, str(missing), "no such experiment file")
    assert_nothing_written(tmp_path)


def test_ibm_target_without_credentials_says_how_to_set_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qiskit_ibm_runtime.accounts import management

    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_URL", "QISKIT_IBM_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    # The saved-account path is fixed when qiskit_ibm_runtime is imported: point it here too.
    account_file = home / ".qiskit" / "qiskit-ibm.json"
    monkeypatch.setattr(management, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", str(account_file))
    work = tmp_path / "work"
    work.mkdir()
    path = experiment(work)

    result = run("submit", str(path), "--target", "ibm:ibm_fez", *workspace(work))

    assert_one_error_line(result, "no IBM Quantum credentials", "QISKIT_IBM_TOKEN")
    assert_nothing_written(work)
    if account_file.exists():  # the Runtime may create an empty account file; never a token
        assert json.loads(account_file.read_text()) == {}


def test_status_of_an_unknown_run(tmp_path: Path) -> None:
    Ledger(tmp_path / "jobs" / "ledger.sqlite").close()
    before = files_under(tmp_path)
    result = run("status", "NOPE", *workspace(tmp_path))
    assert_one_error_line(result, "no run 'NOPE'", "qdm status")
    assert files_under(tmp_path) == before


def test_status_and_collect_without_a_ledger(tmp_path: Path) -> None:
    status = ok("status", *workspace(tmp_path))
    assert "no runs yet" in status.stdout
    result = run("collect", *workspace(tmp_path))
    assert_one_error_line(result, "no ledger", "nothing was submitted")
    assert_nothing_written(tmp_path)


def test_cancel_an_unknown_run_in_an_empty_workspace(tmp_path: Path) -> None:
    result = run("cancel", "NOPE", *workspace(tmp_path))
    assert_one_error_line(result, "'NOPE'")
    assert_nothing_written(tmp_path)


def test_cancel_an_unknown_run_next_to_a_real_one(tmp_path: Path) -> None:
    run_id = submit(tmp_path, "--target", "aer")
    before = files_under(tmp_path)
    result = run("cancel", "NOPE", *workspace(tmp_path))
    assert_one_error_line(result, "no run 'NOPE'")
    assert files_under(tmp_path) == before
    row = table_rows(ok("status", *workspace(tmp_path)).stdout, run_id)[run_id]
    assert " ".join(row[-2:]) == "in progress"  # the real run is untouched


# --- cancel a finished run ------------------------------------------------------------------


def test_cancel_a_collected_run_reports_its_jobs_and_keeps_the_results(tmp_path: Path) -> None:
    run_id = submit(tmp_path, "--target", "aer", "--collect")
    results = tmp_path / "results" / run_id
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}

    result = ok("cancel", run_id, *workspace(tmp_path))

    assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == before
    assert re.search(r"job 0\b.*(already|finished|collected)", result.stdout), result.stdout


def test_cancel_a_collected_run_leaves_it_complete(tmp_path: Path) -> None:
    run_id = submit(tmp_path, "--target", "aer", "--collect")
    ok("cancel", run_id, *workspace(tmp_path))
    row = table_rows(ok("status", *workspace(tmp_path)).stdout, run_id)[run_id]
    assert row[-1] == "complete", row
    assert "COLLECTED" in table_rows(ok("status", run_id, *workspace(tmp_path)).stdout, "0")["0"]
