"""train_ddpm: its length (epochs or iterations), history, labels, schedules and EMA."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from qdm_qiskit.baseline import GaussianDiffusion, MLPDenoiser, train_ddpm
from qdm_qiskit.diffusion import NoiseSchedule
from qdm_qiskit.errors import ConfigError

DIFFUSION = GaussianDiffusion(NoiseSchedule(kind="cosine", steps=20))


def _network(seed: int = 0) -> MLPDenoiser:
    torch.manual_seed(seed)
    return MLPDenoiser(2, hidden=8, depth=1, steps=20)


def _data(count: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, 2, generator=torch.Generator().manual_seed(seed))


def _weights(network: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in network.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@contextmanager
def _optimiser_steps() -> Iterator[list[float]]:
    """The learning rate of every optimiser step taken inside the block (any optimiser)."""
    rates: list[float] = []
    handle = register_optimizer_step_pre_hook(
        lambda optimizer, args, kwargs: rates.append(optimizer.param_groups[0]["lr"])
    )
    try:
        yield rates
    finally:
        handle.remove()


class Watched(torch.nn.Module):
    """A network recording each batch's size and its exact loss (read back from the gradient).

    The loss is ``mean((output - target)^2)`` over ``n`` numbers, so the gradient reaching the
    output is ``2 (output - target) / n`` and the loss is ``mean((n grad / 2)^2)``.
    """

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.sizes: list[int] = []
        self.losses: list[float] = []

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        output = self.inner(x_t, t)
        self.sizes.append(x_t.shape[0])
        numbers = output.numel()
        output.register_hook(
            lambda grad: self.losses.append(float(((numbers * grad / 2) ** 2).mean()))
        )
        return output


def test_iterations_make_exactly_that_many_steps_and_end_with_a_partial_epoch() -> None:
    # 100 samples in batches of 32: epochs of 4 steps (32, 32, 32, 4). Six iterations are one
    # full epoch and two steps of the next.
    network = Watched(_network())
    rows: list[dict[str, float]] = []
    with _optimiser_steps() as steps:
        history = train_ddpm(network, DIFFUSION, _data(100), iterations=6, batch_size=32,
                             on_epoch=rows.append)  # fmt: skip
    assert len(steps) == 6
    assert network.sizes == [32, 32, 32, 4, 32, 32]
    assert history["epoch"].tolist() == [1.0, 2.0]
    assert list(history.columns) == ["epoch", "train_loss", "seconds"]
    assert [row["train_loss"] for row in rows] == history["train_loss"].tolist()
    # Each row is the sample-weighted mean loss of its own steps: the last covers 64 samples.
    losses = network.losses
    first = sum(loss * size for loss, size in zip(losses[:4], network.sizes[:4], strict=True)) / 100
    last = (losses[4] + losses[5]) / 2
    assert history["train_loss"].iloc[0] == pytest.approx(first, rel=1e-5)
    assert history["train_loss"].iloc[1] == pytest.approx(last, rel=1e-5)
    assert (history["seconds"] > 0).all()


@pytest.mark.parametrize(("iterations", "rows"), [(1, 1), (4, 1), (5, 2), (13, 4)])
def test_the_history_has_a_row_per_started_epoch(iterations: int, rows: int) -> None:
    network = Watched(_network())
    with _optimiser_steps() as steps:
        history = train_ddpm(network, DIFFUSION, _data(100), iterations=iterations, batch_size=32)
    assert len(steps) == len(network.sizes) == iterations
    assert len(history) == rows


def test_iterations_equal_epochs_when_they_fill_whole_epochs() -> None:
    data = _data(128)
    by_epochs, by_iterations = _network(), _network()
    with _optimiser_steps() as steps:
        epochs = train_ddpm(by_epochs, DIFFUSION, data, epochs=3, batch_size=32, seed=4)
    assert len(steps) == 12
    iterations = train_ddpm(by_iterations, DIFFUSION, data, iterations=12, batch_size=32, seed=4)
    assert _same(_weights(by_epochs), _weights(by_iterations))
    assert epochs["train_loss"].tolist() == iterations["train_loss"].tolist()
    assert epochs["epoch"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("length", "fragment"),
    [({}, "one of them"), ({"epochs": 2, "iterations": 5}, "one of them"),
     ({"epochs": 0}, "epochs must be a positive integer"),
     ({"epochs": True}, "epochs must be a positive integer"),
     ({"iterations": 2.0}, "iterations must be a positive integer"),
     ({"iterations": -1}, "iterations must be a positive integer")],
)  # fmt: skip
def test_the_length_is_given_once_as_a_positive_integer(
    length: dict[str, object], fragment: str
) -> None:
    network = _network()
    before = _weights(network)
    with pytest.raises(ConfigError, match=fragment):
        train_ddpm(network, DIFFUSION, _data(10), **length)  # type: ignore[arg-type]
    assert _same(before, _weights(network))


def test_training_depends_on_its_seed_only() -> None:
    data = _data(64)
    first, again, other = _network(), _network(), _network()
    torch.manual_seed(100)  # the global generator must not matter
    a = train_ddpm(first, DIFFUSION, data, iterations=10, batch_size=16, seed=1)
    torch.manual_seed(200)
    b = train_ddpm(again, DIFFUSION, data, iterations=10, batch_size=16, seed=1)
    c = train_ddpm(other, DIFFUSION, data, iterations=10, batch_size=16, seed=2)
    assert c["train_loss"].tolist() != a["train_loss"].tolist()
    assert a["train_loss"].tolist() == b["train_loss"].tolist()
    assert _same(_weights(first), _weights(again))
    assert not _same(_weights(first), _weights(other))


# --------------------------------------------------------------------------- EMA


def test_ema_warms_up_as_documented() -> None:
    # The average starts at the initial weights w0 and, at step k, moves to the new weights
    # with weight 1 - min(ema, (1 + k) / (10 + k)).
    data = _data(64)
    start = _network()
    w0 = _weights(start)
    plain = {}
    for steps in (1, 2):
        network = copy.deepcopy(start)
        train_ddpm(network, DIFFUSION, data, iterations=steps, batch_size=16, seed=3)
        plain[steps] = _weights(network)
    averaged = copy.deepcopy(start)
    train_ddpm(averaged, DIFFUSION, data, iterations=2, batch_size=16, seed=3, ema=0.99)
    d1, d2 = 2 / 11, 3 / 12
    for w, a, b, got in zip(w0, plain[1], plain[2], _weights(averaged), strict=True):
        shadow = d1 * w + (1 - d1) * a
        torch.testing.assert_close(got, d2 * shadow + (1 - d2) * b, rtol=1e-5, atol=1e-6)
    assert not _same(_weights(averaged), plain[2])


def test_ema_changes_the_weights_and_repeats_for_a_seed() -> None:
    data = _data(128)
    start = _network()

    def trained(ema: float, seed: int = 0) -> list[torch.Tensor]:
        network = copy.deepcopy(start)
        train_ddpm(network, DIFFUSION, data, iterations=40, batch_size=32, seed=seed, ema=ema,
                   learning_rate=1e-2)  # fmt: skip
        return _weights(network)

    plain, averaged, again = trained(0.0), trained(0.99), trained(0.99)
    assert _same(averaged, again)
    assert not _same(averaged, plain)
    assert not _same(averaged, _weights(start))
    # the average lags behind: it sits between the start and the final plain weights
    distance = sum(float((a - b).pow(2).sum()) for a, b in zip(averaged, plain, strict=True))
    travel = sum(float((a - b).pow(2).sum()) for a, b in zip(_weights(start), plain, strict=True))
    assert 0 < distance < travel
    assert not _same(trained(0.99, seed=1), averaged)


# --------------------------------------------------------------------------- labels


class LabelChecker(torch.nn.Module):
    """Checks that each row's label travels with it: data row i holds i, its label is i % 3."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[int] = []

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        rows = x_t[:, 0].round().long()  # abar ~ 1: x_t is the clean row to 1e-5
        assert torch.equal(labels, rows % 3)
        self.seen += rows.tolist()
        return self.weight * x_t


