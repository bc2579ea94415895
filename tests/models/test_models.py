"""The two model families against independent computations (Qiskit Statevector, numpy DDPM).

The engine path (exact state vectors) is compared with the circuits a device would run: bound
and simulated with :class:`qiskit.quantum_info.Statevector`, and run through the job manager on
ideal Aer via :class:`JobExecutor` (finite shots: shot-noise tolerances).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit.quantum_info import SparsePauliOp, Statevector

from qdm_qiskit.jobs.manager import Workspace
from qdm_qiskit.models import (
    DataConfig,
    JetImageData,
    JobExecutor,
    ModelConfig,
    RunConfig,
    TrainConfig,
    build_model,
    load_image_data,
)
from qdm_qiskit.models.angle import AngleDenoiser
from qdm_qiskit.models.state import StateDenoiser
from qdm_qiskit.results.store import ResultStore

DATA = DataConfig(npix=4, max_jets=200)
TRAIN = TrainConfig(epochs=1, batch_size=32, seed=3, dtype="complex128")
STATE = RunConfig(
    data=DATA, model=ModelConfig(family="state", num_qubits=4, layers=2, steps=2), train=TRAIN
)
ANGLE = RunConfig(
    data=DATA,
    model=ModelConfig(
        family="angle", num_qubits=4, layers=2, steps=3, beta_start=0.02, beta_end=0.4
    ),
    train=TRAIN,
)
SHOTS = 20_000
PRECISION = 1 / np.sqrt(SHOTS)


@pytest.fixture(scope="module")
def data() -> JetImageData:
    return load_image_data(DATA)


@pytest.fixture(scope="module")
def images(data: JetImageData) -> np.ndarray:
    return data.part("test")[:6]


def _randomise(model: torch.nn.Module, seed: int) -> None:
    """Weights spread over the whole circuit (and a non-trivial head), so nothing is identity."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            draw = torch.rand(parameter.shape, generator=generator, dtype=parameter.dtype)
            parameter.copy_((2 * draw - 1) * np.pi)
        if isinstance(model, AngleDenoiser):
            model.head_scale.copy_(
                0.5 + torch.rand(model.pixels, generator=generator, dtype=model.head_scale.dtype)
            )
            model.head_bias.copy_(
                0.2 * torch.randn(model.pixels, generator=generator, dtype=model.head_bias.dtype)
            )


@pytest.fixture(scope="module")
def state_model() -> StateDenoiser:
    model = build_model(STATE)
    assert isinstance(model, StateDenoiser)
    _randomise(model, 1)
    return model


@pytest.fixture(scope="module")
def angle_model() -> AngleDenoiser:
    model = build_model(ANGLE)
    assert isinstance(model, AngleDenoiser)
    _randomise(model, 2)
    return model


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "jobs", tmp_path / "results")


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _bind_by_name(circuit, named: dict[str, float]) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.array([named[p.name] for p in circuit.parameters])


# -- parameter counts ------------------------------------------------------------------------


@pytest.mark.parametrize("layers", [1, 2])
def test_state_parameter_count(layers: int) -> None:
    config = RunConfig(
        data=DATA, model=ModelConfig(family="state", num_qubits=4, layers=layers, steps=2)
    )
    model = build_model(config)
    count = model.parameter_count()
    thetas = [p for p in model.circuit.parameters if p.name.startswith("theta")]
    assert count.quantum == model.engine.num_weights == len(thetas) > 0
    assert count.classical == 0
    assert count.total == count.quantum == _trainable(model)


@pytest.mark.parametrize(("num_qubits", "layers"), [(4, 1), (2, 2), (8, 1)])
def test_angle_parameter_count(num_qubits: int, layers: int) -> None:
    config = RunConfig(
        data=DATA,
        model=ModelConfig(family="angle", num_qubits=num_qubits, layers=layers, steps=2),
    )
    model = build_model(config)
    count = model.parameter_count()
    thetas = [p for p in model.circuit.parameters if p.name.startswith("theta")]
    assert count.quantum == model.engine.num_weights == len(thetas) > 0
    assert count.classical == 2 * DATA.npix**2
    assert count.total == _trainable(model)


