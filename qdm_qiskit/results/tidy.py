"""Primitive results as tidy tables: one row per (binding, register, bitstring) or observable.

Every row carries the ids that join it to the rest of the run (``run_id``, ``job_index``,
``job_id``, ``pub_id``, ``circuit`` and ``binding``, the parameter set's row in the circuit's
value array), never a list position that only means something inside one job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from qiskit.primitives import BitArray

COUNT_COLUMNS = (
    "run_id",
    "job_index",
    "job_id",
    "pub_id",
    "circuit",
    "binding",
    "register",
    "bitstring",
    "count",
    "shots",
)
EXPECTATION_COLUMNS = (
    "run_id",
    "job_index",
    "job_id",
    "pub_id",
    "circuit",
    "binding",
    "observable",
    "value",
    "stderr",
)


@dataclass(frozen=True)
class PubKey:
    """The ids of one PUB: which circuit, and the binding index of its first row."""

    run_id: str
    job_index: int
    job_id: str
    pub_id: str
    circuit: str
    start: int


def counts_frame(key: PubKey, register: str, bits: BitArray) -> pd.DataFrame:
    """Counts of one register of one PUB, one row per (binding, bitstring) observed.

    Vectorised: bit strings are packed into integers and counted with one ``np.unique``.
    """
    array = np.asarray(bits.array)
    shape = bits.shape
    bindings = int(np.prod(shape)) if shape else 1
    array = array.reshape(bindings, bits.num_shots, -1)
    if bits.num_bits > 63:
        raise ValueError(f"register {register!r} has {bits.num_bits} bits; at most 63 supported")
    values = np.zeros((bindings, bits.num_shots), dtype=np.uint64)
    for byte in range(array.shape[-1]):  # most significant byte first
        values = (values << np.uint64(8)) | array[..., byte].astype(np.uint64)
    rows = np.repeat(np.arange(bindings, dtype=np.uint64), bits.num_shots)
    if bits.num_bits + max(bindings - 1, 1).bit_length() <= 64:
        keyed = (rows << np.uint64(bits.num_bits)) | values.ravel()
        unique, counts = np.unique(keyed, return_counts=True)
        binding = (unique >> np.uint64(bits.num_bits)).astype(np.int64)
        mask = np.uint64((1 << bits.num_bits) - 1) if bits.num_bits else np.uint64(0)
        outcome = unique & mask
    else:  # (binding, outcome) does not fit one 64-bit key: count pairs
        pairs, counts = np.unique(
            np.stack([rows, values.ravel()], axis=1), axis=0, return_counts=True
        )
        binding, outcome = pairs[:, 0].astype(np.int64), pairs[:, 1]
    # Format each distinct outcome once (at most 2**bits of them), then gather.
    distinct, inverse = np.unique(outcome, return_inverse=True)
    labels = np.array(
        [format(int(v), f"0{bits.num_bits}b") if bits.num_bits else "" for v in distinct],
        dtype=object,
    )
    strings = labels[inverse.ravel()]
    return pd.DataFrame(
        {
            "run_id": key.run_id,
            "job_index": key.job_index,
            "job_id": key.job_id,
            "pub_id": key.pub_id,
            "circuit": key.circuit,
            "binding": binding + key.start,
            "register": register,
            "bitstring": strings,
            "count": counts.astype(np.int64),
            "shots": np.int64(bits.num_shots),
        },
        columns=list(COUNT_COLUMNS),
    )


def per_binding_counts(bits: BitArray) -> list[dict[str, int]]:
    """Counts of each parameter set of a PUB, in flattened binding order.

    A PUB without parameters gives a 0-d BitArray: one binding.
    """
    if not bits.shape:
        return [bits.get_counts()]
    return [
        bits.get_counts(np.unravel_index(i, bits.shape)) for i in range(int(np.prod(bits.shape)))
    ]


def expectations_frame(
    key: PubKey, observables: Sequence[str], evs: np.ndarray, stds: np.ndarray
) -> pd.DataFrame:
    """Expectation values of one PUB: ``evs`` of shape (observables, bindings)."""
    evs = np.asarray(evs, dtype=float).reshape(len(observables), -1)
    stds = np.broadcast_to(np.asarray(stds, dtype=float).reshape(len(observables), -1), evs.shape)
    bindings = evs.shape[1]
    return pd.DataFrame(
        {
            "run_id": key.run_id,
            "job_index": key.job_index,
            "job_id": key.job_id,
            "pub_id": key.pub_id,
            "circuit": key.circuit,
            "binding": np.tile(np.arange(bindings), len(observables)) + key.start,
            "observable": np.repeat(np.asarray(observables, dtype=object), bindings),
            "value": evs.ravel(),
            "stderr": stds.ravel(),
        },
        columns=list(EXPECTATION_COLUMNS),
    )


def with_quasi_probabilities(
    frame: pd.DataFrame, quasis: Sequence[Mapping[str, float]], start: int
) -> pd.DataFrame:
    """Add a ``quasi_probability`` column (readout-mitigated) to one register's counts.

    ``quasis[i]`` belongs to binding ``start + i``. M3 corrects within the observed bit strings,
    so every row gets a value.
    """
    lookup = {
        (start + i, bitstring): value
        for i, quasi in enumerate(quasis)
        for bitstring, value in quasi.items()
    }
    result = frame.copy()
    result["quasi_probability"] = [
        lookup.get((b, s), 0.0)
        for b, s in zip(frame["binding"].to_numpy(), frame["bitstring"], strict=True)
    ]
    return result


def parameters_frame(
    run_id: str, circuit: str, names: Sequence[str], values: np.ndarray
) -> pd.DataFrame:
    """Parameter values in long form: one row per (binding, parameter)."""
    values = np.asarray(values, dtype=float)
    bindings, count = values.shape
    return pd.DataFrame(
        {
            "run_id": run_id,
            "circuit": circuit,
            "binding": np.repeat(np.arange(bindings), count),
            "parameter": np.tile(np.asarray(names, dtype=object), bindings),
            "value": values.ravel(),
        }
    )
