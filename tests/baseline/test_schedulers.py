"""diffusers' DDPM/DDIM schedulers against the project's own samplers, step by step.

Both are built on the same :class:`NoiseSchedule`; with the same oracle and seed they must draw
the same prior and the same noise, so their samples agree trajectory for trajectory (diffusers
keeps ``alphas_cumprod`` in float32, hence the 1e-4 tolerance on float64 samples).
"""

from __future__ import annotations

import pytest
import torch

from qdm_qiskit.baseline import (
    GaussianDiffusion,
    diffusers_scheduler,
    sample,
    sample_with_scheduler,
)
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError
from tests.baseline.gaussian import KINDS, MEAN, STD, Oracle, gaussian_diffusion

COUNT, DIM = 2000, 2


def _recovers_the_gaussian(x: torch.Tensor) -> None:
    assert abs(float(x.mean()) - MEAN) < 0.01, float(x.mean())
    assert abs(float(x.std()) - STD) < 0.015, float(x.std())


@pytest.mark.parametrize("prediction", KINDS)
def test_diffusers_ddpm_matches_the_project_sampler(prediction: str) -> None:
    diffusion = gaussian_diffusion()
    oracle = Oracle(diffusion.alpha_bars, prediction)
    scheduler = diffusers_scheduler(diffusion.schedule, "ddpm", prediction=prediction)
    theirs = sample_with_scheduler(oracle, scheduler, (COUNT, DIM), seed=5, dtype=torch.float64)
    ours = sample(oracle, diffusion, COUNT, DIM, seed=5, method="ddpm", prediction=prediction,
                  dtype=torch.float64)  # fmt: skip
    assert theirs.shape == ours.shape == (COUNT, DIM)
    assert float((theirs - ours).abs().max()) < 1e-4
    _recovers_the_gaussian(theirs)
    _recovers_the_gaussian(ours)
    # another seed draws other trajectories (the agreement is not a constant output)
    other = sample_with_scheduler(oracle, scheduler, (COUNT, DIM), seed=6, dtype=torch.float64)
    assert float((other - ours).abs().max()) > 0.1


@pytest.mark.parametrize("prediction", KINDS)
@pytest.mark.parametrize(("steps", "recovers"), [(200, True), (100, True), (20, False)])
def test_diffusers_ddim_matches_the_project_sampler(
    prediction: str, steps: int, recovers: bool
) -> None:
    # steps divides T = 200: diffusers' trailing spacing visits the project's grid.
    diffusion = gaussian_diffusion()
    oracle = Oracle(diffusion.alpha_bars, prediction)
    scheduler = diffusers_scheduler(diffusion.schedule, "ddim", prediction=prediction)
    theirs = sample_with_scheduler(oracle, scheduler, (COUNT, DIM), seed=5, steps=steps,
                                   dtype=torch.float64)  # fmt: skip
    ours = sample(oracle, diffusion, COUNT, DIM, seed=5, method="ddim", steps=steps,
                  prediction=prediction, dtype=torch.float64)  # fmt: skip
    assert float((theirs - ours).abs().max()) < 1e-4
    if recovers:  # 20 steps are too coarse for the first-order solver to keep the spread
        _recovers_the_gaussian(theirs)
    else:
        assert abs(float(theirs.mean()) - MEAN) < 0.02


@pytest.mark.parametrize("method", ["ddpm", "ddim"])
@pytest.mark.parametrize("prediction", KINDS)
def test_diffusers_clipping_matches_the_project_sampler(method: str, prediction: str) -> None:
    # A clip inside the data's range changes the samples; both implementations clip x0 and
    # recompute eps from it.
    diffusion = gaussian_diffusion(100)
    oracle = Oracle(diffusion.alpha_bars, prediction)
    steps = 10 if method == "ddim" else None
    scheduler = diffusers_scheduler(diffusion.schedule, method, clip=0.35, prediction=prediction)
    theirs = sample_with_scheduler(oracle, scheduler, (300, DIM), seed=1, steps=steps,
                                   dtype=torch.float64)  # fmt: skip
    ours = sample(oracle, diffusion, 300, DIM, seed=1, method=method, steps=steps, clip=0.35,
                  prediction=prediction, dtype=torch.float64)  # fmt: skip
    free = sample(oracle, diffusion, 300, DIM, seed=1, method=method, steps=steps,
                  prediction=prediction, dtype=torch.float64)  # fmt: skip
    assert float((theirs - ours).abs().max()) < 1e-4
    assert float(ours.max()) <= 0.35 + 1e-9
    assert float(free.max()) > 0.4


class Recorder(torch.nn.Module):
    """The eps oracle, recording the steps it is called with."""

    def __init__(self, alpha_bars: torch.Tensor) -> None:
        super().__init__()
        self.oracle = Oracle(alpha_bars, "eps")
        self.calls: list[int] = []

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        assert t.shape == (x_t.shape[0],) and t.dtype == torch.int64
        assert bool((t == t[0]).all())
        self.calls.append(int(t[0]))
        return self.oracle(x_t, t)


