"""The seed notebook's classical denoiser, kept as a sanity check (torch only).

The founding notebook min-max normalised the whole particle array ``(N, M, 4)`` of the jets,
added Gaussian noise of sigma 0.1 and trained a small convolutional network (the same layers as
:class:`SeedNotebookDenoiser`) with an MSE loss for 10 epochs, reporting MSE 0.0002 and SSIM
0.958 on its test split. Its normalisation leaked test statistics; :class:`MinMax` is fitted on
the training split only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from qdm_qiskit.errors import ConfigError


@dataclass(frozen=True)
class MinMax:
    """Global min-max scaling, fitted on the training split."""

    low: float
    high: float

    @classmethod
    def fit(cls, train: np.ndarray) -> MinMax:
        """Fit on training data only."""
        low, high = float(np.min(train)), float(np.max(train))
        if not high > low:
            raise ConfigError("min-max scaling needs training data with some spread")
        return cls(low, high)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Scaled values (test data may leave ``[0, 1]`` slightly)."""
        return (np.asarray(values, dtype=np.float64) - self.low) / (self.high - self.low)


class SeedNotebookDenoiser(torch.nn.Module):
    """Conv(1->64) ReLU Conv(64->128) ReLU ConvT(128->64) ConvT(64->1) Sigmoid, 3x3 kernels."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(1, 64, kernel_size=3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(64, 128, kernel_size=3, padding=1),
            torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(128, 64, kernel_size=3, padding=1),
            torch.nn.ConvTranspose2d(64, 1, kernel_size=3, padding=1),
            torch.nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Denoised ``(B, 1, H, W)``."""
        return self.body(x)


def train_denoiser(
    network: torch.nn.Module,
    train: torch.Tensor,
    *,
    sigma: float = 0.1,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> pd.DataFrame:
    """MSE training on ``(N, 1, H, W)`` data with fresh Gaussian noise each batch."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=learning_rate)
    rows = []
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=generator)
        total = 0.0
        for start in range(0, len(train), batch_size):
            batch = train[order[start : start + batch_size]]
            noisy = batch + sigma * torch.randn(batch.shape, generator=generator)
            loss = torch.mean((network(noisy) - batch) ** 2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        rows.append({"epoch": float(epoch + 1), "train_loss": total / len(train)})
    return pd.DataFrame(rows)


@torch.no_grad()
def denoise(
    network: torch.nn.Module, clean: torch.Tensor, *, sigma: float = 0.1, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(noisy input, network output)`` for clean data ``(N, 1, H, W)``."""
    generator = torch.Generator().manual_seed(seed)
    noisy = clean + sigma * torch.randn(clean.shape, generator=generator)
    return noisy, network(noisy)
