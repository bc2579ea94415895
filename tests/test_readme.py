"""The README's Python examples run as written (those that need no external file or minutes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
RUNNABLE = [b for b in BLOCKS if "QG_jets" not in b and "generate_jets(" not in b]


def test_readme_has_runnable_examples():
    assert len(RUNNABLE) >= 1


@pytest.mark.parametrize("block", RUNNABLE)
def test_readme_example_runs(block):
    namespace: dict = {}
    exec("from qdm_qiskit.data import load_sample\njets = load_sample()\n" + block, namespace)
    assert namespace["z"].shape == (namespace["jets"].n_jets, 8)
    assert namespace["decoded"].shape == (namespace["jets"].n_jets, 64)
