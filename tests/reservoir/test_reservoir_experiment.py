"""Reservoir experiments end to end: the trivial case, scores, targets, ledger, artifacts."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs.manager import Workspace, collect_run
from qdm_qiskit.reservoir import (
    EngineConfig,
    InputsConfig,
    ReservoirConfig,
    ReservoirRunConfig,
    combine_reservoir,
    input_states,
    run_reservoir,
    submit_reservoir,
    write_reservoir,
)
from qdm_qiskit.results.metrics import wootters_distance, wootters_rows
from qdm_qiskit.results.store import ResultStore


def bhattacharyya_angle(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise ``arccos sum sqrt(p q)`` of normalised rows, the textbook formula."""
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    return np.arccos(np.clip(np.sum(np.sqrt(p * q), axis=1), -1.0, 1.0))


# --- the trivial case (seed 000's must-show) ------------------------------------------------

TALK_INPUTS = InputsConfig(source="histogram", num_qubits=4)


@pytest.mark.parametrize(
    "engine",
    [EngineConfig(name="exact"), EngineConfig(name="trotter", trotter_steps=6, order=2),
     EngineConfig(name="trotter", trotter_steps=5, order=1)],
    ids=["exact", "trotter2", "trotter1"],
)  # fmt: skip
@pytest.mark.parametrize(
    "reservoir",
    [ReservoirConfig(coupling=0.0, t_f=15.0, tau_b=15.0),
     ReservoirConfig(coupling=0.7, t_f=15.0, tau_b=15.0, backward="full"),
     ReservoirConfig(coupling=1.9, t_f=4.0, tau_b=4.0, backward="full", ancilla_state="plus")],
    ids=["lambda0", "full", "full-plus"],
)  # fmt: skip
def test_trivial_case_gives_wootters_zero(reservoir, engine):
    result = run_reservoir(ReservoirRunConfig(TALK_INPUTS, reservoir, engine))
    metrics = result.metrics
    assert metrics["wootters"] < 1e-9
    assert metrics["wootters_max"] < 1e-9
    assert metrics["wootters_ensemble"] < 1e-9
    assert metrics["fidelity"] == pytest.approx(1.0, abs=1e-9)
    assert metrics["fidelity_min"] == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(result.outputs, result.inputs, rtol=0, atol=1e-10)
    assert result.run_ids == ()


def test_talk_setting_does_not_reconstruct_the_input():
    # lambda = 0.7, tau_b = 0.1 << t_f = 15: the input is far from recovered
    result = run_reservoir(ReservoirRunConfig(inputs=TALK_INPUTS))
    assert result.metrics["wootters"] > 0.1
    assert result.metrics["fidelity"] < 0.9


# --- the scores -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exact_result():
    config = ReservoirRunConfig(
        InputsConfig(source="gaussian", num_qubits=3, count=7, seed=2),
        ReservoirConfig(num_ancillas=2, coupling=0.7, t_f=1.5, tau_b=0.6),
        EngineConfig(name="exact"),
    )
    return run_reservoir(config)


def test_metrics_are_the_wootters_distances_of_the_distributions(exact_result):
    result = exact_result
    own = bhattacharyya_angle(result.inputs, result.outputs)
    metrics = result.metrics
    assert metrics["wootters"] == pytest.approx(own.mean(), abs=1e-12)
    assert metrics["wootters_max"] == pytest.approx(own.max(), abs=1e-12)
    ensemble = bhattacharyya_angle(
        result.inputs.mean(axis=0, keepdims=True), result.outputs.mean(axis=0, keepdims=True)
    )[0]
    assert metrics["wootters_ensemble"] == pytest.approx(ensemble, abs=1e-12)
    assert metrics["fidelity"] == pytest.approx(result.fidelities.mean(), abs=1e-15)
    assert metrics["fidelity_min"] == pytest.approx(result.fidelities.min(), abs=1e-15)
    assert metrics["states"] == 7
    assert metrics["seconds"] >= 0
    assert set(metrics) == {
        "wootters", "wootters_max", "wootters_ensemble", "fidelity", "fidelity_min",
        "states", "seconds",
    }  # fmt: skip
    # the ensemble distance is smaller than the mean per-state one here (averaging helps)
    assert 0 < metrics["wootters_ensemble"] < metrics["wootters"]


