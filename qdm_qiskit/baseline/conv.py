"""A plain convolutional denoiser for parameter budgets too small for any U-Net.

The smallest U-Net of the ladder has about 1200 parameters; the quantum models of ``qdm run``
have tens. :class:`ConvDenoiser` is the network such a budget buys: ``depth`` 3x3 convolutions of
``width`` channels at full resolution, SiLU between them, with the diffusion step entering as two
extra constant input channels, ``sin`` and ``cos`` of ``pi t / (2 T)``. It predicts the noise, so
its DDPM samples keep their diversity even when it learns little (an ``x_0``-predicting network
this small returns the mean image).
"""

from __future__ import annotations

import math

import torch

from qdm_qiskit.errors import ConfigError


class ConvDenoiser(torch.nn.Module):
    """``eps_hat(x_t, t)`` for ``(B, 1, H, W)`` images with ``depth`` conv layers.

    Args:
        width: channels of the hidden layers.
        depth: convolutions (at least 1; ``depth = 1`` maps the inputs straight to the output).
        steps: diffusion steps T (scales the time channels).
    """

    def __init__(self, *, width: int, depth: int, steps: int) -> None:
        super().__init__()
        for name, value in (("width", width), ("depth", depth), ("steps", steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        self.steps = steps
        layers: list[torch.nn.Module] = []
        channels = 3  # x_t, sin, cos
        for _ in range(depth - 1):
            layers += [torch.nn.Conv2d(channels, width, 3, padding=1), torch.nn.SiLU()]
            channels = width
        layers.append(torch.nn.Conv2d(channels, 1, 3, padding=1))
        self.body = torch.nn.Sequential(*layers)

    def parameter_count(self) -> int:
        """Trainable parameters (all classical)."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Noise prediction shaped like ``x_t`` for steps ``t`` ``(B,)`` in ``1..T``."""
        if labels is not None:
            raise ConfigError("the conv denoiser takes no class labels")
        phase = (t.to(x_t.dtype) * (math.pi / (2 * self.steps))).reshape(-1, 1, 1, 1)
        time = torch.cat([torch.sin(phase), torch.cos(phase)], dim=1).expand(-1, -1, *x_t.shape[2:])
        return self.body(torch.cat([x_t, time], dim=1))