def test_more_layers_more_quantum_parameters() -> None:
    def quantum(layers: int) -> int:
        config = RunConfig(data=DATA, model=ModelConfig(family="state", layers=layers, steps=2))
        return build_model(config).parameter_count().quantum

    assert quantum(1) < quantum(2) < quantum(3)


# -- state model -----------------------------------------------------------------------------


def test_state_encode_gives_unit_vectors_with_the_image_as_probabilities(
    state_model: StateDenoiser, images: np.ndarray
) -> None:
    encoded = state_model.encode(images)
    assert encoded.shape == (len(images), 16)
    assert encoded.dtype == torch.complex128
    vectors = encoded.cpu().numpy()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.abs(vectors) ** 2, images.reshape(len(images), -1), atol=1e-12)


def test_state_loss_is_an_infidelity(state_model: StateDenoiser, images: np.ndarray) -> None:
    batch = state_model.encode(images)
    for seed in range(3):
        with torch.no_grad():
            loss = state_model.loss(batch, torch.Generator().manual_seed(seed))
        assert loss.ndim == 0
        assert 0.0 <= float(loss) <= 1.0


def test_state_loss_has_gradients(state_model: StateDenoiser, images: np.ndarray) -> None:
    state_model.zero_grad()
    state_model.loss(state_model.encode(images), torch.Generator().manual_seed(0)).backward()
    grad = state_model.weights.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    state_model.zero_grad()


def test_state_noised_states_are_normalised(state_model: StateDenoiser, images: np.ndarray) -> None:
    x0 = state_model.encode(images)
    steps = torch.arange(len(images)) % (STATE.model.steps + 1)
    noise = state_model._noise(tuple(x0.shape), torch.Generator().manual_seed(0))
    noised = state_model.noised(x0, steps, noise)
    np.testing.assert_allclose(torch.linalg.vector_norm(noised, dim=1).numpy(), 1.0, atol=1e-12)
    # step 0 is the clean data
    clean = steps == 0
    np.testing.assert_allclose(noised[clean].numpy(), x0[clean].numpy(), atol=1e-12)


def test_state_sampling_circuit_matches_the_engine(
    state_model: StateDenoiser, images: np.ndarray
) -> None:
    prior = state_model.prior(3, seed=4)
    x0 = state_model.encode(images[:3])
    steps = torch.full((3,), STATE.model.steps)
    noised = state_model.noised(x0, steps, state_model._noise((3, 16), torch.Generator()))
    states = torch.cat([prior, noised])
    circuit, values = state_model.sampling_circuit(states)
    assert circuit.num_qubits == STATE.model.num_qubits
    assert values.shape == (len(states), circuit.num_parameters)
    unmeasured = circuit.remove_final_measurements(inplace=False)
    exact = state_model._reverse(states, None).reshape(len(states), -1)
    for row in range(len(states)):
        bound = unmeasured.assign_parameters(values[row])
        probabilities = Statevector(bound).probabilities()
        np.testing.assert_allclose(probabilities, exact[row], atol=1e-5)
    # not trivially equal: the reverse process changed the pixel distribution
    start = (torch.abs(states) ** 2).numpy()
    assert np.abs(start - exact).max() > 1e-2


def test_state_sampling_circuit_values_by_name(state_model: StateDenoiser) -> None:
    states = state_model.prior(2, seed=0)
    circuit, values = state_model.sampling_circuit(states)
    names = [p.name for p in circuit.parameters]
    weights = state_model.weights.detach().numpy()
    for k, name in enumerate(state_model.engine.weight_names):
        np.testing.assert_array_equal(values[:, names.index(name)], weights[k])
    for k in range(STATE.model.steps):  # tau[k] is RZ before step k + 1
        np.testing.assert_allclose(
            values[:, names.index(f"tau[{k}]")], np.pi * (k + 1) / STATE.model.steps
        )


def test_state_reconstruct_returns_normalised_images(
    state_model: StateDenoiser, images: np.ndarray
) -> None:
    out = state_model.reconstruct(images, seed=0)
    assert out.shape == images.shape
    assert (out >= 0).all()
    np.testing.assert_allclose(out.sum(axis=(1, 2)), 1.0, atol=1e-9)
    generated = state_model.sample(5, seed=0)
    assert generated.shape == (5, 4, 4)
    np.testing.assert_allclose(generated.sum(axis=(1, 2)), 1.0, atol=1e-9)


