"""Networks sized to a parameter budget, never above it.

A "parameter-matched" classical reference must not get more parameters than the quantum model
it is set against. :func:`network_for_budget` returns the largest U-Net of :func:`unet_ladder`
that fits the budget and the image, or, for budgets below the smallest ladder U-Net (about 1200
parameters at npix 4 to 16), the largest :class:`~qdm_qiskit.baseline.conv.ConvDenoiser` that fits.
"""

from __future__ import annotations

import torch

from qdm_qiskit.baseline.conv import ConvDenoiser
from qdm_qiskit.baseline.unet import UNetDenoiser, UNetShape
from qdm_qiskit.errors import ConfigError

#: Base widths of the U-Net ladder; a shape has channels (b, 2b, 2b) (fewer levels on small
#: images), one residual block per level and no attention.
LADDER_WIDTHS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
#: Depths and widths the plain conv denoiser may take.
CONV_DEPTHS: tuple[int, ...] = (1, 2, 3, 4)
CONV_WIDTHS: tuple[int, ...] = tuple(range(1, 33))


def unet_levels(npix: int) -> int:
    """Resolution levels a ladder U-Net uses on ``npix`` images: 3, or fewer if too small."""
    levels = 1
    while levels < 3 and npix % (2**levels) == 0 and npix // (2**levels) >= 1:
        levels += 1
    return levels


def unet_ladder(npix: int, *, classes: int = 0) -> list[UNetShape]:
    """U-Net shapes from small to large for ``npix`` images (the "what each size buys" axis)."""
    levels = unet_levels(npix)
    return [
        UNetShape(channels=(b, 2 * b, 2 * b)[:levels], attention=False, classes=classes)
        for b in LADDER_WIDTHS
    ]


def conv_parameters(width: int, depth: int) -> int:
    """Parameter count of ``ConvDenoiser(width=width, depth=depth)`` (3 input channels)."""
    if depth == 1:
        return 3 * 9 + 1
    return (3 * 9 * width + width) + (depth - 2) * (9 * width * width + width) + (9 * width + 1)


def network_for_budget(npix: int, budget: int, *, steps: int) -> torch.nn.Module:
    """The largest ladder U-Net, else the largest conv denoiser, with at most ``budget`` parameters.

    Args:
        npix: image side.
        budget: parameter budget (the quantum model's total count).
        steps: diffusion steps T (the conv denoiser's time scale).
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(f"budget must be a positive integer, got {budget!r}")
    best: torch.nn.Module | None = None
    for shape in unet_ladder(npix):
        network = UNetDenoiser(npix, shape)
        if network.parameter_count() > budget:
            break
        best = network
    if best is not None:
        return best
    fits = [(conv_parameters(w, d), d, w) for d in CONV_DEPTHS for w in CONV_WIDTHS
            if conv_parameters(w, d) <= budget]  # fmt: skip
    if not fits:
        raise ConfigError(
            f"a budget of {budget} parameters buys no network: the smallest conv denoiser has "
            f"{conv_parameters(1, 1)}"
        )
    _, depth, width = max(fits)
    return ConvDenoiser(width=width, depth=depth, steps=steps)
