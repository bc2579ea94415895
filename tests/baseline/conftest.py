from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run the baseline tests on one intra-op thread.

    Their tensors are tiny (thousands of numbers): thread hand-offs cost more than they save, and
    on a busy machine several times more (measured: a 300-step training run went from seconds to
    a third of a second). The previous setting is restored after each test.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