def test_state_reconstruct_of_identity_model_keeps_noised_images() -> None:
    """With all weights zero (and tau's RZ only a phase) the reverse process keeps |x_T|^2."""
    model = build_model(STATE)
    assert isinstance(model, StateDenoiser)
    with torch.no_grad():
        model.weights.zero_()
    states = model.prior(4, seed=1)
    out = model._reverse(states, None).reshape(4, -1)
    np.testing.assert_allclose(out, (torch.abs(states) ** 2).numpy(), atol=1e-10)


# -- angle model -----------------------------------------------------------------------------


def test_angle_encode_decode(angle_model: AngleDenoiser, images: np.ndarray) -> None:
    encoded = angle_model.encode(images)
    assert encoded.shape == (len(images), 16)
    values = encoded.numpy()
    assert values.min() >= -1 and values.max() <= 1
    np.testing.assert_allclose(values, 2 * np.sqrt(images.reshape(len(images), -1)) - 1)
    np.testing.assert_allclose(angle_model.decode(values), images, atol=1e-12)
    # all-minus-one decodes to a flat image rather than 0/0
    flat = angle_model.decode(-np.ones((1, 16)))
    np.testing.assert_allclose(flat, np.full((1, 4, 4), 1 / 16))


def test_angle_circuit_inputs_follow_the_engine_input_order(angle_model: AngleDenoiser) -> None:
    generator = torch.Generator().manual_seed(0)
    x_t = torch.randn((3, 16), generator=generator, dtype=torch.float64)
    steps = torch.tensor([1, 3, 2])
    inputs = angle_model.circuit_inputs(x_t, steps).numpy()
    n = ANGLE.model.num_qubits
    patches = 16 // n
    names = angle_model.engine.input_names
    assert inputs.shape == (3 * patches, len(names)) == (3 * patches, n + 1)
    assert sorted(names) == sorted(["tau[0]", *(f"x[{i}]" for i in range(n))])
    x = x_t.numpy()
    for image in range(3):
        tau = np.pi * int(steps[image]) / ANGLE.model.steps
        for patch in range(patches):
            row = inputs[image * patches + patch]
            pixels = x[image, patch * n : (patch + 1) * n]
            for column, name in enumerate(names):
                if name == "tau[0]":
                    assert row[column] == pytest.approx(tau)
                else:
                    qubit = int(name[2:-1])
                    assert row[column] == pytest.approx(2 * np.arctan(pixels[qubit]))