@pytest.mark.parametrize(("method", "steps"), [("ddpm", None), ("ddim", 200), ("ddim", 40),
                                               ("ddim", 8), ("ddim", 1)])  # fmt: skip
def test_the_network_sees_the_projects_steps(method: str, steps: int | None) -> None:
    diffusion = gaussian_diffusion()
    theirs, ours = Recorder(diffusion.alpha_bars), Recorder(diffusion.alpha_bars)
    sample_with_scheduler(theirs, diffusers_scheduler(diffusion.schedule, method), (4, 1),
                          seed=0, steps=steps, dtype=torch.float64)  # fmt: skip
    sample(ours, diffusion, 4, 1, seed=0, method=method, steps=steps, dtype=torch.float64)
    count = steps or diffusion.steps
    expected = [diffusion.steps - k * diffusion.steps // count for k in range(count)]
    assert ours.calls == expected
    assert theirs.calls == expected  # 1..T, never diffusers' 0..T-1


def test_add_noise_is_the_forward_process() -> None:
    schedule = NoiseSchedule(kind="linear", steps=300, start=1e-4, end=0.03)
    diffusion = GaussianDiffusion(schedule)
    scheduler = diffusers_scheduler(schedule, "ddpm")
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(300, 1, 4, 4, generator=generator)
    noise = torch.randn(300, 1, 4, 4, generator=generator)
    steps = torch.arange(1, 301)
    theirs = scheduler.add_noise(x0, noise, steps - 1)
    torch.testing.assert_close(theirs, diffusion.noised(x0, steps, noise), rtol=1e-5, atol=1e-5)
    # off by one step would be visible
    shifted = diffusion.noised(x0, steps.clamp(max=299) + 1, noise)
    assert float((theirs - shifted).abs().max()) > 1e-3


def test_batching_and_labels_do_not_change_the_samples() -> None:
    # A class-conditional Gaussian: label k has mean MEANS[k]. The labels must reach the rows
    # they belong to in every chunk of batch_size.
    diffusion = gaussian_diffusion(100)
    means = torch.tensor([-0.5, 0.5], dtype=torch.float64)
    oracle = Oracle(diffusion.alpha_bars, "eps")

    def network(x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        assert labels.shape == (x_t.shape[0],)
        return oracle.predict(x_t, t, means[labels])

    labels = torch.arange(1000) % 3 % 2  # unequal classes, interleaved
    scheduler = diffusers_scheduler(diffusion.schedule, "ddim")
    whole = sample_with_scheduler(network, scheduler, (1000, 1), seed=2, steps=20, labels=labels,
                                  dtype=torch.float64)  # fmt: skip
    chunked = sample_with_scheduler(network, scheduler, (1000, 1), seed=2, steps=20,
                                    labels=labels, dtype=torch.float64, batch_size=7)  # fmt: skip
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-12)
    for label in (0, 1):
        rows = whole[labels == label]
        assert abs(float(rows.mean()) - float(means[label])) < 0.03, label


def test_bad_arguments_are_refused() -> None:
    schedule = NoiseSchedule(kind="cosine", steps=20)
    with pytest.raises(ConfigError, match="ddpm or ddim"):
        diffusers_scheduler(schedule, "euler")
    with pytest.raises(ConfigError, match="eps, x0 or v"):
        diffusers_scheduler(schedule, "ddpm", prediction="score")
    scheduler = diffusers_scheduler(schedule, "ddim")
    oracle = Oracle(GaussianDiffusion(schedule).alpha_bars, "eps")
    for steps in (0, 21, -3):
        with pytest.raises(ConfigError, match=r"steps must lie in \[1, 20\]"):
            sample_with_scheduler(oracle, scheduler, (2, 1), seed=0, steps=steps)
    for steps in (2.5, True):
        with pytest.raises(ConfigError, match="must be an integer"):
            sample_with_scheduler(oracle, scheduler, (2, 1), seed=0, steps=steps)  # type: ignore[arg-type]


def test_the_schedulers_carry_the_projects_schedule() -> None:
    schedule = NoiseSchedule(kind="linear", steps=40, start=1e-3, end=0.05)
    kinds = {"eps": "epsilon", "x0": "sample", "v": "v_prediction"}
    for method in ("ddpm", "ddim"):
        for prediction, name in kinds.items():
            scheduler = diffusers_scheduler(schedule, method, prediction=prediction, clip=2.0)
            config = scheduler.config
            assert config.num_train_timesteps == 40
            assert config.prediction_type == name
            assert config.clip_sample and config.clip_sample_range == 2.0
            torch.testing.assert_close(
                scheduler.alphas_cumprod.double(),
                torch.as_tensor(schedule.alpha_bars[1:]),
                rtol=1e-6,
                atol=1e-7,
            )
        assert not diffusers_scheduler(schedule, method).config.clip_sample
