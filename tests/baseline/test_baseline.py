"""The classical DDPM/DDIM reference against closed forms.

For Gaussian data ``x_0 ~ N(m, s^2)`` the optimal noise predictor is known exactly:
``x_t ~ N(sqrt(abar) m, abar s^2 + 1 - abar)`` and
``E[eps | x_t] = sqrt(1 - abar) (x_t - sqrt(abar) m) / (abar s^2 + 1 - abar)``. With this oracle the
DDPM sampler and the deterministic DDIM sampler must both return ``N(m, s^2)``; a wrong update
formula shifts the mean or the spread.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from scipy.stats import wasserstein_distance

from qdm_qiskit.baseline import GaussianDiffusion, MLPDenoiser, mlp_for_budget, sample, train_ddpm
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError

MEAN, STD = 1.5, 0.3


def _diffusion(kind: str = "linear") -> GaussianDiffusion:
    # Small steps and abar_T ~ 5e-5 (x_T really is N(0, 1)): the regime where the Gaussian
    # reverse steps of DDPM are accurate (linear: T = 500 up to 0.04; cosine: T = 100).
    steps = 500 if kind == "linear" else 100
    schedule = NoiseSchedule(kind=kind, steps=steps, start=1e-4, end=0.04)
    return GaussianDiffusion(schedule, dtype=torch.float64)


def _oracle(diffusion: GaussianDiffusion):  # type: ignore[no-untyped-def]
    def eps(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = diffusion.alpha_bars[t][:, None]
        return (1 - abar).sqrt() * (x_t - abar.sqrt() * MEAN) / (abar * STD**2 + 1 - abar)

    return eps


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize(
    ("method", "steps", "eta", "tolerance"),
    # DDIM is a first-order solver of the probability-flow ODE: 10 coarse steps shrink the
    # spread by up to ~20% even with the exact predictor, hence the looser tolerance there.
    # DDIM step counts as fractions of T: 1, 1/2 and 1/10 of the steps.
    [("ddpm", None, 0.0, 0.02), ("ddim", 1.0, 0.0, 0.02), ("ddim", 0.5, 0.0, 0.03),
     ("ddim", 0.5, 1.0, 0.04), ("ddim", 0.1, 0.0, 0.1)],
)  # fmt: skip
def test_samplers_with_the_exact_noise_predictor_recover_the_data(
    kind, method, steps, eta, tolerance
):
    diffusion = _diffusion(kind)
    count = None if steps is None else int(steps * diffusion.steps)
    x = sample(_oracle(diffusion), diffusion, 20_000, 1, seed=0, method=method, steps=count,
               eta=eta, dtype=torch.float64)  # fmt: skip
    assert abs(float(x.mean()) - MEAN) < tolerance
    assert abs(float(x.std()) - STD) < tolerance


def test_a_wrong_predictor_is_detected():
    """The check above is sensitive: predicting zero noise leaves the prior's spread."""
    diffusion = _diffusion()
    x = sample(lambda x_t, t: torch.zeros_like(x_t), diffusion, 5000, 1, seed=0,
               dtype=torch.float64)  # fmt: skip
    assert abs(float(x.std()) - STD) > 0.1


def test_forward_marginals_match_the_closed_form():
    diffusion = _diffusion()
    generator = torch.Generator().manual_seed(1)
    x0 = MEAN + STD * torch.randn(50_000, 1, generator=generator, dtype=torch.float64)
    t = torch.full((50_000,), 40)
    x_t = diffusion.noised(x0, t, torch.randn(x0.shape, generator=generator, dtype=torch.float64))
    abar = float(diffusion.alpha_bars[40])
    assert abs(float(x_t.mean()) - abar**0.5 * MEAN) < 0.01
    assert abs(float(x_t.var()) - (abar * STD**2 + 1 - abar)) < 0.01


def test_ddim_with_eta_zero_is_deterministic_and_seeded_sampling_repeats():
    diffusion = _diffusion()
    a = sample(_oracle(diffusion), diffusion, 10, 2, seed=3, method="ddim", steps=10,
               dtype=torch.float64)  # fmt: skip
    b = sample(_oracle(diffusion), diffusion, 10, 2, seed=3, method="ddim", steps=10,
               dtype=torch.float64)  # fmt: skip
    c = sample(_oracle(diffusion), diffusion, 10, 2, seed=4, method="ddim", steps=10,
               dtype=torch.float64)  # fmt: skip
    assert torch.equal(a, b) and not torch.equal(a, c)


def _mixture(count: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    pick = torch.randint(0, 2, (count,), generator=generator)
    return centres[pick] + 0.15 * torch.randn(count, 2, generator=generator)


def test_training_beats_the_untrained_network_and_repeats_for_a_seed():
    torch.manual_seed(0)
    diffusion = GaussianDiffusion(NoiseSchedule(kind="cosine", steps=50))
    data, test = _mixture(2000, 0), _mixture(2000, 1)

    def trained(seed: int) -> tuple[MLPDenoiser, object]:
        torch.manual_seed(seed)
        network = MLPDenoiser(2, hidden=64, depth=2, steps=50)
        history = train_ddpm(network, diffusion, data, epochs=80, batch_size=128,
                             learning_rate=3e-3, seed=seed)  # fmt: skip
        return network, history

    torch.manual_seed(5)
    untrained = MLPDenoiser(2, hidden=64, depth=2, steps=50)
    network, history = trained(0)
    again, history_again = trained(0)
    assert history["train_loss"].tolist() == history_again["train_loss"].tolist()
    for mine, theirs in zip(network.parameters(), again.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]

    def distance(model: torch.nn.Module, method: str = "ddpm", steps: int | None = None) -> float:
        x = sample(model, diffusion, 2000, 2, seed=7, method=method, steps=steps).numpy()
        return max(wasserstein_distance(x[:, k], test[:, k].numpy()) for k in range(2))

    floor = max(wasserstein_distance(data[:, k].numpy(), test[:, k].numpy()) for k in range(2))
    ours, raw = distance(network), distance(untrained)
    assert ours < raw / 5, (ours, raw)
    assert ours < 0.25 and floor < 0.1, (ours, floor)
    assert distance(network, "ddim", 10) < raw / 5


def test_budget_matched_network_is_closest_to_the_budget():
    for budget in (50, 720, 5000):
        network = mlp_for_budget(16, budget)
        count = network.parameter_count()
        hidden = network.body[0].out_features
        for other in (hidden - 1, hidden + 1):
            if other >= 1:
                neighbour = MLPDenoiser(16, hidden=other, depth=2).parameter_count()
                assert abs(count - budget) <= abs(neighbour - budget)


def test_bad_input_is_refused():
    diffusion = _diffusion()
    network = MLPDenoiser(2, hidden=4, depth=1)
    with pytest.raises(ConfigError, match="NaN"):
        train_ddpm(network, diffusion, torch.tensor([[0.0, float("nan")]]), epochs=1)
    with pytest.raises(ConfigError, match="non-empty"):
        train_ddpm(network, diffusion, torch.zeros(0, 2), epochs=1)
    with pytest.raises(ConfigError, match="ddpm or ddim"):
        sample(network, diffusion, 2, 2, seed=0, method="euler")
    with pytest.raises(ConfigError, match="DDIM steps"):
        sample(network, diffusion, 2, 2, seed=0, method="ddim", steps=0)
    with pytest.raises(ConfigError, match="positive integer"):
        MLPDenoiser(0)


def test_the_baseline_room_imports_no_qiskit():
    code = (
        "import sys, qdm_qiskit.baseline; print(any(m.startswith('qiskit') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