def _statevector_predict(
    model: AngleDenoiser, x_t: torch.Tensor, steps: torch.Tensor
) -> np.ndarray:
    """<Z_q> of each bound patch circuit (values bound by parameter name), times the head."""
    n = model.num_qubits
    observables = [
        SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], num_qubits=n) for q in range(n)
    ]
    weights = dict(zip(model.engine.weight_names, model.weights.detach().numpy(), strict=True))
    x = x_t.numpy().reshape(-1, n)
    taus = np.repeat(np.pi * steps.numpy() / model.config.model.steps, model.pixels // n)
    readout = np.empty_like(x)
    engine_rows = model.engine.parameter_values(model.weights, model.circuit_inputs(x_t, steps))
    for row in range(len(x)):
        named = {**weights, "tau[0]": taus[row]}
        named.update({f"x[{q}]": 2 * np.arctan(x[row, q]) for q in range(n)})
        values = _bind_by_name(model.circuit, named)
        np.testing.assert_allclose(engine_rows[row], values, atol=1e-12)
        state = Statevector(model.circuit.assign_parameters(values))
        readout[row] = [state.expectation_value(o).real for o in observables]
    scale = model.head_scale.detach().numpy()
    bias = model.head_bias.detach().numpy()
    return readout.reshape(x_t.shape) * scale + bias


def test_angle_predict_matches_statevector_expectations(angle_model: AngleDenoiser) -> None:
    generator = torch.Generator().manual_seed(1)
    x_t = torch.randn((3, 16), generator=generator, dtype=torch.float64)
    steps = torch.tensor([3, 1, 2])
    with torch.no_grad():
        predicted = angle_model.predict(x_t, steps).numpy()
    np.testing.assert_allclose(predicted, _statevector_predict(angle_model, x_t, steps), atol=1e-9)


def test_angle_loss_is_finite_and_differentiable(
    angle_model: AngleDenoiser, images: np.ndarray
) -> None:
    angle_model.zero_grad()
    loss = angle_model.loss(angle_model.encode(images), torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and torch.isfinite(loss) and float(loss.detach()) >= 0
    loss.backward()
    for parameter in angle_model.parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all()
    assert angle_model.weights.grad.abs().sum() > 0  # type: ignore[union-attr]
    angle_model.zero_grad()


def _posterior(step: int, x_t: np.ndarray, x0: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """DDPM q(x_{t-1} | x_t, x_0) sample, from the linear schedule written out by hand."""
    model = ANGLE.model
    betas = np.linspace(model.beta_start, model.beta_end, model.steps)
    alpha_bars = np.concatenate([[1.0], np.cumprod(1 - betas)])
    beta, abar, previous = betas[step - 1], alpha_bars[step], alpha_bars[step - 1]
    mean = (np.sqrt(previous) * beta / (1 - abar)) * x0 + (
        np.sqrt(1 - beta) * (1 - previous) / (1 - abar)
    ) * x_t
    if step == 1:
        return mean
    return mean + np.sqrt(beta * (1 - previous) / (1 - abar)) * noise


@pytest.mark.parametrize("step", [1, 2, 3])
def test_angle_reverse_step_is_the_ddpm_posterior(angle_model: AngleDenoiser, step: int) -> None:
    rng = np.random.default_rng(step)
    x_t, x0, noise = (rng.normal(size=(2, 16)) for _ in range(3))
    out = angle_model.reverse_step(
        torch.tensor(x_t), torch.tensor(x0), step, torch.tensor(noise)
    ).numpy()
    np.testing.assert_allclose(out, _posterior(step, x_t, x0, noise), rtol=1e-10, atol=1e-12)


def test_angle_noise_prediction_recovers_x0() -> None:
    config = RunConfig(
        data=DATA, model=ModelConfig(family="angle", steps=3, prediction="noise"), train=TRAIN
    )
    model = build_model(config)
    assert isinstance(model, AngleDenoiser)
    rng = np.random.default_rng(0)
    x0 = rng.uniform(-1, 1, size=(2, 16))
    eps = rng.normal(size=(2, 16))
    abar = model.schedule.alpha_bars[2]
    x_t = np.sqrt(abar) * x0 + np.sqrt(1 - abar) * eps
    recovered = model._x0_from_output(torch.tensor(eps), torch.tensor(x_t), 2).numpy()
    np.testing.assert_allclose(recovered, x0, atol=1e-10)


def test_angle_sample_shape_and_normalisation(angle_model: AngleDenoiser) -> None:
    out = angle_model.sample(7, seed=0)
    assert out.shape == (7, 4, 4)
    assert np.isfinite(out).all() and (out >= 0).all()
    np.testing.assert_allclose(out.sum(axis=(1, 2)), 1.0, atol=1e-9)


# -- executor path ---------------------------------------------------------------------------


def test_angle_executor_prediction_within_shot_noise(
    angle_model: AngleDenoiser, workspace: Workspace
) -> None:
    executor = JobExecutor(target="aer", workspace=workspace, shots=SHOTS, seed=5)
    x_t = torch.randn((4, 16), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    steps = torch.full((4,), 2)
    with torch.no_grad():
        remote = angle_model._remote_predict(x_t, steps, executor, 2).numpy()
        exact = angle_model.predict(x_t, steps).numpy()
    scale = np.abs(angle_model.head_scale.detach().numpy())
    # Estimator precision 1/sqrt(shots) on each <Z>; 5 sigma over 64 values
    assert (np.abs(remote - exact) <= 5 * PRECISION * scale + 1e-9).all()
    assert len(executor.run_ids) == 1


def test_angle_sample_through_the_executor_agrees_with_the_engine(
    angle_model: AngleDenoiser, workspace: Workspace
) -> None:
    executor = JobExecutor(target="aer", workspace=workspace, shots=SHOTS, seed=7)
    remote = angle_model.sample(4, seed=11, executor=executor)
    exact = angle_model.sample(4, seed=11)
    other = angle_model.sample(4, seed=12)
    tolerance = 5 * PRECISION
    assert remote.shape == exact.shape == (4, 4, 4)
    np.testing.assert_allclose(remote.sum(axis=(1, 2)), 1.0, atol=1e-9)
    assert np.abs(remote - exact).max() < tolerance
    assert np.abs(other - exact).max() > 2 * tolerance  # the tolerance can tell samples apart
    # one Estimator run per reverse step, recorded in order and stored
    assert len(executor.run_ids) == ANGLE.model.steps == len(set(executor.run_ids))
    store = ResultStore(workspace.results_dir)
    for step, run_id in zip(range(ANGLE.model.steps, 0, -1), executor.run_ids, strict=True):
        results = store.load(run_id)
        assert results.info["target"] == "aer"
        frame = results.expectations
        assert frame is not None
        mine = frame[frame["circuit"] == f"step{step:03d}"]
        assert sorted(mine["binding"].unique()) == list(range(4 * 16 // ANGLE.model.num_qubits))
        assert set(mine["observable"]) == {f"z{q}" for q in range(ANGLE.model.num_qubits)}
    with workspace.ledger() as ledger:
        assert {run.run_id for run in ledger.runs()} == set(executor.run_ids)


def test_state_reconstruct_through_the_executor_agrees_with_the_engine(
    state_model: StateDenoiser, images: np.ndarray, workspace: Workspace
) -> None:
    executor = JobExecutor(target="aer", workspace=workspace, shots=SHOTS, seed=3)
    remote = state_model.reconstruct(images[:4], seed=5, executor=executor)
    exact = state_model.reconstruct(images[:4], seed=5)
    assert remote.shape == exact.shape == (4, 4, 4)
    np.testing.assert_allclose(remote.sum(axis=(1, 2)), 1.0, atol=1e-9)
    # a pixel frequency from SHOTS samples has standard deviation <= 0.5 / sqrt(SHOTS)
    tolerance = 5 * 0.5 * PRECISION
    assert np.abs(remote - exact).max() < tolerance
    other = state_model.reconstruct(images[:4], seed=6)
    assert np.abs(other - exact).max() > 2 * tolerance
    assert len(executor.run_ids) == 1
    results = ResultStore(workspace.results_dir).load(executor.run_ids[0])
    assert results.counts is not None
    counts = results.counts[results.counts["circuit"] == "reverse"]
    per_binding = counts.groupby("binding")["count"].sum()
    assert list(per_binding.index) == [0, 1, 2, 3]
    assert (per_binding == SHOTS).all()


def test_executor_runs_are_seeded(angle_model: AngleDenoiser, tmp_path: Path) -> None:
    def run(where: str) -> np.ndarray:
        space = Workspace(tmp_path / where / "jobs", tmp_path / where / "results")
        executor = JobExecutor(target="aer", workspace=space, shots=200, seed=1)
        return angle_model.sample(2, seed=3, executor=executor)

    np.testing.assert_array_equal(run("a"), run("b"))


# -- determinism -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["state", "angle"])
def test_same_seed_same_samples(family: str, state_model, angle_model, images) -> None:  # type: ignore[no-untyped-def]
    model = state_model if family == "state" else angle_model
    first = model.sample(4, seed=21)
    np.testing.assert_array_equal(first, model.sample(4, seed=21))
    assert not np.allclose(first, model.sample(4, seed=22))
    if family == "state":
        again = model.reconstruct(images, seed=2)
        np.testing.assert_array_equal(again, model.reconstruct(images, seed=2))
        assert not np.allclose(again, model.reconstruct(images, seed=3))


@pytest.mark.parametrize("config", [STATE, ANGLE], ids=["state", "angle"])
def test_build_model_is_seeded(config: RunConfig) -> None:
    first, second = build_model(config), build_model(config)
    other = build_model(config.with_seed(config.train.seed + 1))
    for key, value in first.state_dict().items():
        torch.testing.assert_close(value, second.state_dict()[key], rtol=0, atol=0)
    assert not torch.equal(first.weights, other.weights)
