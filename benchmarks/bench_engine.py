"""Benchmark: the torch training engine against PennyLane, qiskit-machine-learning and memcpy.

Workload (shared/reference/perf-anchors.md), identical in every implementation: n qubits, L = 6.
Encoding ``RY(x_i)`` on qubit i, then ``RZ(t)`` on every qubit (one time angle per sample). Each
layer: ``RY(w)`` then ``RZ(w)`` on every qubit, then a CNOT ring i -> i+1 mod n. Outputs
``<Z_i>`` for all i, loss = MSE against U(-1, 1) targets, gradient w.r.t. all 2nL weights.
A training step is forward + backward at B = 256; sampling is a forward pass at B = 1024 without
autograd. Our side: ``denoising_circuit(..., encoding="angle", conditioning="time_embedding",
entangler="cx")`` compiled by ``CompiledCircuit`` (complex64), read out with ``expectation_z``.

References, measured in the same run:

- PennyLane ``default.qubit``, ``interface="torch"``, ``diff_method="backprop"``, the batch as
  parameter broadcasting (its state is complex128, its default). Benchmark-only dependency,
  installed by ``nox -s bench``; without it those rows are reported as not measured.
- qiskit-machine-learning ``EstimatorQNN`` + ``TorchConnector`` with its default
  parameter-shift gradient on Aer ``EstimatorV2`` (``default_precision=0``: exact), one ``Z_i``
  observable per qubit, at n = 4. Its cost is linear in B (one PUB per sample x observable x
  shift), so a step is timed at B = 2 and B = 4 and extrapolated linearly to B = 256. It runs
  last: using Aer in a process slows PennyLane afterwards (perf-anchors.md).
- The memory-bandwidth bound at every n: memcpy bandwidth (``np.copyto`` on a 2 GiB complex64
  array, read + write counted; the best of 5 copies at the start and 5 at the end) against the
  bytes a training step must stream, 3 x (forward: gates x 2 x B x 2^n x 8 bytes), once with the
  circuit's 2n + 3nL gates and once with the engine's fused sweeps per forward
  (``CompiledCircuit.sweeps``).

Method: one warm-up, then repetitions interleaved round-robin between implementations; medians;
ratios are medians of per-repetition ratios. Outputs and gradients are checked against PennyLane
(and the QNN) on the warm-up call. Targets: engine step <= 0.15x PennyLane at n = 8, 10, 12;
at n = 12 within 1.5x of the bandwidth bound (both bounds are reported); >= 1000x faster than
EstimatorQNN + TorchConnector at n = 4.

Usage: python benchmarks/bench_engine.py [--quick] [--n 6 8 ...] [--reps 5] [--no-qnn]
(--quick: n = 6, 8, 3 repetitions, no QNN; arguments meant for other benchmarks are ignored)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
import torch

from qdm_qiskit.circuits import denoising_circuit
from qdm_qiskit.engine import CompiledCircuit, expectation_z
from qdm_qiskit.engine.allocator import keep_state_buffers

LAYERS = 6
TRAIN_BATCH = 256
SAMPLE_BATCH = 1024
THREADS = 2
FULL_NS = (6, 8, 10, 12)
QUICK_NS = (6, 8)
QNN_N = 4
QNN_BATCHES = (2, 4)
TARGET_VS_PENNYLANE = 0.15
PENNYLANE_TARGET_NS = (8, 10, 12)
TARGET_VS_BOUND = 1.5
BOUND_TARGET_N = 12
TARGET_VS_QNN = 1000.0
TOLERANCE = 1e-5
GIB = 1024**3

Step = Callable[[], tuple[torch.Tensor, torch.Tensor]]


# ---- workload ---------------------------------------------------------------------------------
@dataclass
class Workload:
    """One n: the circuit, our engine, and one batch of data shared by every implementation."""

    n: int
    engine: CompiledCircuit
    theta: np.ndarray  # (P,) float32 weights in theta-index order
    to_engine: np.ndarray  # engine weight j is theta[to_engine[j]]
    data: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def gates(self) -> int:
        return 2 * self.n + 3 * self.n * LAYERS

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x (B, n), t (B,), targets (B, n))`` float32, fixed per (n, B)."""
        if size not in self.data:
            rng = np.random.default_rng(1000 * self.n + size)
            x = rng.uniform(-np.pi, np.pi, (size, self.n)).astype(np.float32)
            t = rng.uniform(0.0, np.pi, size).astype(np.float32)
            targets = rng.uniform(-1.0, 1.0, (size, self.n)).astype(np.float32)
            self.data[size] = (x, t, targets)
        return self.data[size]

    def engine_inputs(self, x: np.ndarray, t: np.ndarray) -> torch.Tensor:
        """Columns in ``engine.input_names`` order: ``tau[0]``, ``x[0]``, ..."""
        columns = {"tau[0]": t, **{f"x[{i}]": x[:, i] for i in range(self.n)}}
        return torch.tensor(np.stack([columns[name] for name in self.engine.input_names], axis=1))


