"""The angle family's generation fixes (issue 16, item 3): v-prediction, standardised pixels,
whole-image re-uploading, any patch width, and samples that keep the jets' spread."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from qiskit.quantum_info import SparsePauliOp, Statevector

from qdm_qiskit.circuits.reupload import reuploading_denoiser
from qdm_qiskit.engine import CompiledCircuit, expectation_z
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models import DataConfig, ModelConfig, RunConfig, TrainConfig, build_model
from qdm_qiskit.models.angle import AngleDenoiser
from qdm_qiskit.models.config import QUICK_RUN
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.models.train import train_model
from qdm_qiskit.workflows.quantum import load_model

DATA = DataConfig(npix=4, max_jets=400)
TRAIN = TrainConfig(epochs=1, batch_size=32, seed=3, dtype="complex128")


def angle(**model: object) -> AngleDenoiser:
    fields = {"family": "angle", "num_qubits": 4, "layers": 2, "steps": 5, **model}
    built = build_model(RunConfig(data=DATA, model=ModelConfig(**fields), train=TRAIN))  # type: ignore[arg-type]
    assert isinstance(built, AngleDenoiser)
    return built


@pytest.fixture(scope="module")
def data() -> JetImageData:
    return load_image_data(DATA)


# -- the re-uploading circuit ------------------------------------------------------------------


def test_reuploading_circuit_has_one_block_per_chunk_and_named_inputs() -> None:
    circuit = reuploading_denoiser(num_qubits=3, chunks=5, layers=2)
    roles = circuit.metadata["parameter_roles"]
    assert roles["x"] == roles["tau"] == "input"
    assert [name for name, role in roles.items() if role == "weight"] == [
        f"theta_c{k}" for k in range(5)
    ]
    assert circuit.metadata["num_weights"] == 5 * 2 * 2 * 3
    assert circuit.num_parameters == 5 * 12 + 5 * 3 + 1


def test_reuploading_circuit_on_the_engine_matches_statevector() -> None:
    circuit = reuploading_denoiser(num_qubits=3, chunks=3, layers=1)
    engine = CompiledCircuit(circuit, dtype=torch.complex128)
    rng = np.random.default_rng(4)
    weights = rng.uniform(-np.pi, np.pi, engine.num_weights)
    inputs = rng.uniform(-np.pi, np.pi, (2, engine.num_inputs))
    readout = expectation_z(engine(torch.tensor(weights), torch.tensor(inputs))).numpy()
    for row in range(2):
        values = dict(zip(engine.weight_parameters, weights, strict=True))
        values |= dict(zip(engine.input_parameters, inputs[row], strict=True))
        state = Statevector(circuit.assign_parameters(values))
        expected = [
            state.expectation_value(SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], 3)).real
            for q in range(3)
        ]
        np.testing.assert_allclose(readout[row], expected, atol=1e-10)


# -- information flow between patches ----------------------------------------------------------


@pytest.mark.parametrize(("context", "flows"), [("patch", False), ("image", True)])
def test_a_pixel_reaches_other_patches_only_with_image_context(context: str, flows: bool) -> None:
    model = angle(context=context)
    x_t = torch.randn((3, 16), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x_t.requires_grad_(True)
    steps = torch.full((3,), 2)
    output = model.predict(x_t, steps)
    output[:, 4:].sum().backward()  # patches 1..3
    assert x_t.grad is not None
    reached = float(x_t.grad[:, :4].abs().max())  # the pixels of patch 0
    assert (reached > 1e-6) is flows


def test_image_context_puts_each_rows_own_patch_last() -> None:
    model = angle(context="image")
    x_t = torch.arange(16, dtype=torch.float64)[None] / 20
    inputs = model.circuit_inputs(x_t, torch.tensor([1]))
    names = model.engine.input_names
    for patch in range(4):
        last = [inputs[patch, names.index(f"x[{12 + q}]")] for q in range(4)]
        expected = 2 * torch.atan(x_t[0, 4 * patch : 4 * patch + 4])
        torch.testing.assert_close(torch.stack(last), expected)
        assert float(inputs[patch, names.index("tau[0]")]) == pytest.approx(float(model.taus[1]))


@pytest.mark.parametrize(("num_qubits", "context"), [(3, "patch"), (5, "image"), (6, "patch")])
def test_patch_width_that_does_not_divide_the_image_is_padded(
    num_qubits: int, context: str
) -> None:
    model = angle(num_qubits=num_qubits, context=context)
    patches = -(-16 // num_qubits)
    x_t = torch.randn((2, 16), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert model.circuit_inputs(x_t, torch.tensor([1, 2])).shape[0] == 2 * patches
    assert model.predict(x_t, torch.tensor([1, 2])).shape == (2, 16)
    samples = model.sample(3, seed=0)
    assert samples.shape == (3, 4, 4)
    np.testing.assert_allclose(samples.sum(axis=(1, 2)), 1.0, atol=1e-9)


# -- v-prediction and standardised pixels ------------------------------------------------------


@pytest.mark.parametrize("standardise", [False, True])
def test_v_prediction_recovers_x0(standardise: bool, data: JetImageData) -> None:
    model = angle(prediction="v", standardise=standardise)
    model.fit(data.part("train"))
    x0 = model.encode(data.part("test")[:5])
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(2), dtype=x0.dtype)
    abar = model.alpha_bars[3]
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    v = abar.sqrt() * eps - (1 - abar).sqrt() * x0
    torch.testing.assert_close(model._x0_from_output(v, x_t, 3), x0)


def test_v_loss_is_zero_for_the_true_v(data: JetImageData) -> None:
    model = angle(prediction="v", standardise=True)
    model.fit(data.part("train"))
    batch = model.encode(data.part("train")[:8])
    drawn: dict[str, torch.Tensor] = {}

    def oracle(x_t: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        abar = model.alpha_bars[steps][:, None]
        eps = (x_t - abar.sqrt() * batch) / (1 - abar).sqrt()
        drawn["eps"] = eps
        return abar.sqrt() * eps - (1 - abar).sqrt() * batch

    model.predict = oracle  # type: ignore[method-assign]
    assert float(model.loss(batch, torch.Generator().manual_seed(0))) < 1e-20
    model.predict = lambda x_t, steps: torch.zeros_like(x_t)  # type: ignore[method-assign]
    assert float(model.loss(batch, torch.Generator().manual_seed(0))) > 0.1


def test_standardised_pixels_have_zero_mean_and_unit_spread(data: JetImageData) -> None:
    model = angle(standardise=True)
    model.fit(data.part("train"))
    train = model.encode(data.part("train")).numpy()
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-9)
    assert 0 < float(model.zero_below) < 0.1


def test_standardised_decoding_inverts_encoding_up_to_zero_suppression(
    data: JetImageData,
) -> None:
    model = angle(standardise=True)
    model.fit(data.part("train"))
    images = data.part("test")
    decoded = model.decode(model.encode(images).numpy())
    kept = np.where(images < float(model.zero_below), 0.0, images)
    kept /= kept.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(decoded, kept, atol=1e-9)


def test_fitted_statistics_travel_with_the_checkpoint(data: JetImageData, tmp_path: Path) -> None:
    config = RunConfig(
        data=DATA,
        model=ModelConfig(
            family="angle", num_qubits=4, layers=1, steps=3, prediction="v", standardise=True
        ),
        train=TRAIN,
    )
    trained = train_model(config, data=data, checkpoint=tmp_path / "c.pt").model
    loaded = load_model(tmp_path / "c.pt")
    images = data.part("test")[:4]
    torch.testing.assert_close(loaded.encode(images), trained.encode(images))
    np.testing.assert_array_equal(loaded.sample(3, seed=5), trained.sample(3, seed=5))


@pytest.mark.parametrize("field", ["prediction", "context", "standardise"])
def test_angle_options_are_refused_for_the_state_family(field: str) -> None:
    value = {"prediction": "v", "context": "image", "standardise": True}[field]
    with pytest.raises(ConfigError, match=f"model.{field} applies to the angle family only"):
        ModelConfig(family="state", **{field: value})  # type: ignore[arg-type]


# -- what the samples look like ----------------------------------------------------------------


def summed_variance(images: np.ndarray) -> float:
    return float(images.reshape(len(images), -1).var(axis=0).sum())


def test_qdm_run_model_keeps_the_spread_the_old_one_collapsed(data: JetImageData) -> None:
    """Three epochs: the old x0 model's samples sit at the mean image, the new ones spread."""
    real = summed_variance(data.part("test"))
    ratios = {}
    for name, model in (("new", QUICK_RUN.model),
                        ("old", replace(QUICK_RUN.model, schedule="linear", prediction="x0",
                                        standardise=False))):  # fmt: skip
        config = RunConfig(data=DATA, model=model, train=replace(QUICK_RUN.train, epochs=3))
        trained = train_model(config, data=data).model
        ratios[name] = summed_variance(trained.sample(300, seed=1)) / real
    assert ratios["old"] < 0.15
    assert ratios["new"] > 0.4