def test_result_holds_the_input_distributions(exact_result):
    result = exact_result
    expected = input_states(result.config.inputs).distributions
    np.testing.assert_allclose(result.inputs, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(result.outputs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert result.outputs.shape == (7, 8)
    assert np.all((result.fidelities > 0) & (result.fidelities <= 1 + 1e-12))


def test_per_state_frame(exact_result):
    frame = exact_result.per_state
    assert list(frame.columns) == ["state", "wootters", "fidelity"]
    assert frame["state"].tolist() == list(range(7))
    own = bhattacharyya_angle(exact_result.inputs, exact_result.outputs)
    np.testing.assert_allclose(frame["wootters"], own, rtol=0, atol=1e-12)
    np.testing.assert_allclose(frame["fidelity"], exact_result.fidelities)


# --- wootters_rows --------------------------------------------------------------------------


def random_rows(k: int, d: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(d), size=k)


def test_wootters_rows_is_the_bhattacharyya_angle():
    p, q = random_rows(50, 8, seed=1), random_rows(50, 8, seed=2)
    distances = wootters_rows(p, q)
    assert distances.shape == (50,)
    np.testing.assert_allclose(distances, bhattacharyya_angle(p, q), rtol=0, atol=1e-12)
    for k in range(3):
        assert wootters_distance(p[k], q[k]) == pytest.approx(distances[k], abs=1e-15)


def test_wootters_rows_normalises_each_row():
    p, q = random_rows(5, 4, seed=3), random_rows(5, 4, seed=4)
    scaled = wootters_rows(p * np.arange(1, 6)[:, None], q * 7.5)
    np.testing.assert_allclose(scaled, wootters_rows(p, q), rtol=0, atol=1e-14)


def test_wootters_rows_is_zero_for_identical_distributions_despite_round_off():
    p = random_rows(200, 16, seed=5)
    # the same distributions, rounded differently: a partial-sum round trip and a rescaling
    q = np.diff(np.concatenate([np.zeros((200, 1)), np.cumsum(p, axis=1)], axis=1), axis=1)
    assert np.any(q != p)
    assert wootters_rows(p, q).max() < 1e-12
    assert wootters_rows(p, p * 3.0).max() < 1e-12
    assert wootters_rows(p, p).max() == 0.0


def test_wootters_rows_is_symmetric():
    p, q = random_rows(30, 8, seed=6), random_rows(30, 8, seed=7)
    np.testing.assert_array_equal(wootters_rows(p, q), wootters_rows(q, p))


def test_wootters_rows_is_half_pi_for_disjoint_supports():
    p = np.array([[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    q = np.array([[0.0, 0.0, 0.3, 0.7], [0.0, 0.2, 0.2, 0.6]])
    np.testing.assert_allclose(wootters_rows(p, q), np.pi / 2, rtol=0, atol=1e-15)


def test_wootters_rows_triangle_inequality():
    p, q, r = (random_rows(40, 6, seed=s) for s in (8, 9, 10))
    assert np.all(wootters_rows(p, r) <= wootters_rows(p, q) + wootters_rows(q, r) + 1e-12)


# --- a local target -------------------------------------------------------------------------

SHOTS = 4000
AER_INPUTS = InputsConfig(source="exponential", num_qubits=3, count=6, seed=1)
AER_RESERVOIR = ReservoirConfig(num_ancillas=1, coupling=0.7, t_f=1.0, tau_b=0.5)
AER_ENGINE = EngineConfig(name="aer", trotter_steps=16, order=2, shots=SHOTS, seed=3)
AER_CONFIG = ReservoirRunConfig(AER_INPUTS, AER_RESERVOIR, AER_ENGINE)


def shot_bound(d: int, shots: int, tail: float = 1e-6) -> float:
    """Wootters distance that the empirical distribution of ``shots`` shots exceeds with
    probability ``tail``: ``4 N D^2 ~ chi^2_{d-1}`` (delta method on ``sqrt q``)."""
    return float(np.sqrt(chi2.ppf(1 - tail, d - 1) / (4 * shots)))


@pytest.fixture(scope="module")
def aer_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("aer_reservoir")
    workspace = Workspace(root / "jobs", root / "results")
    return workspace, run_reservoir(AER_CONFIG, workspace=workspace)


@pytest.fixture(scope="module")
def local_references():
    exact = run_reservoir(replace(AER_CONFIG, engine=EngineConfig(name="exact")))
    trotter = run_reservoir(replace(AER_CONFIG, engine=replace(AER_ENGINE, name="trotter")))
    return exact, trotter


def test_aer_outputs_are_shot_frequencies(aer_run):
    _, result = aer_run
    assert result.outputs.shape == (6, 8)
    counts = result.outputs * SHOTS
    np.testing.assert_allclose(counts, np.round(counts), rtol=0, atol=1e-8)
    np.testing.assert_allclose(result.outputs.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert result.fidelities is None
    assert np.isnan(result.metrics["fidelity"])
    assert result.per_state["fidelity"].isna().all()


def test_aer_agrees_with_exact_within_shot_noise(aer_run, local_references):
    _, measured = aer_run
    exact, trotter = local_references
    d = 8
    bound = shot_bound(d, SHOTS)
    typical = np.sqrt((d - 1) / (4 * SHOTS))
    # against the circuit's own distribution (the Trotter engine): shot noise only
    noise = wootters_rows(measured.outputs, trotter.outputs)
    assert noise.max() < bound, (noise, bound)
    # real sampling, not the exact probabilities: the mean distance is of the typical size
    assert 0.4 * typical < noise.mean() < 1.6 * typical, (noise, typical)
    # against the exact engine: shot noise plus the (small) Trotter error
    trotter_error = wootters_rows(trotter.outputs, exact.outputs)
    assert trotter_error.max() < 0.2 * typical
    to_exact = wootters_rows(measured.outputs, exact.outputs)
    assert np.all(to_exact < bound + trotter_error + 1e-12)
    # hence the per-state scores agree (triangle inequality of the Wootters distance)
    per_state = measured.per_state["wootters"].to_numpy()
    reference = exact.per_state["wootters"].to_numpy()
    assert np.all(np.abs(per_state - reference) < bound + trotter_error.max())
    assert abs(measured.metrics["wootters"] - exact.metrics["wootters"]) < bound
    # and the experiment is not trivial: the scores are above the noise
    assert reference.min() > bound


def test_aer_run_is_in_the_ledger_and_the_results_store(aer_run):
    workspace, result = aer_run
    (run_id,) = result.run_ids
    with workspace.ledger() as ledger:
        run = ledger.run(run_id)
        jobs = ledger.jobs(run_id)
    assert run.name == "reservoir"
    assert run.target == "aer"
    assert run.shots == SHOTS
    assert run.seed == AER_ENGINE.seed
    assert jobs and all(job.state == "COLLECTED" for job in jobs)
    stored = ResultStore(workspace.results_dir).load(run_id)
    counts = stored.counts[stored.counts["circuit"] == "reservoir"]
    totals = counts.groupby("binding")["count"].sum()
    assert totals.index.tolist() == list(range(6))
    assert (totals == SHOTS).all()
    # the stored counts are the result's distributions (bit i of the outcome is input qubit i)
    rows = np.zeros((6, 8))
    for binding, bitstring, count in counts[["binding", "bitstring", "count"]].itertuples(
        index=False
    ):
        rows[binding, int(bitstring, 2)] += count
    np.testing.assert_allclose(result.outputs, rows / SHOTS, rtol=0, atol=1e-15)


def test_combine_reads_back_the_run_of_run_reservoir(aer_run):
    workspace, result = aer_run
    combined = combine_reservoir(AER_CONFIG, result.run_ids[0], workspace=workspace)
    np.testing.assert_array_equal(combined.outputs, result.outputs)
    np.testing.assert_array_equal(combined.inputs, result.inputs)
    assert combined.run_ids == result.run_ids


def test_submit_collect_combine_matches_run_reservoir_with_the_same_seed(aer_run):
    workspace, result = aer_run
    run_id = submit_reservoir(AER_CONFIG, workspace=workspace)
    assert run_id not in result.run_ids
    assert collect_run(run_id, workspace=workspace).complete
    combined = combine_reservoir(AER_CONFIG, run_id, workspace=workspace)
    assert combined.run_ids == (run_id,)
    assert combined.fidelities is None
    np.testing.assert_array_equal(combined.inputs, result.inputs)
    np.testing.assert_array_equal(combined.outputs, result.outputs)


def test_aer_runs_with_the_same_seed_are_reproducible(aer_run, tmp_path):
    _, result = aer_run
    workspace = Workspace(tmp_path / "jobs", tmp_path / "results")
    for _ in range(3):
        again = run_reservoir(AER_CONFIG, workspace=workspace)
        np.testing.assert_array_equal(again.outputs, result.outputs)


def test_aer_runs_with_another_seed_differ(aer_run, tmp_path):
    _, result = aer_run
    workspace = Workspace(tmp_path / "jobs", tmp_path / "results")
    other = run_reservoir(replace(AER_CONFIG, engine=replace(AER_ENGINE, seed=4)),
                          workspace=workspace)  # fmt: skip
    assert np.abs(other.outputs - result.outputs).max() > 0


MISMATCHES = {
    "count": lambda c: replace(c, inputs=replace(c.inputs, count=5)),
    "fewer-qubits": lambda c: replace(c, inputs=replace(c.inputs, num_qubits=2)),
    "more-qubits": lambda c: replace(c, inputs=replace(c.inputs, num_qubits=4)),
    "source": lambda c: replace(c, inputs=replace(c.inputs, source="gaussian")),
    "t_f": lambda c: replace(c, reservoir=replace(c.reservoir, t_f=2.0)),
}


@pytest.mark.parametrize("change", list(MISMATCHES))
def test_combine_with_a_mismatched_config_is_refused(aer_run, change):
    workspace, result = aer_run
    other = MISMATCHES[change](AER_CONFIG)
    assert other != AER_CONFIG
    with pytest.raises(ConfigError, match=result.run_ids[0]):
        combine_reservoir(other, result.run_ids[0], workspace=workspace)


def test_combine_unknown_run_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="nope"):
        combine_reservoir(AER_CONFIG, "nope", workspace=Workspace(tmp_path / "j", tmp_path / "r"))


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_run_reservoir_refuses_ibm_engines_without_the_network(tmp_path, no_network):
    config = replace(AER_CONFIG, engine=replace(AER_ENGINE, name="ibm:ibm_fez"))
    workspace = Workspace(tmp_path / "jobs", tmp_path / "results")
    with pytest.raises(ConfigError, match="submit"):
        run_reservoir(config, workspace=workspace)
    assert not (tmp_path / "jobs").exists()
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("name", ["exact", "trotter"])
def test_submit_reservoir_refuses_local_engines(tmp_path, name):
    config = replace(AER_CONFIG, engine=EngineConfig(name=name))
    with pytest.raises(ConfigError, match="local"):
        submit_reservoir(config, workspace=Workspace(tmp_path / "jobs", tmp_path / "results"))
    assert not (tmp_path / "jobs").exists()


# --- write_reservoir ------------------------------------------------------------------------

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_written(directory, result) -> dict:
    assert directory.is_dir()
    assert directory.name.startswith("reservoir-")
    assert sorted(p.name for p in directory.iterdir()) == [
        "distributions.csv", "distributions.png", "info.json", "per_state.csv", "report.md",
    ]  # fmt: skip
    # appears complete: no partial directory left behind
    assert [p.name for p in directory.parent.iterdir() if p.name.endswith(".partial")] == []
    info = json.loads((directory / "info.json").read_text())
    assert info["kind"] == "reservoir"
    assert info["config"] == json.loads(json.dumps(result.config.to_dict()))
    assert info["seed"] == result.config.inputs.seed
    assert info["run_ids"] == list(result.run_ids)
    assert info["inputs"] == result.description
    assert {"qiskit", "numpy"} <= set(info["versions"])
    assert set(info["metrics"]) == set(result.metrics)
    own = bhattacharyya_angle(result.inputs, result.outputs)
    assert info["metrics"]["wootters"] == pytest.approx(own.mean(), abs=1e-12)
    assert info["metrics"]["states"] == len(result.inputs)

    per_state = pd.read_csv(directory / "per_state.csv")
    assert list(per_state.columns) == ["state", "wootters", "fidelity"]
    np.testing.assert_allclose(per_state["wootters"], own, rtol=0, atol=1e-12)

    tidy = pd.read_csv(directory / "distributions.csv")
    assert list(tidy.columns) == ["state", "outcome", "input", "output"]
    k, d = result.inputs.shape
    assert len(tidy) == k * d
    assert sorted(set(tidy["outcome"])) == list(range(d))
    sums = tidy.groupby("state")[["input", "output"]].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-9)
    table = tidy.pivot(index="state", columns="outcome", values="output").to_numpy()
    np.testing.assert_allclose(table, result.outputs, rtol=0, atol=1e-12)
    table = tidy.pivot(index="state", columns="outcome", values="input").to_numpy()
    np.testing.assert_allclose(table, result.inputs, rtol=0, atol=1e-12)

    assert (directory / "distributions.png").read_bytes().startswith(PNG_MAGIC)
    report = (directory / "report.md").read_text()
    assert result.description in report
    assert "distributions.png" in report
    assert f"{info['metrics']['wootters']:.4g}" in report
    return info


def test_write_reservoir_exact(exact_result, tmp_path):
    directory = write_reservoir(exact_result, tmp_path / "results")
    info = check_written(directory, exact_result)
    assert info["metrics"]["fidelity"] == pytest.approx(exact_result.fidelities.mean())
    per_state = pd.read_csv(directory / "per_state.csv")
    np.testing.assert_allclose(per_state["fidelity"], exact_result.fidelities, atol=1e-12)


def test_write_reservoir_target(aer_run, tmp_path):
    _, result = aer_run
    directory = write_reservoir(result, tmp_path / "results")
    info = check_written(directory, result)
    assert info["run_ids"] == list(result.run_ids) and info["run_ids"]
    assert pd.read_csv(directory / "per_state.csv")["fidelity"].isna().all()


def test_write_reservoir_twice_gives_two_directories(exact_result, tmp_path):
    first = write_reservoir(exact_result, tmp_path)
    second = write_reservoir(exact_result, tmp_path)
    assert first != second
    assert first.is_dir() and second.is_dir()