def _expected_ops(n: int) -> list[tuple[str, tuple[int, ...], str | None]]:
    ops: list[tuple[str, tuple[int, ...], str | None]] = []
    ops += [("ry", (i,), f"x[{i}]") for i in range(n)]
    ops += [("rz", (i,), "tau[0]") for i in range(n)]
    for layer in range(LAYERS):
        base = 2 * n * layer
        ops += [("ry", (i,), f"theta[{base + i}]") for i in range(n)]
        ops += [("rz", (i,), f"theta[{base + n + i}]") for i in range(n)]
        ops += [("cx", (i, (i + 1) % n), None) for i in range(n)]
    return ops


def build_workload(n: int) -> Workload:
    circuit = denoising_circuit(
        num_data_qubits=n,
        layers=LAYERS,
        encoding="angle",
        conditioning="time_embedding",
        entangler="cx",
    )
    ops = []
    for instruction in circuit.data:
        params = instruction.operation.params
        name = str(params[0]) if params else None
        qubits = tuple(circuit.find_bit(q).index for q in instruction.qubits)
        ops.append((instruction.operation.name, qubits, name))
    assert circuit.num_qubits == n, f"circuit has {circuit.num_qubits} qubits, expected {n}"
    assert ops == _expected_ops(n), f"n={n}: denoising_circuit does not match the workload"
    engine = CompiledCircuit(circuit)
    num_weights = 2 * n * LAYERS
    assert engine.input_names == ("tau[0]", *(f"x[{i}]" for i in range(n))), engine.input_names
    assert engine.num_weights == num_weights, engine.num_weights
    assert engine.gate_count == 2 * n + 3 * n * LAYERS, engine.gate_count
    theta_names = [f"theta[{k}]" for k in range(num_weights)]
    assert sorted(engine.weight_names) == sorted(theta_names), engine.weight_names
    to_engine = np.array([theta_names.index(name) for name in engine.weight_names])
    theta = np.random.default_rng(n).uniform(-np.pi, np.pi, num_weights).astype(np.float32)
    return Workload(n, engine, theta, to_engine)


# ---- implementations: each returns (outputs (B, n), gradient in theta order or empty) --------
def engine_step(work: Workload, size: int, train: bool) -> Step:
    weights = torch.nn.Parameter(torch.tensor(work.theta[work.to_engine]))
    x, t, targets = work.batch(size)
    inputs = work.engine_inputs(x, t)
    target = torch.tensor(targets)
    from_engine = np.argsort(work.to_engine)

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        if not train:
            with torch.no_grad():
                return expectation_z(work.engine(weights, inputs)), torch.empty(0)
        weights.grad = None
        out = expectation_z(work.engine(weights, inputs))
        torch.mean((out - target) ** 2).backward()
        assert weights.grad is not None
        return out.detach(), weights.grad[from_engine]

    return step


