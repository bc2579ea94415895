"""The image denoisers (U-Net, conv) and the networks sized to a parameter budget."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import torch

from qdm_qiskit.baseline import ConvDenoiser, UNetDenoiser, UNetShape, network_for_budget
from qdm_qiskit.baseline.sizing import (
    CONV_DEPTHS,
    CONV_WIDTHS,
    LADDER_WIDTHS,
    conv_parameters,
    unet_ladder,
    unet_levels,
)
from qdm_qiskit.errors import ConfigError

SMALL = UNetShape(channels=(4, 8, 8))


def _count(network: torch.nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


# --------------------------------------------------------------------------- U-Net


@pytest.mark.parametrize("npix", [4, 8, 16])
@pytest.mark.parametrize("shape", [SMALL, UNetShape(channels=(8, 16), attention=False)])
def test_unet_output_is_shaped_like_its_input(npix: int, shape: UNetShape) -> None:
    torch.manual_seed(0)
    network = UNetDenoiser(npix, shape)
    x = torch.randn(3, 1, npix, npix)
    with torch.no_grad():
        out = network(x, torch.tensor([1, 10, 50]))
        later = network(x, torch.tensor([50, 10, 1]))
    assert out.shape == x.shape
    assert torch.isfinite(out).all()
    assert not torch.allclose(out, later)  # the step enters
    assert network.parameter_count() == _count(network) > 0


def test_the_default_unet_takes_small_jet_images() -> None:
    network = UNetDenoiser(4)
    assert network.shape == UNetShape()
    assert network.shape.channels == (16, 32, 64) and network.shape.attention
    x = torch.randn(2, 1, 4, 4)
    with torch.no_grad():
        assert network(x, torch.tensor([3, 7])).shape == x.shape


def test_a_conditional_unet_needs_labels_and_uses_them() -> None:
    torch.manual_seed(0)
    network = UNetDenoiser(8, UNetShape(channels=(4, 8, 8), classes=2))
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([5, 5])
    with pytest.raises(ConfigError, match="needs class labels"):
        network(x, t)
    with torch.no_grad():
        quark = network(x, t, torch.tensor([1, 1]))
        gluon = network(x, t, torch.tensor([0, 0]))
        mixed = network(x, t, torch.tensor([0, 1]))
    assert quark.shape == x.shape
    assert float((quark - gluon).abs().max()) > 1e-3
    # each row is conditioned on its own label
    torch.testing.assert_close(mixed[0], gluon[0])
    torch.testing.assert_close(mixed[1], quark[1])


def test_an_unconditional_unet_refuses_labels() -> None:
    network = UNetDenoiser(4, SMALL)
    with pytest.raises(ConfigError, match="takes no class labels"):
        network(torch.randn(2, 1, 4, 4), torch.tensor([1, 2]), torch.tensor([0, 1]))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [({"channels": ()}, "channels"), ({"channels": (0, 8)}, "channels"),
     ({"channels": (8, 2048)}, "channels"), ({"channels": (8.0, 16)}, "channels"),
     ({"channels": (True, 16)}, "channels"), ({"channels": (4,) * 6}, "at most 5 levels"),
     ({"layers_per_block": 0}, "layers_per_block"), ({"layers_per_block": 2.0},
                                                      "layers_per_block"),
     ({"classes": -1}, "classes"), ({"classes": True}, "classes"),
     ({"attention": 1}, "attention")],
)  # fmt: skip
def test_unet_shape_refuses_bad_values(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        UNetShape(**changes)  # type: ignore[arg-type]


def test_unet_shape_takes_a_list_of_channels() -> None:
    shape = UNetShape(channels=[8, 16])  # type: ignore[arg-type]
    assert shape.channels == (8, 16)
    assert hash(shape) == hash(UNetShape(channels=(8, 16)))


@pytest.mark.parametrize(
    ("channels", "npix", "factor"),
    [((4, 8, 8), 6, 4), ((4, 8, 8), 2, 4), ((4, 8, 8), 10, 4), ((4, 8), 5, 2),
     ((2, 4, 4, 4), 12, 8), ((2, 4, 4, 4, 4), 8, 16)],
)  # fmt: skip
def test_check_resolution_refuses_an_image_it_cannot_halve(
    channels: tuple[int, ...], npix: int, factor: int
) -> None:
    shape = UNetShape(channels=channels)
    with pytest.raises(ConfigError) as error:
        shape.check_resolution(npix)
    message = str(error.value)
    assert "\n" not in message
    assert f"npix must be a multiple of {factor}" in message and f"got {npix}" in message
    with pytest.raises(ConfigError, match=f"multiple of {factor}"):
        UNetDenoiser(npix, shape)
    shape.check_resolution(factor)  # the smallest side it can take
    shape.check_resolution(3 * factor)


@pytest.mark.parametrize("npix", [0, -4, 4.0, True])
def test_a_bad_image_side_is_refused(npix: object) -> None:
    with pytest.raises(ConfigError, match="npix must be a positive integer"):
        UNetDenoiser(npix, SMALL)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- conv


@pytest.mark.parametrize(("width", "depth"), [(1, 1), (7, 1), (1, 2), (5, 2), (3, 3), (16, 3),
                                              (2, 4), (9, 4), (32, 4)])  # fmt: skip
def test_conv_parameters_counts_the_conv_denoiser(width: int, depth: int) -> None:
    network = ConvDenoiser(width=width, depth=depth, steps=30)
    assert conv_parameters(width, depth) == network.parameter_count() == _count(network)
    x = torch.randn(3, 1, 4, 6)
    with torch.no_grad():
        out = network(x, torch.tensor([1, 15, 30]))
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_the_conv_denoiser_sees_the_step_and_refuses_labels() -> None:
    torch.manual_seed(0)
    network = ConvDenoiser(width=4, depth=2, steps=30)
    x = torch.randn(2, 1, 4, 4)
    with torch.no_grad():
        assert not torch.allclose(
            network(x, torch.tensor([1, 1])), network(x, torch.tensor([30, 30]))
        )
    with pytest.raises(ConfigError, match="no class labels"):
        network(x, torch.tensor([1, 2]), torch.tensor([0, 1]))
    for bad in ({"width": 0}, {"depth": 0}, {"steps": True}, {"width": 2.0}):
        with pytest.raises(ConfigError, match="must be a positive integer"):
            ConvDenoiser(**{"width": 2, "depth": 2, "steps": 10, **bad})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- budgets


@pytest.fixture(scope="module")
def ladder_counts() -> dict[int, list[int]]:
    """Parameter counts of the ladder U-Nets up to the first one above 20 000, per npix."""
    counts: dict[int, list[int]] = {}
    for npix in (4, 16):
        counts[npix] = []
        for shape in unet_ladder(npix):
            counts[npix].append(UNetDenoiser(npix, shape).parameter_count())
            if counts[npix][-1] > 20_000:
                break
    return counts


def test_the_ladder_grows_and_fits_the_image(ladder_counts: dict[int, list[int]]) -> None:
    for npix, counts in ladder_counts.items():
        assert all(a < b for a, b in itertools.pairwise(counts)), counts
        shapes = unet_ladder(npix)
        assert len(shapes) == len(LADDER_WIDTHS)
        for width, shape in zip(LADDER_WIDTHS, shapes, strict=True):
            assert shape.channels == (width, 2 * width, 2 * width)
            assert not shape.attention and shape.layers_per_block == 1
    assert [unet_levels(n) for n in (1, 2, 3, 4, 6, 8, 16)] == [1, 2, 1, 3, 2, 3, 3]
    for npix in (2, 6, 12):
        shape = unet_ladder(npix)[0]
        shape.check_resolution(npix)
        assert len(shape.channels) == unet_levels(npix)
    assert unet_ladder(8, classes=2)[0].classes == 2


@pytest.mark.parametrize("npix", [4, 16])
@pytest.mark.parametrize("budget", [28, 64, 160, 576, 1000, 5000, 20000])
def test_network_for_budget_is_the_largest_that_fits(
    npix: int, budget: int, ladder_counts: dict[int, list[int]]
) -> None:
    network = network_for_budget(npix, budget, steps=30)
    count = _count(network)
    assert count <= budget
    unets = [c for c in ladder_counts[npix] if c <= budget]
    convs = [conv_parameters(w, d) for d in CONV_DEPTHS for w in CONV_WIDTHS]
    if unets:  # the largest ladder U-Net that fits ...
        assert isinstance(network, UNetDenoiser)
        assert count == max(unets)
    else:  # ... else the largest conv denoiser
        assert isinstance(network, ConvDenoiser)
        assert count == max(c for c in convs if c <= budget)
    x = torch.zeros(2, 1, npix, npix)
    with torch.no_grad():
        assert network(x, torch.tensor([1, 30])).shape == x.shape


def test_budgets_pick_the_expected_networks() -> None:
    # Hand-checked points: 28 is the 1-layer conv; 37 w + 1 = 1000 for the 2-layer conv of
    # width 27; 5000 buys the smallest ladder U-Net (1215) and the next (4459).
    assert _count(network_for_budget(4, 28, steps=10)) == 28
    assert _count(network_for_budget(4, 1000, steps=10)) == 1000
    assert isinstance(network_for_budget(4, 1000, steps=10), ConvDenoiser)
    big = network_for_budget(4, 5000, steps=10)
    assert isinstance(big, UNetDenoiser) and big.shape.channels == (2, 4, 4)


@pytest.mark.parametrize(
    ("budget", "fragment"),
    [(27, "budget of 27 parameters buys no network.*smallest conv denoiser has 28"),
     (1, "buys no network"), (0, "positive integer"), (-5, "positive integer"),
     (True, "positive integer"), (100.0, "positive integer")],
)  # fmt: skip
def test_a_budget_below_the_smallest_network_is_refused(budget: object, fragment: str) -> None:
    with pytest.raises(ConfigError, match=f"budget.*{fragment}|{fragment}"):
        network_for_budget(4, budget, steps=10)  # type: ignore[arg-type]


def test_diffusers_loads_only_when_used_and_never_brings_qiskit() -> None:
    # Importing the room is cheap (diffusers takes seconds); building its networks and
    # schedulers loads diffusers, and still no qiskit.
    code = (
        "import sys, qdm_qiskit.baseline as b\n"
        "from qdm_qiskit.diffusion import NoiseSchedule\n"
        "loaded = lambda name: any(m.split('.')[0] == name for m in sys.modules)\n"
        "print(loaded('diffusers'), loaded('qiskit'))\n"
        "b.network_for_budget(4, 5000, steps=10)\n"
        "b.diffusers_scheduler(NoiseSchedule(steps=10), 'ddim')\n"
        "print(loaded('diffusers'), loaded('qiskit'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True", "False"]
