"""The classical baseline against closed forms, for Gaussian data ``x_0 ~ N(m, s^2)``.

The posterior means of ``eps``, ``x_0`` and ``v`` given ``x_t`` are known exactly (see
:mod:`tests.baseline.gaussian`), so an oracle predicting any of them must make the DDPM and DDIM
samplers return ``N(m, s^2)``, the three oracles must give the same samples, and training cannot
go below the posterior variances ``E_t[abar s^2 / D]`` (eps), ``E_t[s^2 (1 - abar) / D]`` (x0)
and ``E_t[s^2 / D]`` (v), ``D = abar s^2 + 1 - abar``.
"""

from __future__ import annotations

import math

import pytest
import torch

from qdm_qiskit.baseline import GaussianDiffusion, MLPDenoiser, sample, train_ddpm
from qdm_qiskit.diffusion import NoiseSchedule
from tests.baseline.gaussian import KINDS, MEAN, STD, Oracle, gaussian_diffusion, minimum_loss

# --------------------------------------------------------------------------- the oracle itself


@pytest.mark.parametrize("prediction", KINDS)
def test_the_oracle_is_the_posterior_mean_and_its_error_the_posterior_variance(
    prediction: str,
) -> None:
    # A conditional mean leaves a residual of mean zero that is uncorrelated with x_t (for a
    # Gaussian pair: independent of it), and its mean square is the posterior variance.
    diffusion = gaussian_diffusion()
    oracle = Oracle(diffusion.alpha_bars, prediction)
    generator = torch.Generator().manual_seed(0)
    count = 200_000
    for t in (1, 20, 100, 180, 200):
        steps = torch.full((count,), t)
        x0 = MEAN + STD * torch.randn(count, 1, generator=generator, dtype=torch.float64)
        noise = torch.randn(count, 1, generator=generator, dtype=torch.float64)
        x_t = diffusion.noised(x0, steps, noise)
        residual = diffusion.target(prediction, x0, steps, noise) - oracle(x_t, steps)
        variance = float(minimum_loss(diffusion.alpha_bars[t], prediction))
        scale = math.sqrt(variance / count)
        assert abs(float(residual.mean())) < 5 * scale, (t, float(residual.mean()))
        covariance = float(((residual - residual.mean()) * (x_t - x_t.mean())).mean())
        assert abs(covariance) < 5 * scale * float(x_t.std()), (t, covariance)
        assert abs(float((residual**2).mean()) / variance - 1) < 0.02, t


def test_the_three_minima_are_told_apart() -> None:
    # eps and v are the closest (the v minimum is the sum of the other two, per step): still
    # 15% apart, more than the 10% the training test below allows.
    abar = gaussian_diffusion().alpha_bars[1:]
    minima = {p: float(minimum_loss(abar, p).mean()) for p in KINDS}
    for first in KINDS:
        for second in KINDS:
            if first != second:
                assert abs(minima[first] - minima[second]) > 0.15 * minima[first], minima


# --------------------------------------------------------------------------- samplers


@pytest.mark.parametrize("prediction", KINDS)
@pytest.mark.parametrize(
    ("method", "fraction", "eta"),
    [("ddpm", None, 0.0), ("ddim", 1.0, 0.0), ("ddim", 0.5, 0.0), ("ddim", 0.5, 1.0)],
)
def test_samplers_with_an_oracle_recover_the_gaussian(
    prediction: str, method: str, fraction: float | None, eta: float
) -> None:
    # 4000 samples: the statistical error of the mean and spread is ~0.003; the rest of the
    # tolerance is the samplers' discretisation (DDPM's fixed beta~ variance and DDIM's first
    # order solver shrink the spread by a few per cent at T = 200).
    diffusion = gaussian_diffusion()
    steps = None if fraction is None else int(fraction * diffusion.steps)
    x = sample(Oracle(diffusion.alpha_bars, prediction), diffusion, 4000, 1, seed=0,
               method=method, steps=steps, eta=eta, prediction=prediction,
               dtype=torch.float64)  # fmt: skip
    assert abs(float(x.mean()) - MEAN) < 0.01, float(x.mean())
    assert abs(float(x.std()) - STD) < 0.015, float(x.std())


@pytest.mark.parametrize(("method", "steps", "eta"), [("ddpm", None, 0.0), ("ddim", 50, 0.0),
                                                      ("ddim", 20, 1.0)])  # fmt: skip
