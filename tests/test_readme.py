"""The README's Python examples run as written, in order, like one session.

Blocks that need external files (the EnergyFlow download) or minutes (fresh generation) are
left out; the shipped sample stands in for ``jets``.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
RUNNABLE = [b for b in BLOCKS if "QG_jets" not in b and "generate_jets(" not in b]


def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    assert len(RUNNABLE) >= 3
    monkeypatch.chdir(tmp_path)  # examples may write into the default workspace folders
    namespace: dict = {}
    exec("from qdm_qiskit.data import load_sample\njets = load_sample()\n", namespace)
    for block in RUNNABLE:
        exec(block, namespace)
    assert namespace["z"].shape == (namespace["jets"].n_jets, 8)
    assert namespace["decoded"].shape == (namespace["jets"].n_jets, 64)
    assert namespace["qc"].metadata["num_weights"] == 720
    assert namespace["isa"].num_qubits == 156
    assert namespace["cache"].misses == 1
    assert namespace["readout"].shape == (256, 8)
    assert namespace["readout"].requires_grad
