from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qdm_qiskit.data import JetDataset, jet_observables, load_sample


@pytest.fixture(scope="session")
def sample() -> JetDataset:
    """The shipped quark/gluon sample (made by the project's own generator)."""
    return load_sample()


@pytest.fixture(scope="session")
def sample_observables(sample: JetDataset) -> pd.DataFrame:
    return jet_observables(sample.X)


@pytest.fixture(scope="session")
def tiny_generated() -> JetDataset:
    """Eight freshly generated jets (about 2 s)."""
    from qdm_qiskit.data import generate_jets

    return generate_jets(8, seed=5, batch_size=50)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)