def test_the_three_oracles_give_the_same_samples(
    method: str, steps: int | None, eta: float
) -> None:
    # The oracles describe one predictor: eps_from_prediction of the x0 or v posterior mean is
    # the eps posterior mean, so the samplers must produce the same numbers from the same seed
    # (including the noise draws of DDPM and of DDIM with eta > 0).
    diffusion = gaussian_diffusion()
    runs = {
        p: sample(
            Oracle(diffusion.alpha_bars, p),
            diffusion,
            300,
            2,
            seed=3,
            method=method,
            steps=steps,
            eta=eta,
            prediction=p,
            dtype=torch.float64,
        )
        for p in KINDS
    }
    torch.testing.assert_close(runs["x0"], runs["eps"], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(runs["v"], runs["eps"], rtol=1e-9, atol=1e-9)
    other = sample(Oracle(diffusion.alpha_bars, "eps"), diffusion, 300, 2, seed=4, method=method,
                   steps=steps, eta=eta, dtype=torch.float64)  # fmt: skip
    assert not torch.allclose(other, runs["eps"])


@pytest.mark.parametrize(("oracle", "read_as"), [("x0", "eps"), ("v", "eps"), ("eps", "v"),
                                                 ("v", "x0")])  # fmt: skip
def test_a_prediction_read_as_another_kind_is_detected(oracle: str, read_as: str) -> None:
    diffusion = gaussian_diffusion()
    x = sample(Oracle(diffusion.alpha_bars, oracle), diffusion, 2000, 1, seed=0, method="ddim",
               steps=50, prediction=read_as, dtype=torch.float64)  # fmt: skip
    wrong_mean, wrong_std = abs(float(x.mean()) - MEAN), abs(float(x.std()) - STD)
    assert not torch.isfinite(x).all() or wrong_mean > 0.1 or wrong_std > 0.1, (
        float(x.mean()),
        float(x.std()),
    )


# --------------------------------------------------------------------------- conversions


@pytest.mark.parametrize("prediction", KINDS)
def test_target_and_eps_from_prediction_are_inverse(prediction: str) -> None:
    diffusion = gaussian_diffusion()
    generator = torch.Generator().manual_seed(1)
    x0 = torch.randn(64, 1, 3, 3, generator=generator, dtype=torch.float64)
    noise = torch.randn(64, 1, 3, 3, generator=generator, dtype=torch.float64)
    steps = torch.randint(1, diffusion.steps + 1, (64,), generator=generator)
    x_t = diffusion.noised(x0, steps, noise)
    target = diffusion.target(prediction, x0, steps, noise)
    torch.testing.assert_close(diffusion.eps_from_prediction(prediction, x_t, steps, target), noise)
    # a scalar step, as the samplers pass it
    for t in (1, 77, diffusion.steps):
        every = torch.full((64,), t)
        x_t = diffusion.noised(x0, every, noise)
        target = diffusion.target(prediction, x0, every, noise)
        torch.testing.assert_close(diffusion.eps_from_prediction(prediction, x_t, t, target), noise)
    # the x0 and v targets are not the noise itself (the check above is not trivial)
    if prediction != "eps":
        assert not torch.allclose(target, noise)


def test_the_v_target_is_the_velocity() -> None:
    diffusion = gaussian_diffusion()
    generator = torch.Generator().manual_seed(2)
    x0 = torch.randn(10, 2, generator=generator, dtype=torch.float64)
    noise = torch.randn(10, 2, generator=generator, dtype=torch.float64)
    steps = torch.arange(1, 200, 20)
    abar = diffusion.alpha_bars[steps][:, None]
    expected = abar.sqrt() * noise - (1 - abar).sqrt() * x0
    torch.testing.assert_close(diffusion.target("v", x0, steps, noise), expected)
    assert torch.equal(diffusion.target("x0", x0, steps, noise), x0)
    assert torch.equal(diffusion.target("eps", x0, steps, noise), noise)


def test_eps_from_x0_inverts_predicted_x0() -> None:
    diffusion = gaussian_diffusion()
    generator = torch.Generator().manual_seed(0)
    x_t = torch.randn(64, 3, generator=generator, dtype=torch.float64)
    eps = torch.randn(64, 3, generator=generator, dtype=torch.float64)
    for t in (1, 37, 200):
        x0 = diffusion.predicted_x0(x_t, t, eps)
        torch.testing.assert_close(diffusion.eps_from_x0(x_t, t, x0), eps)
        abar = float(diffusion.alpha_bars[t])
        torch.testing.assert_close(math.sqrt(abar) * x0 + math.sqrt(1 - abar) * eps, x_t)


# --------------------------------------------------------------------------- training


def _train_gaussian(prediction: str) -> tuple[MLPDenoiser, GaussianDiffusion, object]:
    diffusion = GaussianDiffusion(NoiseSchedule(kind="cosine", steps=50))
    generator = torch.Generator().manual_seed(0)
    data = MEAN + STD * torch.randn(4000, 1, generator=generator)
    torch.manual_seed(1)
    network = MLPDenoiser(1, hidden=32, depth=2, steps=50)
    history = train_ddpm(network, diffusion, data, iterations=600, batch_size=256,
                         learning_rate=1e-2, lr_schedule="onecycle", seed=0,
                         prediction=prediction)  # fmt: skip
    return network, diffusion, history


@pytest.mark.parametrize("prediction", KINDS)
def test_training_reaches_the_closed_form_minimum_and_the_oracle(prediction: str) -> None:
    network, diffusion, history = _train_gaussian(prediction)
    minimum = float(minimum_loss(diffusion.alpha_bars[1:], prediction).mean())
    oracle = Oracle(diffusion.alpha_bars, prediction)
    # On fresh (t, x0, eps), the oracle's loss is the closed form (checked numerically) and the
    # trained network's is within a few per cent of it, never clearly below (common samples).
    generator = torch.Generator().manual_seed(9)
    count = 100_000
    steps = torch.randint(1, diffusion.steps + 1, (count,), generator=generator)
    x0 = MEAN + STD * torch.randn(count, 1, generator=generator)
    noise = torch.randn(count, 1, generator=generator)
    x_t = diffusion.noised(x0, steps, noise)
    target = diffusion.target(prediction, x0, steps, noise)
    with torch.no_grad():
        best = float(((oracle(x_t, steps) - target) ** 2).mean())
        trained = float(((network(x_t, steps) - target) ** 2).mean())
    assert abs(best / minimum - 1) < 0.02, (prediction, best, minimum)
    assert 0.99 * best < trained < 1.05 * best, (prediction, trained, best)
    # The training loss itself ends near the minimum (the last epochs: ~16 000 samples).
    final = float(history["train_loss"].iloc[-4:].mean())
    assert 0.9 * minimum < final < 1.1 * minimum, (prediction, final, minimum)
    assert history["train_loss"].iloc[0] > final
    # The network approximates the oracle on the marginal of x_t: its mean squared distance to
    # the oracle is a small fraction of the target's variance (at most 1 for eps and v, s^2 for
    # x0).
    target_variance = STD**2 if prediction == "x0" else 1.0
    for t in (5, 10, 25, 40):
        every = torch.full((4000,), t)
        x0 = MEAN + STD * torch.randn(4000, 1, generator=generator)
        x_t = diffusion.noised(x0, every, torch.randn(4000, 1, generator=generator))
        with torch.no_grad():
            gap = float(((network(x_t, every) - oracle(x_t, every)) ** 2).mean())
        assert gap < 0.05 * target_variance, (prediction, t, gap)


# --------------------------------------------------------------------------- clipping


class Huge(torch.nn.Module):
    """A broken predictor: enormous outputs of alternating sign."""

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        signs = torch.where(torch.arange(x_t.shape[1]) % 2 == 0, 1.0, -1.0).to(x_t.dtype)
        return 1e6 * signs.expand_as(x_t)


@pytest.mark.parametrize("prediction", KINDS)
@pytest.mark.parametrize("method", ["ddpm", "ddim"])
def test_clipping_keeps_the_samples_in_the_box(prediction: str, method: str) -> None:
    diffusion = GaussianDiffusion(NoiseSchedule(kind="cosine", steps=100))
    common = {"seed": 0, "method": method, "steps": 10 if method == "ddim" else None,
              "prediction": prediction}  # fmt: skip
    clipped = sample(Huge(), diffusion, 50, 4, clip=1.0, **common)
    assert torch.isfinite(clipped).all()
    assert float(clipped.abs().max()) <= 1.0 + 1e-4
    free = sample(Huge(), diffusion, 50, 4, clip=None, **common)
    assert float(free.abs().max()) > 1e3  # without the clip the broken predictor escapes


def test_clipped_x0_stays_in_the_box_and_eps_is_consistent() -> None:
    diffusion = gaussian_diffusion()
    generator = torch.Generator().manual_seed(2)
    x_t = 3 * torch.randn(200, 4, generator=generator, dtype=torch.float64)
    eps = 5 * torch.randn(200, 4, generator=generator, dtype=torch.float64)
    for t in (1, 100, 200):
        free, same = diffusion.clipped_x0(x_t, t, eps, None)
        assert torch.equal(same, eps)
        x0, new_eps = diffusion.clipped_x0(x_t, t, eps, 0.5)
        assert float(x0.abs().max()) <= 0.5
        assert (free.abs() > 0.5).any()  # the clip did something
        torch.testing.assert_close(x0, free.clamp(-0.5, 0.5))
        torch.testing.assert_close(diffusion.predicted_x0(x_t, t, new_eps), x0)
