"""Ensemble configs and the ensemble model: steps and sampling circuits against Qiskit."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import DensityMatrix, Statevector, partial_trace, random_density_matrix
from qiskit_aer import AerSimulator
from scipy import stats

from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models.config import RunConfig, config_from_dict, load_any_config
from qdm_qiskit.models.ensemble import (
    QUDDPM_CIRCLE,
    QUDDPM_CLUSTER_1,
    QUDDPM_CLUSTER_2,
    EnsembleDataConfig,
    EnsembleDiffusion,
    EnsembleModelConfig,
    EnsembleRunConfig,
    EnsembleTrainConfig,
    build_ensemble_model,
)
from qdm_qiskit.models.ensemble.config import ensemble_config_from_dict
from qdm_qiskit.models.ensemble.tasks import cluster_states, haar_states

# -- configs ---------------------------------------------------------------------------------


def test_defaults_are_quddpms_two_qubit_cluster_task() -> None:
    config = EnsembleRunConfig()
    assert config == QUDDPM_CLUSTER_2
    assert (config.model.num_qubits, config.model.ancillas) == (2, 1)
    assert (config.model.layers, config.model.steps) == (6, 20)
    assert config.train.loss == "mmd" and config.data.task == "cluster"
    assert ensemble_config_from_dict({}) == config


@pytest.mark.parametrize(
    ("config", "count"), [(QUDDPM_CLUSTER_1, 320), (QUDDPM_CLUSTER_2, 720), (QUDDPM_CIRCLE, 1440)]
)
def test_published_presets_have_quddpms_parameter_counts(
    config: EnsembleRunConfig, count: int
) -> None:
    model = build_ensemble_model(config)
    assert model.parameter_count().quantum == count
    assert model.parameter_count().classical == 0
    assert sum(p.numel() for p in model.parameters()) == count
    m = config.model
    assert count == m.steps * 2 * (m.num_qubits + m.ancillas) * m.layers
    assert model.engine.num_weights == 2 * (m.num_qubits + m.ancillas) * m.layers
    assert model.step_circuit.num_qubits == m.num_qubits + m.ancillas


def test_unknown_section_and_option_are_rejected_with_suggestions() -> None:
    with pytest.raises(ConfigError, match=r"unknown section 'modle' \(did you mean 'model'\?\)"):
        ensemble_config_from_dict({"modle": {"layers": 2}})
    with pytest.raises(ConfigError, match=r"unknown option 'layer'.*did you mean 'layers'"):
        ensemble_config_from_dict({"model": {"family": "ensemble", "layer": 2}})
    with pytest.raises(ConfigError, match=r"unknown option 'ancila'.*did you mean 'ancillas'"):
        config_from_dict({"model": {"family": "ensemble", "ancila": 2}})
    with pytest.raises(ConfigError, match=r"unknown option 'iteration'.*'iterations'"):
        config_from_dict({"model": {"family": "ensemble"}, "train": {"iteration": 3}})


@pytest.mark.parametrize(
    ("section", "values", "fragment"),
    [
        ("data", {"task": "square"}, "data.task"),
        ("data", {"scale": 0.0}, "data.scale"),
        ("data", {"scale": -1.0}, "data.scale"),
        ("data", {"train_size": 1}, "data.train_size"),
        ("data", {"test_size": 2.5}, "data.test_size"),
        ("data", {"seed": -1}, "data.seed"),
        ("model", {"num_qubits": 0}, "model.num_qubits"),
        ("model", {"ancillas": 0}, "model.ancillas"),
        ("model", {"layers": 0}, "model.layers"),
        ("model", {"steps": 0}, "model.steps"),
        ("model", {"forward": "amplitude_damping"}, "model.forward"),
        ("model", {"strength_schedule": "cubic"}, "model.strength_schedule"),
        ("model", {"strength_start": -0.5}, "model.strength_start"),
        ("model", {"strength_start": True}, "model.strength_start"),
        ("model", {"strength_end": 0.0}, "model.strength_end"),
        ("model", {"schedule": "sigmoid"}, "model.schedule"),
        ("model", {"beta_start": 0.0}, "model.beta_start"),
        ("model", {"beta_end": 1.0}, "model.beta_end"),
        ("model", {"entangler": "iswap"}, "model.entangler"),
        ("model", {"num_qubits": 10, "ancillas": 3}, "exceeds 12"),
        ("model", {"layers": "6"}, "model.layers"),
        ("train", {"loss": "l2"}, "train.loss"),
        ("train", {"iterations": 0}, "train.iterations"),
        ("train", {"learning_rate": 0.0}, "train.learning_rate"),
        ("train", {"learning_rate": float("nan")}, "train.learning_rate"),
        ("train", {"seed": 2**32}, "train.seed"),
        ("train", {"dtype": "float32"}, "train.dtype"),
    ],
)
def test_bad_values_are_rejected(section: str, values: dict, fragment: str) -> None:
    data: dict = {"model": {"family": "ensemble"}}
    data.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")) as info:
        config_from_dict(data)
    assert "\n" not in str(info.value)


def test_scale_applies_to_the_cluster_task_only() -> None:
    with pytest.raises(ConfigError, match="cluster task only"):
        ensemble_config_from_dict({"data": {"task": "circle", "scale": 0.2}})
    with pytest.raises(ConfigError, match="cluster task only"):
        EnsembleRunConfig(data=EnsembleDataConfig(task="circle", scale=0.3))
    assert ensemble_config_from_dict({"data": {"task": "cluster", "scale": 0.2}}).data.scale == 0.2


def test_family_dispatch_and_round_trips(tmp_path: Path) -> None:
    assert isinstance(config_from_dict({"model": {"family": "angle"}}), RunConfig)
    assert isinstance(config_from_dict({}), RunConfig)
    for preset in (QUDDPM_CLUSTER_1, QUDDPM_CLUSTER_2, QUDDPM_CIRCLE):
        again = config_from_dict(preset.to_dict())
        assert isinstance(again, EnsembleRunConfig) and again == preset
    path = tmp_path / "ensemble.toml"
    path.write_text(
        '[data]\ntask = "circle"\ntrain_size = 12\n\n'
        '[model]\nfamily = "ensemble"\nnum_qubits = 1\nancillas = 2\nsteps = 3\n'
        'forward = "depolarizing"\n\n[train]\nloss = "wasserstein"\nseed = 4\n'
    )
    loaded = load_any_config(path)
    assert isinstance(loaded, EnsembleRunConfig)
    assert loaded.data == EnsembleDataConfig(task="circle", train_size=12)
    assert loaded.model == EnsembleModelConfig(
        num_qubits=1, ancillas=2, steps=3, forward="depolarizing"
    )
    assert loaded.train == EnsembleTrainConfig(loss="wasserstein", seed=4)
    assert loaded.with_seed(9).train.seed == 9 and loaded.with_seed(9).model == loaded.model
    as_json = tmp_path / "ensemble.json"
    as_json.write_text(json.dumps(QUDDPM_CIRCLE.to_dict()))
    assert load_any_config(as_json) == QUDDPM_CIRCLE
    # a family typo is not silently an ensemble config
    with pytest.raises(ConfigError, match="family"):
        config_from_dict({"model": {"family": "ensembel"}})


# -- the model -------------------------------------------------------------------------------


def tiny(
    num_qubits: int = 2,
    ancillas: int = 1,
    *,
    layers: int = 2,
    steps: int = 2,
    forward: str = "scramble",
    seed: int = 3,
) -> EnsembleRunConfig:
    return EnsembleRunConfig(
        data=EnsembleDataConfig(train_size=20, test_size=20),
        model=EnsembleModelConfig(num_qubits=num_qubits, ancillas=ancillas, layers=layers,
                                  steps=steps, forward=forward),  # type: ignore[arg-type]
        train=EnsembleTrainConfig(dtype="complex128", seed=seed, iterations=10),
    )  # fmt: skip


def bound_step(model: EnsembleDiffusion, t: int) -> QuantumCircuit:
    """``model.step_circuit`` with ``weights[t - 1]`` bound in ``engine.weight_names`` order."""
    names = list(model.engine.weight_names)
    weights = model.weights[t - 1].detach().double().numpy()
    values = {p: float(weights[names.index(p.name)]) for p in model.step_circuit.parameters}
    return model.step_circuit.assign_parameters(values)


def branches(
    model: EnsembleDiffusion, vector: np.ndarray, t: int
) -> list[tuple[float, np.ndarray]]:
    """``(probability, normalised data state)`` for every ancilla outcome of step ``t``."""
    n, m = model.num_qubits, model.num_ancillas
    zeros = Statevector.from_label("0" * m)
    out = Statevector(vector).expand(zeros).evolve(bound_step(model, t)).data
    dim = 2**n
    result = []
    for a in range(2**m):  # ancillas are the high qubits: index = a * 2^n + data index
        block = out[a * dim : (a + 1) * dim]
        probability = float(np.vdot(block, block).real)
        result.append((probability, block / np.sqrt(max(probability, 1e-300))))
    return result


def matched_outcome(model: EnsembleDiffusion, vector: np.ndarray, t: int, post: np.ndarray) -> int:
    """The one ancilla outcome whose Qiskit post-measurement state is ``post``."""
    found = [
        a
        for a, (probability, state) in enumerate(branches(model, vector, t))
        if probability > 1e-12 and np.allclose(state, post, atol=1e-10)
    ]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("num_qubits", "ancillas"), [(2, 1), (1, 2), (1, 1)])
def test_step_is_the_projected_qiskit_evolution(num_qubits: int, ancillas: int) -> None:
    model = build_ensemble_model(tiny(num_qubits, ancillas))
    states = cluster_states(num_qubits=num_qubits, size=6, scale=0.5, seed=2)
    for t in (2, 1):
        post = (
            model.step(model.as_states(states), t, torch.Generator().manual_seed(t))
            .detach()
            .numpy()
        )
        assert post.shape == (6, 2**num_qubits) and post.dtype == np.complex128
        for row, vector in enumerate(states):
            matched_outcome(model, vector, t, post[row])
            assert np.isclose(np.linalg.norm(post[row]), 1.0)


def test_step_outcomes_follow_born_probabilities() -> None:
    model = build_ensemble_model(tiny(2, 1))
    vector = haar_states(num_qubits=2, size=1, seed=4)[0]
    rows = 2000
    inputs = model.as_states(np.repeat(vector[None], rows, axis=0))
    post = model.step(inputs, 2, torch.Generator().manual_seed(0)).detach().numpy()
    candidates = branches(model, vector, 2)
    probabilities = np.array([p for p, _ in candidates])
    assert min(probabilities) > 0.05  # both outcomes matter (else the test says little)
    distances = np.stack([np.abs(post - state).max(axis=1) for _, state in candidates], axis=1)
    assert (distances.min(axis=1) < 1e-10).all()
    counts = np.bincount(distances.argmin(axis=1), minlength=2)
    _, p_value = stats.chisquare(counts, rows * probabilities)
    assert p_value > 1e-3, (counts, rows * probabilities)


def test_step_with_explicit_weights_equals_the_stored_ones() -> None:
    model = build_ensemble_model(tiny(1, 1))
    states = model.as_states(haar_states(num_qubits=1, size=5, seed=1))
    other = torch.randn(model.engine.num_weights, generator=torch.Generator().manual_seed(7),
                        dtype=torch.float64)  # fmt: skip
    explicit = model.step(states, 2, torch.Generator().manual_seed(3), weights=other)
    with torch.no_grad():
        model.weights[1] = other
    stored = model.step(states, 2, torch.Generator().manual_seed(3))
    assert torch.equal(explicit, stored)
    again = model.step(states, 2, torch.Generator().manual_seed(3))
    assert torch.equal(stored, again)  # deterministic for a generator seed


def test_density_step_matches_qiskit_and_the_pure_model() -> None:
    pure_model = build_ensemble_model(tiny(2, 1))
    mixed_model = build_ensemble_model(tiny(2, 1, forward="depolarizing"))
    assert mixed_model.mixed and not pure_model.mixed
    mixed_model.load_state_dict(pure_model.state_dict())
    states = cluster_states(num_qubits=2, size=8, scale=0.4, seed=5)
    pure_post = pure_model.step(pure_model.as_states(states), 1, torch.Generator().manual_seed(2))
    rho_in = mixed_model.as_states(states)
    assert rho_in.shape == (8, 4, 4)
    mixed_post = mixed_model.step(rho_in, 1, torch.Generator().manual_seed(2))
    expected = pure_post[:, :, None] * pure_post[:, None, :].conj()
    torch.testing.assert_close(mixed_post, expected, atol=1e-12, rtol=0)
    # genuinely mixed inputs: the projected, normalised quantum_info evolution
    rhos = np.stack([random_density_matrix(4, seed=k).data for k in range(6)])
    post = (
        mixed_model.step(torch.tensor(rhos), 2, torch.Generator().manual_seed(1)).detach().numpy()
    )
    circuit = bound_step(mixed_model, 2)
    for row, rho in enumerate(rhos):
        evolved = DensityMatrix(rho).expand(DensityMatrix.from_label("0")).evolve(circuit).data
        candidates = []
        for a in range(2):
            block = evolved[4 * a : 4 * (a + 1), 4 * a : 4 * (a + 1)]
            candidates.append(block / np.trace(block).real)
        assert sum(np.allclose(post[row], c, atol=1e-10) for c in candidates) == 1
        np.testing.assert_allclose(np.trace(post[row]), 1.0, atol=1e-12)


def test_prior_generate_and_reset_parameters() -> None:
    model = build_ensemble_model(tiny(2, 1, steps=3))
    prior = model.prior(7, seed=4)
    np.testing.assert_array_equal(prior.numpy(), haar_states(num_qubits=2, size=7, seed=4))
    trajectory = model.generate(prior, torch.Generator().manual_seed(0))
    assert len(trajectory) == 4 and trajectory[0] is prior
    for states in trajectory:
        np.testing.assert_allclose(torch.linalg.vector_norm(states, dim=1).numpy(), 1.0)
    assert len(model.generate(prior, torch.Generator(), stop=2)) == 2
    mixed = build_ensemble_model(tiny(2, 1, forward="depolarizing"))
    np.testing.assert_allclose(mixed.prior(3, seed=0).numpy(), np.stack([np.eye(4) / 4] * 3))
    # weights: N(0, 1) from the train seed, different per step, reproducible
    again = build_ensemble_model(tiny(2, 1, steps=3))
    assert torch.equal(model.weights, again.weights)
    assert not torch.equal(model.weights[0], model.weights[1])
    assert not torch.equal(model.weights, build_ensemble_model(tiny(2, 1, steps=3, seed=4)).weights)
    assert EnsembleDiffusion(tiny()).weights.abs().sum() == 0  # unbuilt: zeros until reset
    assert build_ensemble_model(replace(tiny(), train=EnsembleTrainConfig())).weights.dtype == (
        torch.float32
    )


# -- the device circuit ----------------------------------------------------------------------


def strip_measurements(circuit: QuantumCircuit) -> QuantumCircuit:
    """The circuit without measurements (resets stay): the outcome-averaged evolution."""
    out = circuit.copy_empty_like()
    for instruction in circuit.data:
        if instruction.operation.name != "measure":
            out.append(instruction)
    return out


def exact_mean_distribution(model: EnsembleDiffusion, vector: np.ndarray) -> np.ndarray:
    """Trajectory-averaged data distribution: the measured-and-discarded ancilla channels."""
    n, m = model.num_qubits, model.num_ancillas
    rho = DensityMatrix(Statevector(vector))
    for t in range(model.config.model.steps, 0, -1):
        full = rho.expand(DensityMatrix.from_label("0" * m)).evolve(bound_step(model, t))
        rho = partial_trace(full, list(range(n, n + m)))
    return rho.probabilities()


@pytest.mark.parametrize(
    ("num_qubits", "ancillas", "layers", "steps"),
    [(1, 1, 2, 2), (2, 1, 2, 2), (1, 2, 1, 3), (1, 1, 1, 10)],
)
def test_sampling_circuit_is_the_chained_reverse_process(
    num_qubits: int, ancillas: int, layers: int, steps: int
) -> None:
    model = build_ensemble_model(tiny(num_qubits, ancillas, layers=layers, steps=steps))
    prior = haar_states(num_qubits=num_qubits, size=3, seed=6)
    circuit, values = model.sampling_circuit(prior)
    assert values.shape == (3, circuit.num_parameters)
    assert circuit.num_qubits == num_qubits + ancillas
    assert {r.name for r in circuit.cregs} >= {"meas"}
    meas = next(r for r in circuit.cregs if r.name == "meas")
    assert meas.size == num_qubits
    assert sum(1 for i in circuit.data if i.operation.name == "reset") == (steps - 1) * ancillas
    bare = strip_measurements(circuit)
    for row, vector in enumerate(prior):
        got = DensityMatrix(bare.assign_parameters(values[row])).probabilities(
            list(range(num_qubits))
        )
        np.testing.assert_allclose(got, exact_mean_distribution(model, vector), atol=1e-9)


def test_engine_trajectories_average_to_the_circuit_distribution() -> None:
    model = build_ensemble_model(tiny(1, 1, layers=2, steps=2, seed=8))
    prior = haar_states(num_qubits=1, size=4, seed=2)
    repeats = 500
    inputs = model.as_states(np.repeat(prior, repeats, axis=0))
    final = model.generate(inputs, torch.Generator().manual_seed(1))[-1]
    probabilities = (final.abs() ** 2).numpy().reshape(4, repeats, 2).mean(axis=1)
    circuit, values = model.sampling_circuit(prior)
    bare = strip_measurements(circuit)
    exact = np.stack([DensityMatrix(bare.assign_parameters(v)).probabilities([0]) for v in values])
    # trajectory probabilities lie in [0, 1]: sigma <= 0.5/sqrt(500) per row
    np.testing.assert_allclose(probabilities, exact, atol=0.1)
    np.testing.assert_allclose(probabilities.mean(0), exact.mean(0), atol=0.04)
    # single trajectories really differ from the average (the measurement is selective)
    spread = (final.abs() ** 2).numpy()[:, 0].std()
    assert spread > 0.01


def test_aer_runs_the_sampling_circuit_with_mid_circuit_measurement() -> None:
    model = build_ensemble_model(tiny(1, 1, layers=2, steps=2, seed=8))
    prior = haar_states(num_qubits=1, size=3, seed=2)
    circuit, values = model.sampling_circuit(prior)
    shots = 3000
    simulator = AerSimulator(method="density_matrix", seed_simulator=5)
    bound = [circuit.assign_parameters(v) for v in values]
    result = simulator.run(bound, shots=shots).result()
    meas_position = [r.name for r in reversed(circuit.cregs)].index("meas")
    for row, vector in enumerate(prior):
        counts = result.get_counts(row)
        measured = np.zeros(2)
        for key, count in counts.items():
            measured[int(key.split()[meas_position], 2)] += count / shots
        # sigma <= 0.5/sqrt(3000) ~ 0.009
        np.testing.assert_allclose(measured, exact_mean_distribution(model, vector), atol=0.045)