def test_labels_follow_their_rows() -> None:
    tiny = GaussianDiffusion(NoiseSchedule(kind="custom", probabilities=(1e-10, 1e-10)))
    data = torch.arange(50, dtype=torch.float32)[:, None].repeat(1, 2)
    labels = torch.arange(50) % 3
    network = LabelChecker()
    train_ddpm(network, tiny, data, epochs=2, batch_size=8, labels=labels, seed=0)
    assert sorted(network.seen) == sorted(list(range(50)) * 2)
    assert network.seen[:50] != list(range(50))  # the batches are shuffled


@pytest.mark.parametrize("shape", [(49,), (51,), (50, 1), ()])
def test_labels_of_the_wrong_shape_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match=r"labels must have shape \(50,\)"):
        train_ddpm(LabelChecker(), DIFFUSION, _data(50), epochs=1,
                   labels=torch.zeros(shape, dtype=torch.int64))  # fmt: skip


# --------------------------------------------------------------------------- schedules


def test_onecycle_warms_up_and_decays_and_constant_stays() -> None:
    data = _data(64)
    with _optimiser_steps() as rates:
        train_ddpm(_network(), DIFFUSION, data, iterations=40, batch_size=16,
                   learning_rate=1e-2, lr_schedule="onecycle")  # fmt: skip
    assert len(rates) == 40
    peak = max(rates)
    assert peak == pytest.approx(1e-2, rel=1e-6)
    top = rates.index(peak)
    assert 0 < top < 5  # a short warm-up (at least two steps, 5% of a longer run)
    assert rates[0] < 0.1 * peak and rates[-1] < 0.01 * peak
    assert all(a <= b for a, b in itertools.pairwise(rates[: top + 1]))
    assert all(a >= b for a, b in itertools.pairwise(rates[top:]))
    with _optimiser_steps() as constant:
        train_ddpm(_network(), DIFFUSION, data, iterations=7, batch_size=16, learning_rate=3e-3)
    assert constant == [3e-3] * 7


