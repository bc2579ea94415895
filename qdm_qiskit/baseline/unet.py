"""The convolutional U-Net denoiser of the classical reference: diffusers' ``UNet2DModel``.

Image DDPMs are U-Nets (Ho et al. 2020): residual conv blocks at several resolutions, skip
connections, a sinusoidal time embedding added in every block, self-attention at the lowest
resolution. diffusers' ``UNet2DModel`` is the implementation the field knows; this module only
chooses its shape for small single-channel jet images and adapts its call to the project's
``network(x_t, t[, labels])`` convention, with ``t`` the diffusion step in ``1..T``.

diffusers is imported when a network is built, not when the package is imported (it takes
seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from qdm_qiskit.errors import ConfigError


@dataclass(frozen=True)
class UNetShape:
    """How wide and deep the U-Net is.

    Attributes:
        channels: output channels of each resolution level; the image is halved between
            levels, so ``npix`` must be a multiple of ``2 ** (len(channels) - 1)``.
        layers_per_block: residual blocks per level on the way down (one more on the way up).
        attention: self-attention in the middle block (at the lowest resolution).
        classes: number of class labels to condition on (2: quark/gluon), 0 for none.
    """

    channels: tuple[int, ...] = (16, 32, 64)
    layers_per_block: int = 1
    attention: bool = True
    classes: int = 0

    def __post_init__(self) -> None:
        channels = tuple(self.channels)
        object.__setattr__(self, "channels", channels)
        if not channels or any(
            isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= 1024 for c in channels
        ):
            raise ConfigError(f"U-Net channels must be 1 to 1024 per level, got {self.channels!r}")
        if len(channels) > 5:
            raise ConfigError(f"a U-Net of at most 5 levels, got {len(channels)}")
        for name, value, low in (("layers_per_block", self.layers_per_block, 1),
                                 ("classes", self.classes, 0)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 64:
                raise ConfigError(f"U-Net {name} must be an integer in [{low}, 64], got {value!r}")
        if not isinstance(self.attention, bool):
            raise ConfigError("U-Net attention must be true or false")

    def check_resolution(self, npix: int) -> None:
        """Refuse an image side the U-Net cannot halve ``len(channels) - 1`` times."""
        factor = 2 ** (len(self.channels) - 1)
        if npix % factor or npix < factor:
            raise ConfigError(
                f"a U-Net with {len(self.channels)} levels halves the image "
                f"{len(self.channels) - 1} times, so npix must be a multiple of {factor}; "
                f"got {npix}"
            )


class UNetDenoiser(torch.nn.Module):
    """``eps_hat(x_t, t[, labels])`` for ``(B, 1, npix, npix)`` images.

    Args:
        npix: image side.
        shape: the U-Net's width and depth.
    """

    def __init__(self, npix: int, shape: UNetShape | None = None) -> None:
        super().__init__()
        shape = shape or UNetShape()
        if isinstance(npix, bool) or not isinstance(npix, int) or npix < 1:
            raise ConfigError(f"npix must be a positive integer, got {npix!r}")
        shape.check_resolution(npix)
        self.npix, self.shape = npix, shape
        self.unet = _unet2d(npix, shape)

    def parameter_count(self) -> int:
        """Trainable parameters (all classical)."""
        return sum(p.numel() for p in self.parameters())

    def forward(
        self, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Noise prediction shaped like ``x_t`` for steps ``t`` ``(B,)`` in ``1..T``."""
        if (labels is None) != (self.shape.classes == 0):
            needed = "needs class labels" if self.shape.classes else "takes no class labels"
            raise ConfigError(f"this U-Net {needed}")
        return self.unet(x_t, t, class_labels=labels).sample


def _unet2d(npix: int, shape: UNetShape) -> Any:
    from diffusers import UNet2DModel  # seconds to import: only when a network is built

    levels = len(shape.channels)
    groups = _norm_groups(shape.channels)
    return UNet2DModel(
        sample_size=npix,
        in_channels=1,
        out_channels=1,
        block_out_channels=shape.channels,
        down_block_types=("DownBlock2D",) * levels,
        up_block_types=("UpBlock2D",) * levels,
        layers_per_block=shape.layers_per_block,
        norm_num_groups=groups,
        add_attention=shape.attention,
        attention_head_dim=8 if shape.channels[-1] % 8 == 0 else shape.channels[-1],
        num_class_embeds=shape.classes or None,
    )


def _norm_groups(channels: tuple[int, ...]) -> int:
    """The largest group count up to 8 that divides every level's channels (GroupNorm)."""
    return max(g for g in range(1, 9) if all(c % g == 0 for c in channels))
