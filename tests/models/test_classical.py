"""The classical DDPM/DDIM references of :mod:`qdm_qiskit.models.classical`.

Closed forms first: for Gaussian data ``x_0 ~ N(m, s^2)`` the posterior means are known,

    E[eps | x_t] = sqrt(1 - abar) (x_t - sqrt(abar) m) / (abar s^2 + 1 - abar)
    E[x_0 | x_t] = m + s^2 sqrt(abar) (x_t - sqrt(abar) m) / (abar s^2 + 1 - abar)

so an oracle predicting either must make the DDPM and DDIM samplers return ``N(m, s^2)``, and the
training losses cannot go below ``E_t[abar s^2 / (abar s^2 + 1 - abar)]`` (eps) or
``E_t[s^2 (1 - abar) / (abar s^2 + 1 - abar)]`` (x0). Then the references on the shipped jets.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from qdm_qiskit.baseline import GaussianDiffusion, MLPDenoiser, sample, train_ddpm
from qdm_qiskit.baseline.denoiser import MinMax
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.models import classical
from qdm_qiskit.models.angle import images_from_pixel_values, pixel_values
from qdm_qiskit.models.classical import (
    ClassicalConfig,
    SanityRow,
    matched_network,
    sanity_markdown,
    seed_notebook_row,
    train_reference,
    usual_network,
)
from qdm_qiskit.models.compare import real_jets
from qdm_qiskit.models.config import DataConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.options import options_from_dict
from qdm_qiskit.results.comparison import agreement
from qdm_qiskit.results.evaluation import PHYSICS_METRICS, SampleSet, evaluate, valid_images

MEAN, STD = 0.3, 0.2


@pytest.fixture(scope="module")
def jets() -> JetImageData:
    return load_image_data(DataConfig(npix=4, max_jets=1200))


def _weights(network: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in network.parameters()]


def _same_weights(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("steps", 1, "classical.steps"),
        ("steps", True, "classical.steps"),
        ("steps", 20.0, "classical.steps"),
        ("ddim_steps", -1, "classical.ddim_steps"),
        ("ddim_steps", 500, "at most steps"),
        ("hidden", 0, "classical.hidden"),
        ("depth", 0, "classical.depth"),
        ("epochs", 0, "classical.epochs"),
        ("batch_size", "128", "classical.batch_size"),
        ("notebook_epochs", -1, "classical.notebook_epochs"),
        ("schedule", "quadratic", "classical.schedule"),
        ("beta_start", 0.0, "classical.beta_start"),
        ("beta_end", 1.0, "classical.beta_end"),
        ("beta_end", float("nan"), "classical.beta_end"),
        ("beta_start", "0.1", "classical.beta_start"),
        ("learning_rate", -1e-3, "classical.learning_rate"),
        ("learning_rate", float("inf"), "classical.learning_rate"),
        ("learning_rate", True, "classical.learning_rate"),
    ],
)
def test_config_rejects_bad_values(field: str, value: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        ClassicalConfig(**{field: value})
    # the same through the config-file path
    with pytest.raises(ConfigError, match=fragment):
        options_from_dict(ClassicalConfig, {field: value}, context="classical")


def test_config_rejects_unknown_fields_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"unknown option 'epoch'.*did you mean 'epochs'"):
        options_from_dict(ClassicalConfig, {"epoch": 3}, context="classical")


def test_config_from_a_mapping_and_its_ddim_steps() -> None:
    config = options_from_dict(ClassicalConfig, {"epochs": 3, "schedule": "cosine", "steps": 50})
    assert (config.epochs, config.schedule, config.steps) == (3, "cosine", 50)
    assert config.fast_steps == 5  # T / 10 by default
    assert ClassicalConfig(steps=50, ddim_steps=7).fast_steps == 7
    assert ClassicalConfig(steps=50, ddim_steps=50).fast_steps == 50
    assert ClassicalConfig(steps=5).fast_steps == 1  # never zero steps
    diffusion = ClassicalConfig(steps=50, schedule="cosine").diffusion()
    assert diffusion.steps == 50
    np.testing.assert_allclose(
        diffusion.alpha_bars.numpy(),
        NoiseSchedule(kind="cosine", steps=50).alpha_bars,
        rtol=1e-6,
    )


# --------------------------------------------------------------------------- closed forms


def _gaussian_diffusion() -> GaussianDiffusion:
    schedule = NoiseSchedule(kind="linear", steps=500, start=1e-4, end=0.04)
    return GaussianDiffusion(schedule, dtype=torch.float64)


class Oracle(torch.nn.Module):
    """The exact posterior mean of ``eps`` or ``x_0`` given ``x_t`` for ``N(MEAN, STD^2)`` data."""

    def __init__(self, diffusion: GaussianDiffusion, prediction: str) -> None:
        super().__init__()
        self.alpha_bars = diffusion.alpha_bars
        self.prediction = prediction

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = self.alpha_bars.to(x_t.dtype)[t][:, None]
        centred = (x_t - abar.sqrt() * MEAN) / (abar * STD**2 + 1 - abar)
        if self.prediction == "eps":
            return (1 - abar).sqrt() * centred
        return MEAN + STD**2 * abar.sqrt() * centred


@pytest.mark.parametrize("prediction", ["eps", "x0"])
@pytest.mark.parametrize(
    ("method", "fraction", "eta", "tolerance"),
    [("ddpm", None, 0.0, 0.01), ("ddim", 1.0, 0.0, 0.01), ("ddim", 0.5, 0.0, 0.015),
     ("ddim", 0.5, 1.0, 0.02)],
)  # fmt: skip
def test_samplers_with_an_oracle_recover_the_gaussian(
    prediction: str, method: str, fraction: float | None, eta: float, tolerance: float
) -> None:
    diffusion = _gaussian_diffusion()
    steps = None if fraction is None else int(fraction * diffusion.steps)
    oracle = Oracle(diffusion, prediction)
    x = sample(oracle, diffusion, 20_000, 1, seed=0, method=method, steps=steps, eta=eta,
               clip=None, prediction=prediction, dtype=torch.float64)  # fmt: skip
    assert abs(float(x.mean()) - MEAN) < tolerance, float(x.mean())
    assert abs(float(x.std()) - STD) < tolerance, float(x.std())


@pytest.mark.parametrize("method", ["ddpm", "ddim"])
def test_x0_and_eps_oracles_give_the_same_samples(method: str) -> None:
    # The two oracles describe the same predictor: eps_from_x0 of the x0 posterior mean is the
    # eps posterior mean, so the samplers must produce the same numbers from the same seed.
    diffusion = _gaussian_diffusion()
    runs = {
        p: sample(
            Oracle(diffusion, p),
            diffusion,
            500,
            2,
            seed=3,
            method=method,
            steps=50,
            prediction=p,
            dtype=torch.float64,
        )
        for p in ("eps", "x0")
    }
    torch.testing.assert_close(runs["eps"], runs["x0"], rtol=1e-9, atol=1e-9)


def test_a_prediction_read_as_the_other_kind_is_detected() -> None:
    diffusion = _gaussian_diffusion()
    x = sample(Oracle(diffusion, "x0"), diffusion, 5000, 1, seed=0, prediction="eps",
               dtype=torch.float64)  # fmt: skip
    assert abs(float(x.std()) - STD) > 0.1 or abs(float(x.mean()) - MEAN) > 0.1


def test_eps_from_x0_inverts_predicted_x0() -> None:
    diffusion = _gaussian_diffusion()
    generator = torch.Generator().manual_seed(0)
    x_t = torch.randn(64, 3, generator=generator, dtype=torch.float64)
    eps = torch.randn(64, 3, generator=generator, dtype=torch.float64)
    for t in (1, 37, 500):
        x0 = diffusion.predicted_x0(x_t, t, eps)
        torch.testing.assert_close(diffusion.eps_from_x0(x_t, t, x0), eps)
        abar = float(diffusion.alpha_bars[t])
        torch.testing.assert_close(math.sqrt(abar) * x0 + math.sqrt(1 - abar) * eps, x_t)


def _train_gaussian(prediction: str) -> tuple[MLPDenoiser, GaussianDiffusion, object]:
    diffusion = GaussianDiffusion(NoiseSchedule(kind="cosine", steps=50))
    generator = torch.Generator().manual_seed(0)
    data = MEAN + STD * torch.randn(4000, 1, generator=generator)
    torch.manual_seed(1)
    network = MLPDenoiser(1, hidden=32, depth=2, steps=50)
    history = train_ddpm(network, diffusion, data, epochs=40, batch_size=128,
                         learning_rate=3e-3, seed=0, prediction=prediction)  # fmt: skip
    return network, diffusion, history


@pytest.mark.parametrize("prediction", ["eps", "x0"])
def test_training_reaches_the_closed_form_minimum_and_the_oracle(prediction: str) -> None:
    network, diffusion, history = _train_gaussian(prediction)
    abar = diffusion.alpha_bars[1:].double()
    spread = abar * STD**2 + 1 - abar
    if prediction == "eps":
        minimum = float((abar * STD**2 / spread).mean())
    else:
        minimum = float((STD**2 * (1 - abar) / spread).mean())
    other = float((abar * STD**2 / spread).mean() if prediction == "x0" else
                  (STD**2 * (1 - abar) / spread).mean())  # fmt: skip
    assert abs(minimum - other) > 0.5 * minimum  # the two targets are told apart
    final = float(history["train_loss"].iloc[-5:].mean())
    assert 0.9 * minimum < final < 1.1 * minimum, (prediction, final, minimum)
    assert history["train_loss"].iloc[0] > final
    # The network approximates the oracle on the marginal of x_t: its mean squared distance to
    # the oracle is a small fraction of the target's variance (1 for eps, STD^2 for x0).
    oracle = Oracle(diffusion, prediction)
    target_variance = 1.0 if prediction == "eps" else STD**2
    generator = torch.Generator().manual_seed(5)
    for t in (5, 10, 25, 40):
        steps = torch.full((4000,), t)
        x0 = MEAN + STD * torch.randn(4000, 1, generator=generator)
        x_t = diffusion.noised(x0, steps, torch.randn(4000, 1, generator=generator))
        with torch.no_grad():
            gap = float(((network(x_t, steps) - oracle(x_t, steps)) ** 2).mean())
        assert gap < 0.05 * target_variance, (prediction, t, gap)


# --------------------------------------------------------------------------- clipping


class Huge(torch.nn.Module):
    """A broken predictor: enormous ``x_0`` or ``eps`` of alternating sign."""

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        signs = torch.where(torch.arange(x_t.shape[1]) % 2 == 0, 1.0, -1.0).to(x_t.dtype)
        return 1e6 * signs.expand_as(x_t)


@pytest.mark.parametrize("prediction", ["eps", "x0"])
@pytest.mark.parametrize("method", ["ddpm", "ddim"])
def test_clipping_keeps_the_samples_in_the_box(prediction: str, method: str) -> None:
    diffusion = ClassicalConfig(steps=100).diffusion()
    common = {"seed": 0, "method": method, "steps": 10 if method == "ddim" else None,
              "prediction": prediction}  # fmt: skip
    clipped = sample(Huge(), diffusion, 50, 4, clip=1.0, **common)
    assert torch.isfinite(clipped).all()
    assert float(clipped.abs().max()) <= 1.0 + 1e-4
    free = sample(Huge(), diffusion, 50, 4, clip=None, **common)
    assert float(free.abs().max()) > 1e3  # without the clip the broken predictor escapes


def test_clipped_x0_stays_in_the_box_and_eps_is_consistent() -> None:
    diffusion = _gaussian_diffusion()
    generator = torch.Generator().manual_seed(2)
    x_t = 3 * torch.randn(200, 4, generator=generator, dtype=torch.float64)
    eps = 5 * torch.randn(200, 4, generator=generator, dtype=torch.float64)
    for t in (1, 100, 500):
        free, same = diffusion.clipped_x0(x_t, t, eps, None)
        assert torch.equal(same, eps)
        x0, new_eps = diffusion.clipped_x0(x_t, t, eps, 0.5)
        assert float(x0.abs().max()) <= 0.5
        assert (free.abs() > 0.5).any()  # the clip did something
        torch.testing.assert_close(x0, free.clamp(-0.5, 0.5))
        torch.testing.assert_close(diffusion.predicted_x0(x_t, t, new_eps), x0)


# --------------------------------------------------------------------------- representation


def test_images_from_pixel_values_inverts_pixel_values(jets: JetImageData) -> None:
    images = jets.images[:200]
    values = pixel_values(images)
    assert values.shape == (200, 16)
    assert values.min() >= -1.0 and values.max() <= 1.0
    np.testing.assert_allclose(images_from_pixel_values(values, 4), images, atol=1e-15)


def test_images_from_pixel_values_clips_renormalises_and_keeps_nan_rows() -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(-1.5, 1.5, size=(6, 9))
    values[2, 4] = np.nan
    values[4] = -1.0  # no intensity left: the flat image
    images = images_from_pixel_values(values, 3)
    assert images.shape == (6, 3, 3)
    assert np.isnan(images[2]).all()
    keep = [0, 1, 3, 4, 5]
    assert np.isfinite(images[keep]).all()
    np.testing.assert_allclose(images[keep].sum(axis=(1, 2)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(images[4], 1.0 / 9)
    pixels = ((np.clip(values[0], -1, 1) + 1) / 2) ** 2
    np.testing.assert_allclose(images[0].ravel(), pixels / pixels.sum(), rtol=1e-12)
    valid = valid_images(images)
    assert valid.tolist() == [True, True, False, True, True, True]


# --------------------------------------------------------------------------- train_reference


def _small(epochs: int = 2, **changes: object) -> ClassicalConfig:
    return ClassicalConfig(steps=20, hidden=16, depth=1, epochs=epochs, **changes)


def test_same_seed_same_weights_other_seed_other_weights(jets: JetImageData) -> None:
    config = _small()

    def trained(seed: int, torch_seed: int):  # type: ignore[no-untyped-def]
        torch.manual_seed(torch_seed)  # the global generator must not matter
        return train_reference(jets, usual_network(16, config), name="r", config=config,
                               seed=seed, prediction="x0")  # fmt: skip

    first, again, other = trained(3, 0), trained(3, 99), trained(4, 0)
    assert _same_weights(_weights(first.network), _weights(again.network))
    assert first.history["train_loss"].tolist() == again.history["train_loss"].tolist()
    assert not _same_weights(_weights(first.network), _weights(other.network))
    assert len(first.history) == 2 and first.prediction == "x0" and first.seed == 3
    assert first.npix == 4 and first.parameters() == first.network.parameter_count()
    images, seconds = first.generate(30, seed=5, method="ddim")
    assert images.shape == (30, 4, 4) and seconds > 0
    assert valid_images(images).all()
    np.testing.assert_allclose(images.sum(axis=(1, 2)), 1.0, rtol=1e-9)
    again_images, _ = again.generate(30, seed=5, method="ddim")
    np.testing.assert_array_equal(images, again_images)


def test_untrained_reference_keeps_its_seeded_initial_weights(jets: JetImageData) -> None:
    config = _small()
    torch.manual_seed(0)
    a = train_reference(jets, usual_network(16, config), name="u", config=config, seed=7,
                        train=False)  # fmt: skip
    torch.manual_seed(1)
    b = train_reference(jets, usual_network(16, config), name="u", config=config, seed=7,
                        train=False)  # fmt: skip
    assert _same_weights(_weights(a.network), _weights(b.network))
    assert len(a.history) == 0
    assert list(a.history.columns) == ["epoch", "train_loss", "seconds"]
    c = train_reference(jets, usual_network(16, config), name="u", config=config, seed=8,
                        train=False)  # fmt: skip
    assert not _same_weights(_weights(a.network), _weights(c.network))
    # Training starts from exactly these weights: with a negligible step size they barely move.
    tiny = _small(epochs=1, learning_rate=1e-9)
    d = train_reference(jets, usual_network(16, tiny), name="t", config=tiny, seed=7)
    assert len(d.history) == 1
    for mine, start in zip(_weights(d.network), _weights(a.network), strict=True):
        torch.testing.assert_close(mine, start, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dim", [16, 64])
@pytest.mark.parametrize("budget", [1, 40, 64, 100, 257, 1000, 5000, 20000])
def test_matched_network_is_the_closest_achievable_to_the_budget(dim: int, budget: int) -> None:
    config = ClassicalConfig(steps=30)
    network = matched_network(dim, budget, config)
    assert network.time_features == 8 and network.steps == 30 and network.dim == dim
    linears = [m for m in network.body if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 2  # one hidden layer
    counts = [
        MLPDenoiser(dim, hidden=h, depth=1, time_features=8, steps=30).parameter_count()
        for h in range(1, budget // (2 * dim + 9) + 3)
    ]
    best = min(abs(c - budget) for c in counts)
    assert abs(network.parameter_count() - budget) == best, (network.parameter_count(), budget)


# --------------------------------------------------------------------------- on the jets


@pytest.fixture(scope="module")
def usual_evaluation(jets: JetImageData):  # type: ignore[no-untyped-def]
    config = replace(ClassicalConfig(), epochs=200)
    trained = train_reference(jets, usual_network(16, config), name="usual", config=config, seed=0)
    untrained = train_reference(jets, usual_network(16, config), name="untrained",
                                config=config, seed=0, train=False)  # fmt: skip
    sets = [
        SampleSet("ddpm", trained.generate(300, seed=1)[0]),
        SampleSet("ddim", trained.generate(300, seed=1, method="ddim")[0]),
        SampleSet("untrained", untrained.generate(300, seed=1)[0]),
    ]
    return evaluate(sets, real_jets(jets), bootstrap=10, seed=0, subsets=("all",))


def test_trained_usual_reference_beats_its_untrained_network(usual_evaluation) -> None:  # type: ignore[no-untyped-def]
    table = usual_evaluation.table.set_index(["set", "metric"])["value"]
    distances = [m for m in PHYSICS_METRICS if m.startswith("w1_") or m in ("fpd", "kpd")]
    present = [m for m in distances if ("ddpm", m) in table.index]
    assert len(present) >= len(distances) - 1  # only total_intensity (constant) may be missing
    for metric in present:
        trained, untrained = table[("ddpm", metric)], table[("untrained", metric)]
        assert untrained >= 5 * trained, (metric, trained, untrained)
    assert table[("ddpm", "classifier_auc")] < table[("untrained", "classifier_auc")]
    assert (usual_evaluation.table["n_invalid"] == 0).all()


def test_ddim_agrees_with_ddpm_on_most_metrics(usual_evaluation) -> None:  # type: ignore[no-untyped-def]
    check = agreement(usual_evaluation, "ddpm", "ddim")
    assert len(check) == usual_evaluation.table["metric"].nunique()
    agreeing = check[check["agree"]]["metric"].tolist()
    print(f"DDIM (T/10) vs DDPM: {len(agreeing)} of {len(check)} agree: {agreeing}")
    assert 2 * len(agreeing) > len(check), check
    # the untrained network agrees with neither on the physics
    assert not agreement(usual_evaluation, "ddpm", "untrained")["agree"].any()


# --------------------------------------------------------------------------- sanity row


def test_minmax_is_fitted_on_the_training_data_only() -> None:
    train = np.array([[0.0, 2.0], [4.0, 1.0]])
    test = np.array([[-2.0, 6.0]])
    scale = MinMax.fit(train)
    assert (scale.low, scale.high) == (0.0, 4.0)
    np.testing.assert_allclose(scale(train), train / 4.0)
    np.testing.assert_allclose(scale(test), [[-0.5, 1.5]])  # test values may leave [0, 1]
    with pytest.raises(ConfigError, match="spread"):
        MinMax.fit(np.ones((3, 2)))


def test_seed_notebook_row_fits_minmax_on_the_training_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[np.ndarray] = []
    original = MinMax.fit.__func__  # type: ignore[attr-defined]

    def spy(cls, train):  # type: ignore[no-untyped-def]
        seen.append(np.array(train))
        return original(cls, train)

    monkeypatch.setattr(classical.MinMax, "fit", classmethod(spy))
    # a test jet far outside the training range must not change the scaling
    small = load_image_data(DataConfig(npix=4, max_jets=300))
    particles = small.particles.copy()
    particles[small.splits.test[0], 0, 0] = 1e6
    row = seed_notebook_row(particles, small.splits, seed=0, epochs=1)
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], particles[small.splits.train])
    assert seen[0].max() < 1e6
    assert row.test_jets == len(small.splits.test)


def test_seed_notebook_row_denoises() -> None:
    # One epoch on 240 training jets is only two optimiser steps, which do not beat the noisy
    # input; six epochs (12 steps) do.
    small = load_image_data(DataConfig(npix=4, max_jets=300))
    row = seed_notebook_row(small.particles, small.splits, seed=0, epochs=6)
    assert isinstance(row, SanityRow)
    assert row.test_jets == len(small.splits.test) and row.epochs == 6
    assert row.noisy_mse == pytest.approx(0.01, rel=0.1)  # sigma^2 of the added noise
    assert row.mse < row.noisy_mse, row
    assert row.ssim > row.noisy_ssim, row
    text = sanity_markdown(row)
    assert text.startswith("## Sanity row")
    assert f"| denoised | {row.mse:.3g} | {row.ssim:.3g} |" in text
    assert f"| noisy input | {row.noisy_mse:.3g} | {row.noisy_ssim:.3g} |" in text
