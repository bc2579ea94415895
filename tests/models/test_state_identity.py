"""The state family's noise scale and identity start (issue 16, item 4).

The direct state denoiser must beat the model that returns ``|x_t>`` unchanged. Two things stood
in the way: noise of norm ``sqrt(2^n)`` on a unit-norm image (the state was mostly noise even at
``alpha_bar = 0.95``), and a time embedding ``RZ(tau)`` that no shared PQC can undo at every
step, so the model could not even represent the identity.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qdm_qiskit.circuits import denoising_circuit
from qdm_qiskit.engine import fidelity
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models import DataConfig, ModelConfig, RunConfig, TrainConfig, build_model
from qdm_qiskit.models.data import load_image_data
from qdm_qiskit.models.state import StateDenoiser

DATA = DataConfig(npix=8, max_jets=300)
IDENTITY = RunConfig(
    data=DATA,
    model=ModelConfig(family="state", num_qubits=6, layers=4, steps=5, init="identity"),
    train=TrainConfig(epochs=1, dtype="complex128"),
)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return load_image_data(DATA).part("test")[:40]


def _model(config: RunConfig) -> StateDenoiser:
    model = build_model(config)
    assert isinstance(model, StateDenoiser)
    return model


@pytest.mark.parametrize(("scale", "expected"), [("image", 1.0), ("amplitude", 64.0)])
def test_noise_norm_follows_the_noise_scale(scale: str, expected: float) -> None:
    config = replace(IDENTITY, model=replace(IDENTITY.model, noise_scale=scale))
    noise = _model(config)._noise((4000, 64), torch.Generator().manual_seed(0))
    squared = torch.linalg.vector_norm(noise, dim=1) ** 2
    assert float(squared.mean()) == pytest.approx(expected, rel=0.02)


def test_alpha_bar_is_the_signal_share_of_the_noised_state(images: np.ndarray) -> None:
    # |<x0|x_t>|^2 ~ alpha_bar_t with noise of the image's norm; with unit noise per amplitude
    # the signal is swamped long before the schedule says so.
    shares = {}
    for scale in ("image", "amplitude"):
        model = _model(replace(IDENTITY, model=replace(IDENTITY.model, noise_scale=scale)))
        x0 = model.encode(np.repeat(images, 50, axis=0))
        step = torch.full((x0.shape[0],), 1)
        noised = model.noised(x0, step, model._noise(tuple(x0.shape), torch.Generator()))
        shares[scale] = float(fidelity(noised, x0).mean())
        alpha = float(model.alpha_bars[1])
    assert shares["image"] == pytest.approx(alpha, abs=0.03)
    assert shares["amplitude"] < alpha - 0.4


@torch.no_grad()
def test_an_identity_start_returns_its_input_at_every_step(images: np.ndarray) -> None:
    model = _model(IDENTITY)
    states = model.encode(images)
    for step in range(1, IDENTITY.model.steps + 1):
        out = model.denoise_step(states, step)
        assert float(fidelity(out, states).min()) == pytest.approx(1.0, abs=1e-9), step
    batch = model.encode(images)
    loss = model.loss(batch, torch.Generator().manual_seed(4))
    bar = model.identity_loss(batch, torch.Generator().manual_seed(4))
    assert float(loss) == pytest.approx(float(bar), abs=1e-9)
    assert float(bar) > 0.01  # the bar is not trivially zero
    # ...and its reconstruction is exactly the noised input
    np.testing.assert_allclose(
        model.reconstruct(images, seed=2), model.noised_images(images, seed=2), atol=1e-9
    )


@torch.no_grad()
def test_a_random_start_is_not_the_identity(images: np.ndarray) -> None:
    model = _model(replace(IDENTITY, model=replace(IDENTITY.model, init="random")))
    batch = model.encode(images)
    loss = model.loss(batch, torch.Generator().manual_seed(4))
    bar = model.identity_loss(batch, torch.Generator().manual_seed(4))
    assert float(loss) > float(bar) + 0.01


def test_the_hardware_circuit_of_an_identity_start_is_the_identity(images: np.ndarray) -> None:
    # The whole reverse process as the device runs it: amplitude encoding, T conjugated steps.
    model = _model(IDENTITY)
    states = model.encode(images[:3])
    circuit, values = model.sampling_circuit(states)
    bare = circuit.remove_final_measurements(inplace=False)
    for row, state in zip(values, states.numpy(), strict=True):
        produced = Statevector(bare.assign_parameters(row)).probabilities()
        np.testing.assert_allclose(produced, np.abs(state) ** 2, atol=1e-9)


def test_the_conjugate_embedding_undoes_the_phase_around_the_pqc() -> None:
    phase = denoising_circuit(num_data_qubits=2, layers=2, conditioning="time_embedding")
    conjugate = denoising_circuit(
        num_data_qubits=2, layers=2, conditioning="time_embedding", embedding="conjugate"
    )
    assert conjugate.count_ops()["rz"] == phase.count_ops()["rz"] + 2
    assert conjugate.metadata["arguments"]["embedding"] == "conjugate"
    zero = {p: 0.0 for p in conjugate.parameters if p.name.startswith("theta")}
    for tau in (0.3, 2.0):
        bound = conjugate.assign_parameters({**zero, **{p: tau for p in conjugate.parameters
                                                        if p.name.startswith("tau")}})  # fmt: skip
        assert Statevector(bound).equiv(Statevector.from_label("00"))
        plus = Statevector.from_label("++")
        assert plus.evolve(bound).equiv(plus)
    with pytest.raises(ConfigError, match="embedding"):
        denoising_circuit(num_data_qubits=2, layers=2, embedding="sandwich")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layers": 3}, "even number of layers"),
        ({"entangler": "cx"}, "entangler = 'cz'"),
        ({"family": "angle", "num_qubits": 4}, "state family only"),
        ({"noise_scale": "loud"}, "noise_scale"),
        ({"init": "zeros"}, "model.init"),
    ],
)
def test_bad_state_options_are_refused(changes: dict, message: str) -> None:
    fields = {"family": "state", "num_qubits": 6, "layers": 4, "init": "identity", **changes}
    with pytest.raises(ConfigError, match=message):
        ModelConfig(**fields)