@pytest.mark.parametrize("iterations", [1, 2, 3, 4])
def test_onecycle_works_for_the_shortest_runs(iterations: int) -> None:
    network = _network()
    before = _weights(network)
    with _optimiser_steps() as rates:
        history = train_ddpm(network, DIFFUSION, _data(40), iterations=iterations,
                             batch_size=10, learning_rate=1e-2, lr_schedule="onecycle")  # fmt: skip
    assert len(rates) == iterations
    assert len(history) == 1 and torch.isfinite(torch.tensor(history["train_loss"].tolist())).all()
    assert not _same(before, _weights(network))


@pytest.mark.parametrize(
    ("option", "fragment"),
    [({"lr_schedule": "cosine"}, "lr_schedule"), ({"ema": 1.0}, "ema must lie"),
     ({"ema": -0.1}, "ema must lie"), ({"prediction": "score"}, "eps, x0 or v")],
)  # fmt: skip
def test_bad_options_are_refused(option: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        train_ddpm(_network(), DIFFUSION, _data(10), epochs=1, **option)  # type: ignore[arg-type]


def test_a_v_prediction_network_trains() -> None:
    # The v target has unit scale at every step: a few steps already lower the loss.
    data = 0.3 + 0.2 * _data(512)
    network = _network()
    history = train_ddpm(network, DIFFUSION, data, iterations=160, batch_size=64,
                         learning_rate=1e-2, prediction="v", seed=0)  # fmt: skip
    assert history["train_loss"].iloc[-1] < 0.8 * history["train_loss"].iloc[0]