def pennylane_step(qml: ModuleType, work: Workload, size: int, train: bool) -> Step:
    n = work.n
    device = qml.device("default.qubit", wires=n)

    @qml.qnode(device, interface="torch", diff_method="backprop")
    def circuit(w: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> tuple:
        for i in range(n):
            qml.RY(x[:, i], wires=i)
        for i in range(n):
            qml.RZ(t, wires=i)
        for layer in range(LAYERS):
            base = 2 * n * layer
            for i in range(n):
                qml.RY(w[base + i], wires=i)
            for i in range(n):
                qml.RZ(w[base + n + i], wires=i)
            for i in range(n):
                qml.CNOT(wires=[i, (i + 1) % n])
        return tuple(qml.expval(qml.PauliZ(i)) for i in range(n))

    weights = torch.nn.Parameter(torch.tensor(work.theta, dtype=torch.float64))
    x, t, targets = (torch.tensor(a, dtype=torch.float64) for a in work.batch(size))

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        if not train:
            with torch.no_grad():
                return torch.stack(circuit(weights, x, t), dim=1), torch.empty(0)
        weights.grad = None
        out = torch.stack(circuit(weights, x, t), dim=1)
        torch.mean((out - targets) ** 2).backward()
        assert weights.grad is not None
        return out.detach(), weights.grad.clone()

    return step


def qnn_step(work: Workload, size: int) -> Step:
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_aer.primitives import EstimatorV2
    from qiskit_machine_learning.connectors import TorchConnector
    from qiskit_machine_learning.neural_networks import EstimatorQNN

    n = work.n
    circuit = denoising_circuit(
        num_data_qubits=n,
        layers=LAYERS,
        encoding="angle",
        conditioning="time_embedding",
        entangler="cx",
    )
    by_name = {p.name: p for p in circuit.parameters}
    observables = [
        SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], num_qubits=n) for i in range(n)
    ]
    qnn = EstimatorQNN(
        circuit=circuit,
        estimator=EstimatorV2(),  # Aer's default_precision is 0: exact expectation values
        observables=observables,
        input_params=[by_name[name] for name in work.engine.input_names],
        weight_params=[by_name[name] for name in work.engine.weight_names],
        default_precision=0.0,  # the QNN's own default (1/64) would add Gaussian noise
    )
    model = TorchConnector(qnn, initial_weights=work.theta[work.to_engine].astype(np.float64))
    x, t, targets = work.batch(size)
    inputs = work.engine_inputs(x, t)
    target = torch.tensor(targets)
    from_engine = np.argsort(work.to_engine)

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        out = model(inputs)
        torch.mean((out - target) ** 2).backward()
        assert model.weight.grad is not None
        return out.detach(), model.weight.grad[from_engine].clone()

    return step


