"""The hardware-in-the-loop QNN: same values and gradients as the engine, one estimator call."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qdm_qiskit.engine import expectation_z, fidelity
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models import DataConfig, ModelConfig, RunConfig, TrainConfig, build_model
from qdm_qiskit.models.qnn import (
    BatchedParamShiftGradient,
    estimator_qnn,
    qnn_fidelity,
    qnn_prediction,
    zero_projector,
)


def _model(family: str = "angle", layers: int = 2):
    qubits = 4
    config = RunConfig(
        data=DataConfig(npix=4, max_jets=100),
        model=ModelConfig(family=family, num_qubits=qubits, layers=layers, steps=3),
        train=TrainConfig(dtype="complex128", seed=3),
    )
    return build_model(config)


def test_qnn_forward_and_gradient_equal_the_engine_with_one_estimator_call():
    model = _model()
    connector, gradient = estimator_qnn(model, target="aer")
    inputs = torch.rand(
        5, model.engine.num_inputs, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    targets = torch.rand(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    output = connector(inputs)
    reference = expectation_z(model.engine(model.weights, inputs))
    assert torch.allclose(output.double(), reference.detach(), atol=1e-5)
    ((output - targets) ** 2).sum().backward()
    loss = ((expectation_z(model.engine(model.weights, inputs)) - targets) ** 2).sum()
    (expected,) = torch.autograd.grad(loss, model.weights)
    assert torch.allclose(connector.weight.grad.double(), expected, atol=1e-4)
    assert gradient.calls == 1  # every shifted binding of every sample in one run() call


def test_gradient_chunks_rows_into_pubs_of_bounded_size():
    model = _model(layers=1)
    connector, gradient = estimator_qnn(model, target="aer", chunk_size=7)
    seen = []
    original = gradient._estimator.run

    def spy(pubs, **kwargs):
        seen.extend(len(values) for _, _, values in pubs)
        return original(pubs, **kwargs)

    inputs = torch.rand(3, model.engine.num_inputs, dtype=torch.float64)
    output = connector(inputs)  # the forward pass: one PUB per observable (qiskit-ml's design)
    gradient._estimator.run = spy
    output.sum().backward()
    assert seen and max(seen) <= 7
    # 3 samples x 4 observables x 2 shifts x 8 weights
    assert sum(seen) == 3 * 4 * 2 * model.engine.num_weights


def test_noisy_target_runs_isa_circuits_and_the_prediction_uses_the_head():
    model = _model()
    connector, _ = estimator_qnn(model, target="aer:FakeManilaV2", precision=0.0)
    x_t = torch.zeros(2, 16, dtype=torch.float64)
    steps = torch.tensor([1, 2])
    predicted = qnn_prediction(model, connector, x_t, steps)
    exact = model.predict(x_t, steps)
    assert predicted.shape == exact.shape
    # Device noise moves values, but not beyond the readout range.
    assert torch.all(
        predicted.abs() <= model.head_scale.abs().max() + model.head_bias.abs().max() + 1e-9
    )
    assert not torch.allclose(predicted, exact.detach(), atol=1e-6)


def _state_pairs(model, count=3):
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(count, 4, 4, generator=generator, dtype=torch.float64).numpy()
    x0 = model.encode(images)
    steps = torch.tensor([1, 2, 4][:count])
    noise = model._noise(tuple(x0.shape), generator)
    return model.noised(x0, steps, noise), model.noised(x0, steps - 1, noise), steps


def test_state_family_fidelity_and_gradient_equal_the_engine():
    config = RunConfig(
        data=DataConfig(npix=4),
        model=ModelConfig(family="state", num_qubits=4, layers=2, steps=4),
        train=TrainConfig(dtype="complex128"),
    )
    model = build_model(config)
    x_t, x_prev, steps = _state_pairs(model)
    connector, gradient = estimator_qnn(model, target="aer")
    on_qnn = qnn_fidelity(model, connector, x_t, x_prev, steps)
    on_engine = fidelity(model.denoise_step(x_t, steps), x_prev)
    assert torch.allclose(on_qnn.detach(), on_engine.detach(), atol=1e-7)
    assert on_engine.min() < 0.9  # an untrained step: the check is not trivially 1
    on_qnn.sum().backward()
    on_engine.sum().backward()
    assert torch.allclose(connector.weight.grad.double(), model.weights.grad, atol=1e-6)
    assert gradient.calls == 1


def test_zero_projector_is_the_projector_onto_all_zeros():
    matrix = zero_projector(3).to_matrix()
    expected = np.zeros((8, 8))
    expected[0, 0] = 1.0
    assert np.allclose(matrix, expected)


def test_state_family_on_a_noisy_device_loses_fidelity():
    config = RunConfig(
        data=DataConfig(npix=4),
        model=ModelConfig(family="state", num_qubits=4, layers=1, steps=4),
    )
    model = build_model(config)
    x_t = model.encode(np.full((2, 4, 4), 1 / 16))
    steps = torch.tensor([1, 1])
    # The identity-like pair: the target is the step's own output, fidelity 1 on the engine.
    with torch.no_grad():
        x_prev = model.denoise_step(x_t, steps)
    connector, _ = estimator_qnn(model, target="aer:FakeManilaV2", precision=0.0)
    noisy = qnn_fidelity(model, connector, x_t, x_prev, steps).detach()
    assert torch.all(noisy < 0.99) and torch.all(noisy > 0.05)


def test_other_models_are_refused():
    with pytest.raises(ConfigError, match="angle and state"):
        estimator_qnn(torch.nn.Linear(1, 1), target="aer")  # type: ignore[arg-type]


def test_gradient_class_is_a_qiskit_ml_gradient():
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient

    assert issubclass(BatchedParamShiftGradient, ParamShiftEstimatorGradient)
