"""The hardware-in-the-loop QNN: same values and gradients as the engine, one estimator call."""

from __future__ import annotations

import pytest
import torch

from qdm_qiskit.engine import expectation_z
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models import DataConfig, ModelConfig, RunConfig, TrainConfig, build_model
from qdm_qiskit.models.qnn import BatchedParamShiftGradient, estimator_qnn, qnn_prediction


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


def test_state_family_is_refused():
    with pytest.raises(ConfigError, match="angle family"):
        estimator_qnn(_model("state"), target="aer")


def test_gradient_class_is_a_qiskit_ml_gradient():
    from qiskit_machine_learning.gradients import ParamShiftEstimatorGradient

    assert issubclass(BatchedParamShiftGradient, ParamShiftEstimatorGradient)