# ---- measurement --------------------------------------------------------------------------------
def _timed(step: Step) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def round_robin(steps: dict[str, Step], reps: int) -> dict[str, list[float]]:
    """Time each step ``reps`` times, interleaved (the caller has already warmed them up)."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(reps):
        for name, step in steps.items():
            times[name].append(_timed(step))
    return times


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def max_difference(
    ours: tuple[torch.Tensor, torch.Tensor], reference: tuple[torch.Tensor, torch.Tensor]
) -> tuple[float, float]:
    out = float((ours[0].double() - reference[0].double()).abs().max())
    grad = float((ours[1].double() - reference[1].double()).abs().max()) if ours[1].numel() else 0.0
    return out, grad


def check(label: str, ours: tuple[torch.Tensor, torch.Tensor],
          reference: tuple[torch.Tensor, torch.Tensor]) -> str:  # fmt: skip
    out, grad = max_difference(ours, reference)
    assert out <= TOLERANCE and grad <= TOLERANCE, (
        f"{label}: engine differs from the reference: outputs {out:.2e}, gradients {grad:.2e}"
    )
    return f"{out:.1e} / {grad:.1e}"


def memcpy_bandwidth(copies: int = 5) -> tuple[list[float], int]:
    """Bytes/s of each ``np.copyto`` on a large complex64 array (read + write counted)."""
    available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    size = 2 * GIB if available > 6 * GIB else 1 * GIB
    source = np.empty(size // 8, dtype=np.complex64)
    source.fill(1.0 + 1.0j)  # real pages (np.zeros would read the shared zero page)
    target = np.empty_like(source)
    np.copyto(target, source)  # warm-up: faults the target's pages in
    rates = []
    for _ in range(copies):
        start = time.perf_counter()
        np.copyto(target, source)
        rates.append(2 * size / (time.perf_counter() - start))
    del source, target
    return rates, size


def step_bound(sweeps: int, n: int, bandwidth: float) -> float:
    """Seconds to stream the batch ``sweeps`` times forward, x3 for the backward."""
    return sweeps * 2 * TRAIN_BATCH * 2**n * 8 * 3 / bandwidth


def _spread(values: Sequence[float], width: int) -> str:
    return f"{statistics.median(values):{width}.4f}{f'({min(values):.4f}-{max(values):.4f})':>17}"


def _columns(times: dict[str, list[float]]) -> str:
    """Engine and PennyLane medians with their ranges, and the paired ratio."""
    if "pennylane" not in times:
        return f"{_spread(times['engine'], 10)}{'n/m':>11}{'':>17}{'n/m':>9}"
    ratio = paired_ratio(times["engine"], times["pennylane"])
    return f"{_spread(times['engine'], 10)}{_spread(times['pennylane'], 11)}{ratio:8.3f}x"


def verdict(met: bool) -> str:
    return "met" if met else "NOT MET"


# ---- main ---------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> bool:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 6, 8, 3 repetitions, no QNN")
    parser.add_argument("--n", type=int, nargs="+", help="qubit counts (default 6 8 10 12)")
    parser.add_argument("--reps", type=int, help="timed repetitions (default 5, quick 3)")
    parser.add_argument("--no-qnn", action="store_true", help="skip the EstimatorQNN comparison")
    args, ignored = parser.parse_known_args(argv)
    ns = tuple(args.n) if args.n else (QUICK_NS if args.quick else FULL_NS)
    reps = args.reps or (3 if args.quick else 5)
    run_qnn = not (args.quick or args.no_qnn)

    torch.set_num_threads(THREADS)
    applied = keep_state_buffers()
    torch.manual_seed(0)
    started = time.perf_counter()
    qml = None
    if importlib.util.find_spec("pennylane") is not None:
        import pennylane as qml
    print(
        f"training engine benchmark: L={LAYERS}, training step B={TRAIN_BATCH}, "
        f"sampling B={SAMPLE_BATCH}, torch {torch.__version__} on {torch.get_num_threads()} "
        f"threads, 1 warm-up + {reps} interleaved repetitions, medians"
    )
    if ignored:
        print(f"(ignored arguments: {' '.join(ignored)})")
    print(
        f"glibc state-buffer thresholds raised: {applied}; 1-min load average at start "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (other processes distort the timings)"
    )
    if qml is None:
        print(
            "PennyLane is not installed: the PennyLane rows were NOT measured "
            "(nox -s bench installs pennylane==0.45.1)"
        )
    else:
        print(f"reference: PennyLane {qml.__version__} default.qubit, torch, backprop (complex128)")

    rates, copied = memcpy_bandwidth()  # again at the end; the bound uses the best copy

    rows = []
    for n in ns:
        work = build_workload(n)
        train = {"engine": engine_step(work, TRAIN_BATCH, True)}
        sample = {"engine": engine_step(work, SAMPLE_BATCH, False)}
        if qml is not None:
            train["pennylane"] = pennylane_step(qml, work, TRAIN_BATCH, True)
            sample["pennylane"] = pennylane_step(qml, work, SAMPLE_BATCH, False)
        warm_train = {name: step() for name, step in train.items()}
        warm_sample = {name: step() for name, step in sample.items()}
        diff = "-"
        if qml is not None:
            diff = check(f"n={n} training", warm_train["engine"], warm_train["pennylane"])
            check(f"n={n} sampling", warm_sample["engine"], warm_sample["pennylane"])
        rows.append((work, round_robin(train, reps), round_robin(sample, reps), diff))

    print()
    print(
        f"training step, B={TRAIN_BATCH} (s); ratio = engine / PennyLane, median of paired ratios; "
        f"max |diff| outputs / gradients"
    )
    print(
        f"{'n':>3}{'P':>5}{'engine':>10}{'(min-max)':>17}{'PennyLane':>11}{'(min-max)':>17}"
        f"{'ratio':>9}{'max |diff|':>20}"
    )
    for work, times, _, diff in rows:
        print(f"{work.n:>3}{work.engine.num_weights:>5}{_columns(times)}{diff:>20}")

    print()
    print(f"sampling, forward only, B={SAMPLE_BATCH} (s); ratio = engine / PennyLane")
    print(f"{'n':>3}{'engine':>10}{'(min-max)':>17}{'PennyLane':>11}{'(min-max)':>17}{'ratio':>9}")
    for work, _, times, _ in rows:
        print(f"{work.n:>3}{_columns(times)}")

    qnn_result = None
    if run_qnn:
        work = build_workload(QNN_N)
        steps: dict[str, Step] = {"engine": engine_step(work, TRAIN_BATCH, True)}
        for size in QNN_BATCHES:
            steps[f"qnn{size}"] = qnn_step(work, size)
        small = QNN_BATCHES[-1]
        ours_warm = engine_step(work, small, True)()  # the engine on the QNN's own batch
        warm = {name: step() for name, step in steps.items()}
        diff = check(f"n={QNN_N} QNN", ours_warm, warm[f"qnn{small}"])
        times = round_robin(steps, reps)
        b1, b2 = QNN_BATCHES
        estimates = [
            t2 + (t2 - t1) / (b2 - b1) * (TRAIN_BATCH - b2)
            for t1, t2 in zip(times[f"qnn{b1}"], times[f"qnn{b2}"], strict=True)
        ]
        qnn_result = (work, times, estimates, diff)

        ours = statistics.median(times["engine"])
        t1, t2 = (statistics.median(times[f"qnn{b}"]) for b in QNN_BATCHES)
        ratio = paired_ratio(estimates, times["engine"])
        print()
        print(
            f"n={QNN_N}: EstimatorQNN + TorchConnector (Aer EstimatorV2, default_precision=0, "
            f"default parameter-shift gradient, {QNN_N} observables Z_i)"
        )
        print(
            f"  QNN step measured: B={b1} {t1:.3f} s, B={b2} {t2:.3f} s "
            f"({(t2 - t1) / (b2 - b1):.3f} s per sample); "
            f"extrapolated linearly to B={TRAIN_BATCH}: {statistics.median(estimates):.1f} s"
        )
        print(
            f"  engine step B={TRAIN_BATCH} measured: {ours:.4f} s; "
            f"QNN (extrapolated) / engine = {ratio:,.0f}x; max |diff| outputs / gradients "
            f"at B={small}: {diff}"
        )

    end_rates, _ = memcpy_bandwidth()
    bandwidth = max(rates + end_rates)
    print()
    print(
        f"memcpy bandwidth (np.copyto, {copied // GIB} GiB complex64, read + write counted, "
        f"5 copies at the start and 5 at the end): medians {statistics.median(rates) / 1e9:.1f} / "
        f"{statistics.median(end_rates) / 1e9:.1f} GB/s, best {bandwidth / 1e9:.1f} GB/s"
    )
    print(
        f"memory-bandwidth bound of a training step at {bandwidth / 1e9:.1f} GB/s: "
        f"3 x sweeps x 2 x B x 2^n x 8 bytes; gate-stream sweeps = 2n + 3nL gates, "
        f"fused = engine.sweeps"
    )
    print(
        f"{'n':>3}{'gates':>7}{'sweeps':>8}{'gate bound':>12}{'fused bound':>13}{'engine':>10}"
        f"{'vs gate':>9}{'vs fused':>10}"
    )
    bound_ratios: dict[int, tuple[float, float]] = {}
    for work, times, _, _ in rows:
        ours = statistics.median(times["engine"])
        gate_bound = step_bound(work.gates, work.n, bandwidth)
        fused_bound = step_bound(work.engine.sweeps, work.n, bandwidth)
        bound_ratios[work.n] = (ours / gate_bound, ours / fused_bound)
        print(
            f"{work.n:>3}{work.gates:>7}{work.engine.sweeps:>8}{gate_bound:12.4f}"
            f"{fused_bound:13.4f}{ours:10.4f}{ours / gate_bound:8.2f}x{ours / fused_bound:9.2f}x"
        )

    print()
    print("targets:")
    all_met = True
    by_n = {work.n: (work, times) for work, times, _, _ in rows}
    for n in PENNYLANE_TARGET_NS:
        if n not in by_n or "pennylane" not in by_n[n][1]:
            print(f"  n={n:>2}: engine step <= {TARGET_VS_PENNYLANE}x PennyLane: not measured")
            continue
        times = by_n[n][1]
        ratio = paired_ratio(times["engine"], times["pennylane"])
        met = ratio <= TARGET_VS_PENNYLANE
        all_met &= met
        print(
            f"  n={n:>2}: engine step <= {TARGET_VS_PENNYLANE}x PennyLane default.qubit: "
            f"{ratio:.3f}x {verdict(met)}"
        )
    if BOUND_TARGET_N in bound_ratios:
        for label, value in zip(
            ("gate-stream", "fused-sweep"), bound_ratios[BOUND_TARGET_N], strict=True
        ):
            met = value <= TARGET_VS_BOUND
            all_met &= met
            print(
                f"  n={BOUND_TARGET_N}: engine step within {TARGET_VS_BOUND}x of the {label} "
                f"bound: {value:.2f}x {verdict(met)}"
            )
    else:
        print(f"  n={BOUND_TARGET_N}: bandwidth-bound targets: not measured")
    if qnn_result is not None:
        _, times, estimates, _ = qnn_result
        ratio = paired_ratio(estimates, times["engine"])
        met = ratio >= TARGET_VS_QNN
        all_met &= met
        print(
            f"  n={QNN_N:>2}: engine >= {TARGET_VS_QNN:.0f}x faster than EstimatorQNN + "
            f"TorchConnector: {ratio:,.0f}x {verdict(met)}"
        )
    else:
        print(f"  n={QNN_N:>2}: EstimatorQNN comparison: not measured (--quick / --no-qnn)")
    print(
        f"total benchmark time: {time.perf_counter() - started:.0f} s; "
        f"1-min load average at the end {os.getloadavg()[0]:.2f}"
    )
    return all_met


if __name__ == "__main__":
    main(sys.argv[1:])
