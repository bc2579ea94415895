"""A differentiable, batched simulator that runs a ``QuantumCircuit`` as compiled torch operations.

:class:`CompiledCircuit` compiles the circuit once (:mod:`qdm_qiskit.engine.ir`) and then maps
``(weights, inputs)`` to a batch of states with a handful of fused sweeps per layer. Gradients
come from autograd. Circuits with mid-circuit measurement, reset or Kraus channels run in
density-matrix mode (the same executor on the vectorized density matrix).

Example:
    >>> import torch
    >>> from qdm_qiskit.circuits import denoising_circuit
    >>> qc = denoising_circuit(num_data_qubits=3, layers=2, encoding="angle")
    >>> engine = CompiledCircuit(qc)
    >>> engine.input_names, engine.num_weights
    (('x[0]', 'x[1]', 'x[2]'), 12)
    >>> states = engine(torch.zeros(12), torch.zeros(5, 3))
    >>> tuple(states.shape)
    (5, 8)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from qdm_qiskit.circuits._naming import INPUT
from qdm_qiskit.engine import kernels, readout
from qdm_qiskit.engine.ir import (
    DenseOp,
    DiagonalOp,
    LocalOp,
    PermutationOp,
    Program,
    compile_program,
    density_program,
)
from qdm_qiskit.errors import ConfigError

#: Kinds of computed single-qubit gates, in the order their matrices are concatenated.
_KINDS = ("rx", "ry", "rz", "p", "u1", "u", "u3", "r")
_ARITY = {"rx": 1, "ry": 1, "rz": 1, "p": 1, "u1": 1, "u": 3, "u3": 3, "r": 2}


def default_device() -> torch.device:
    """CUDA when torch sees a GPU, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def input_parameter_names(circuit: QuantumCircuit) -> tuple[str, ...]:
    """Vectors whose role is ``input`` in the builder metadata (data, time angles)."""
    roles = (circuit.metadata or {}).get("parameter_roles", {})
    return tuple(name for name, role in roles.items() if role == INPUT)


def _vector_name(parameter: Parameter) -> str:
    vector = getattr(parameter, "vector", None)
    return vector.name if vector is not None else parameter.name


class CompiledCircuit(torch.nn.Module):
    """A circuit compiled to torch: ``forward(weights, inputs, initial_state) -> states``.

    Args:
        circuit: any circuit of unitary gates with affine parameter expressions, plus (density
            mode) measurements, resets and Kraus channels.
        inputs: names of parameter vectors (or single parameters) bound per sample; default: the
            vectors the builder marked ``input``. Every other parameter is a shared weight.
        density: force density-matrix mode; default: only when the circuit needs it.
        device: torch device (default :func:`default_device`).
        dtype: ``torch.complex64`` (default, training) or ``torch.complex128``.
    """

    # Constant buffers (registered in _build; typed here for readers and mypy).
    _offset: torch.Tensor
    _a_w: torch.Tensor
    _a_x: torch.Tensor
    _fixed: torch.Tensor
    _gate_order: torch.Tensor
    _chains: torch.Tensor
    _shared_windows: torch.Tensor
    _batched_windows: torch.Tensor
    _columns: torch.Tensor

    def __init__(
        self,
        circuit: QuantumCircuit,
        *,
        inputs: Iterable[str] | None = None,
        density: bool | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.complex64,
    ) -> None:
        super().__init__()
        if dtype not in (torch.complex64, torch.complex128):
            raise ConfigError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
        program = compile_program(circuit)
        if density is None:
            density = not program.unitary
        if not density and not program.unitary:
            raise ConfigError(
                "circuit has mid-circuit measurement, reset or channels: use density=True"
            )
        if density:
            program = compile_program(circuit, keep_final_measurements=True)
        self.density = bool(density)
        self.num_qubits = circuit.num_qubits
        self.gate_count = program.gate_count
        self.dtype = dtype
        self.real_dtype = torch.float32 if dtype == torch.complex64 else torch.float64
        names = set(input_parameter_names(circuit) if inputs is None else inputs)
        known = {_vector_name(p) for p in program.parameters} | {p.name for p in program.parameters}
        unknown = sorted(names - known)
        if inputs is not None and unknown:
            raise ConfigError(
                f"unknown input parameters {unknown}; the circuit has {sorted(known)}"
            )
        is_input = [(_vector_name(p) in names or p.name in names) for p in program.parameters]
        self.weight_parameters = tuple(
            p for p, i in zip(program.parameters, is_input, strict=True) if not i
        )
        self.input_parameters = tuple(
            p for p, i in zip(program.parameters, is_input, strict=True) if i
        )
        self.program = density_program(program) if self.density else program
        self._global_phase = program.global_phase
        self._build(program.parameters, is_input)
        self.to(default_device() if device is None else torch.device(device))

    # ---- public properties --------------------------------------------------------------
    @property
    def num_weights(self) -> int:
        """Shared (trained) parameters, in ``weight_names`` order."""
        return len(self.weight_parameters)

    @property
    def num_inputs(self) -> int:
        """Per-sample parameters, in ``input_names`` order."""
        return len(self.input_parameters)

    @property
    def weight_names(self) -> tuple[str, ...]:
        """Names of the weights (the order of the ``weights`` argument)."""
        return tuple(p.name for p in self.weight_parameters)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the inputs (the order of the columns of ``inputs``)."""
        return tuple(p.name for p in self.input_parameters)

    @property
    def device(self) -> torch.device:
        """Device of the compiled constants (and of the returned states)."""
        return self._offset.device

    @property
    def sweeps(self) -> int:
        """Passes over the batch of states per forward call (the memory-traffic model)."""
        count = 0
        for step in self._steps:
            count += len(step[1]) if step[0] == "local" else 1
        return count

    def parameter_values(self, weights: torch.Tensor, inputs: torch.Tensor | None) -> np.ndarray:
        """Rows of values in ``circuit.parameters`` order (what a Qiskit primitive binds)."""
        w = weights.detach().cpu().double().numpy()
        batch = 1 if inputs is None else inputs.shape[0]
        x = np.zeros((batch, 0)) if inputs is None else inputs.detach().cpu().double().numpy()
        values = np.empty((batch, len(self._is_input)))
        values[:, ~self._is_input] = w
        values[:, self._is_input] = x
        return values

    # ---- compilation to tensors ---------------------------------------------------------
    def _build(self, parameters: tuple[Parameter, ...], is_input: list[bool]) -> None:
        program = self.program
        self._is_input = np.array(is_input, dtype=bool)
        weight_column = {int(i): k for k, i in enumerate(np.flatnonzero(~self._is_input))}
        input_column = {int(i): k for k, i in enumerate(np.flatnonzero(self._is_input))}
        slots = program.slots
        a_w: np.ndarray = np.zeros((len(slots), len(weight_column)))
        a_x: np.ndarray = np.zeros((len(slots), len(input_column)))
        offset = np.array([s.offset for s in slots], dtype=float)
        for row, slot in enumerate(slots):
            for index, coefficient in slot.coefficients:
                if index in input_column:
                    a_x[row, input_column[index]] += coefficient
                else:
                    a_w[row, weight_column[index]] += coefficient
        slot_is_batched = np.any(a_x != 0, axis=1)
        self._buffer("_offset", torch.tensor(offset, dtype=self.real_dtype))
        self._buffer("_a_w", torch.tensor(a_w, dtype=self.real_dtype))
        self._buffer("_a_x", torch.tensor(a_x, dtype=self.real_dtype))

        gates = program.gates
        order: list[int] = []
        self._kinds: list[tuple[str, str, str]] = []  # (kind, slot buffer, conj buffer)
        for kind in _KINDS:
            members = [i for i, g in enumerate(gates) if g.kind == kind]
            if members:
                order.extend(members)
                slot_table = np.array([gates[i].slots for i in members], dtype=np.int64)
                self._buffer(f"_slots_{kind}", torch.tensor(slot_table))
                conj = torch.tensor([gates[i].conjugate for i in members])
                self._buffer(f"_conj_{kind}", conj)
                self._kinds.append((kind, f"_slots_{kind}", f"_conj_{kind}"))
        fixed = [i for i, g in enumerate(gates) if g.kind == "fixed"]
        order.extend(fixed)
        fixed_matrices = [gates[i].matrix for i in fixed] + [np.eye(2)]  # identity pads chains
        self._buffer("_fixed", torch.tensor(np.array(fixed_matrices), dtype=self.dtype))
        position = np.empty(len(gates) + 1, dtype=np.int64)
        position[np.array([*order, len(gates)], dtype=np.int64)] = np.arange(len(gates) + 1)
        self._buffer("_gate_order", torch.tensor(position))
        gate_batched = np.array(
            [any(slot_is_batched[s] for s in g.slots) for g in gates] + [False], dtype=bool
        )
        self._build_steps(program, gate_batched, identity=len(gates))

    def _build_steps(self, program: Program, gate_batched: np.ndarray, identity: int) -> None:
        chains: list[list[int]] = [[identity]]  # chain 0 is the identity
        # Kronecker blocks whose gates depend only on weights (one matrix for the batch) and
        # blocks with per-sample angles (one matrix per sample).
        windows: dict[bool, list[list[int]]] = {False: [], True: []}
        columns: list[int] = []
        self._steps: list[tuple] = []
        n = program.num_qubits
        width = min(kernels.BLOCK_QUBITS, n)
        for position, op in enumerate(program.ops):
            if isinstance(op, LocalOp):
                chain_id = {}
                for qubit, chain in op.chains.items():
                    chains.append(chain)
                    chain_id[qubit] = len(chains) - 1
                blocks = []
                remaining = sorted(op.chains)
                while remaining:
                    low = min(remaining[0], n - width)
                    members = [chain_id.get(q, 0) if q in remaining else 0
                               for q in range(low, low + width)]  # fmt: skip
                    remaining = [q for q in remaining if q >= low + width]
                    batched = any(gate_batched[g] for c in members for g in chains[c])
                    windows[batched].append(members)
                    blocks.append((batched, len(windows[batched]) - 1, low))
                if position == 0:  # from |0...0>, the first layer makes a product state
                    columns = [chain_id.get(q, 0) for q in range(n)]
                self._steps.append(("local", blocks, position == 0))
            elif isinstance(op, PermutationOp):
                index = torch.tensor(op.index, dtype=torch.int64)
                inverse = torch.empty_like(index)
                inverse[index] = torch.arange(index.numel())
                name = f"_perm_{position}"
                self._buffer(name, index)
                self._buffer(name + "_inv", inverse)
                self._steps.append(("perm", name))
            elif isinstance(op, DiagonalOp):
                name = f"_diag_{position}"
                self._buffer(name, torch.tensor(op.fixed, dtype=self.dtype))
                if op.terms:
                    slots = torch.tensor([s for s, _ in op.terms], dtype=torch.int64)
                    patterns = np.array([p for _, p in op.terms], dtype=float)
                    self._buffer(name + "_slots", slots)
                    self._buffer(name + "_patterns", torch.tensor(patterns, dtype=self.real_dtype))
                self._steps.append(("diag", name, bool(op.terms)))
            elif isinstance(op, DenseOp):
                name = f"_dense_{position}"
                self._buffer(name, torch.tensor(op.matrix, dtype=self.dtype))
                self._steps.append(("dense", name, op.qubits))
            else:  # pragma: no cover - density_program removed every other kind
                raise AssertionError(f"unexpected op {op!r}")
        longest = max(len(c) for c in chains)
        table = [c + [identity] * (longest - len(c)) for c in chains]
        self._buffer("_chains", torch.tensor(table, dtype=torch.int64))
        for batched, name in ((False, "_shared_windows"), (True, "_batched_windows")):
            table = windows[batched] or [[0] * width]
            self._buffer(name, torch.tensor(table, dtype=torch.int64))
        self._has_batched_windows = bool(windows[True])
        self._buffer("_columns", torch.tensor(columns or [0], dtype=torch.int64))
        self._width = width

    def _buffer(self, name: str, value: torch.Tensor) -> None:
        self.register_buffer(name, value, persistent=False)

    # ---- execution ----------------------------------------------------------------------
    def angles(self, weights: torch.Tensor, inputs: torch.Tensor | None) -> torch.Tensor:
        """All gate angles: ``(S,)`` without per-sample dependence, else ``(B, S)``."""
        angles = self._offset + self._a_w @ weights.to(self.real_dtype)
        if inputs is not None and self.num_inputs:
            angles = angles + inputs.to(self.real_dtype) @ self._a_x.T
        return angles

    def forward(
        self,
        weights: torch.Tensor,
        inputs: torch.Tensor | None = None,
        initial_state: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """States ``(B, 2^n)``, or density matrices ``(B, 2^n, 2^n)`` in density mode.

        Args:
            weights: ``(num_weights,)``, shared by the batch.
            inputs: ``(B, num_inputs)`` per-sample values (required when the circuit has inputs).
            initial_state: ``(B, 2^n)`` state vectors (or ``(B, 2^n, 2^n)`` density matrices in
                density mode); default ``|0...0>``.
        """
        weights, inputs = self._check(weights, inputs)
        batch = self._batch_size(inputs, initial_state)
        shared_angles = self.angles(weights, None)
        angles = shared_angles
        if inputs is not None:
            angles = shared_angles + inputs.to(self.real_dtype) @ self._a_x.T
        # Blocks are computed once and split with unbind: indexing them one by one would make
        # autograd allocate and zero a full-size gradient per block.
        shared_chains = self._chain_products(self._gate_matrices(shared_angles))
        blocks = {False: kernels.kron_blocks(shared_chains[self._shared_windows]).unbind(0)}
        chains = shared_chains
        if angles.dim() == 2:
            chains = self._chain_products(self._gate_matrices(angles))
            if self._has_batched_windows:
                batched = kernels.kron_blocks(chains[:, self._batched_windows])
                blocks[True] = batched.unbind(1)
        state: torch.Tensor | None = self._initial(initial_state, batch)
        for step in self._steps:
            state = self._run_step(step, state, blocks, chains, angles, batch)
        if state is None:  # a circuit without operations
            state = self._zero_state(batch)
        if self._global_phase is not None and not self.density:
            phase = angles[..., self._global_phase]
            factor = torch.complex(torch.cos(phase), torch.sin(phase))
            state = state * (factor[:, None] if factor.dim() else factor)
        if self.density:
            dim = 2**self.num_qubits
            return state.reshape(batch, dim, dim)
        return state

    def _check(
        self, weights: torch.Tensor, inputs: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        weights = torch.as_tensor(weights, device=self.device)
        if weights.shape != (self.num_weights,):
            raise ConfigError(
                f"weights must have shape ({self.num_weights},), got {tuple(weights.shape)}"
            )
        if self.num_inputs:
            if inputs is None:
                raise ConfigError(f"this circuit needs inputs {self.input_names}")
            inputs = torch.as_tensor(inputs, device=self.device)
            if inputs.dim() != 2 or inputs.shape[1] != self.num_inputs:
                raise ConfigError(
                    f"inputs must have shape (B, {self.num_inputs}), got {tuple(inputs.shape)}"
                )
        elif inputs is not None and inputs.numel():
            raise ConfigError("this circuit has no input parameters")
        return weights, inputs if self.num_inputs else None

    def _batch_size(self, inputs: torch.Tensor | None, initial: torch.Tensor | None) -> int:
        sizes = {t.shape[0] for t in (inputs, initial) if t is not None}
        if len(sizes) > 1:
            raise ConfigError(
                f"inputs and initial_state disagree on the batch size: {sorted(sizes)}"
            )
        return sizes.pop() if sizes else 1

    def _gate_matrices(self, angles: torch.Tensor) -> torch.Tensor:
        lead = angles.shape[:-1]
        parts = []
        for kind, slot_name, conj_name in self._kinds:
            slot_table = getattr(self, slot_name)
            kind_matrices = kernels.one_qubit_matrices(kind, angles[..., slot_table])
            conj = getattr(self, conj_name)
            if bool(conj.any()):
                kind_matrices = torch.where(
                    conj[:, None, None], kind_matrices.conj(), kind_matrices
                )
            parts.append(kind_matrices)
        parts.append(self._fixed.expand(*lead, *self._fixed.shape))
        return torch.cat(parts, dim=-3)[..., self._gate_order, :, :]

    def _chain_products(self, matrices: torch.Tensor) -> torch.Tensor:
        gathered = matrices[..., self._chains, :, :]  # (..., C, L, 2, 2)
        product = gathered[..., 0, :, :]
        for j in range(1, gathered.shape[-3]):
            product = gathered[..., j, :, :] @ product
        return product

    def _initial(self, initial: torch.Tensor | None, batch: int) -> torch.Tensor | None:
        if initial is None:
            return None
        dim = 2**self.num_qubits
        initial = torch.as_tensor(initial, device=self.device).to(self.dtype)
        if self.density:
            if initial.shape == (batch, dim):
                initial = readout.density_matrix(initial)
            if initial.shape != (batch, dim, dim):
                raise ConfigError(f"initial_state must be (B, {dim}) or (B, {dim}, {dim})")
            return initial.reshape(batch, dim * dim)
        if initial.shape != (batch, dim):
            raise ConfigError(
                f"initial_state must have shape (B, {dim}), got {tuple(initial.shape)}"
            )
        return initial

    def _run_step(
        self,
        step: tuple,
        state: torch.Tensor | None,
        blocks: dict[bool, tuple[torch.Tensor, ...]],
        chains: torch.Tensor,
        angles: torch.Tensor,
        batch: int,
    ) -> torch.Tensor:
        kind = step[0]
        if kind == "local":
            _, windows, first = step
            if state is None and first:
                vectors = list(chains[..., self._columns, :, 0].unbind(-2))
                return kernels.product_state(vectors, batch)
            state = self._zero_state(batch) if state is None else state
            for per_sample, index, low in windows:
                state = kernels.apply_block(state, blocks[per_sample][index], low, self._width)
            return state
        state = self._zero_state(batch) if state is None else state
        if kind == "perm":
            name = step[1]
            return kernels.permute(state, getattr(self, name), getattr(self, name + "_inv"))
        if kind == "diag":
            _, name, has_terms = step
            diagonal = getattr(self, name)
            if has_terms:
                phase = angles[..., getattr(self, name + "_slots")] @ getattr(
                    self, name + "_patterns"
                )
                diagonal = diagonal * torch.complex(torch.cos(phase), torch.sin(phase))
            return state * diagonal
        _, name, qubits = step
        return kernels.apply_dense(state, getattr(self, name), qubits, self.program.num_qubits)

    def _zero_state(self, batch: int) -> torch.Tensor:
        state = torch.zeros(batch, 2**self.program.num_qubits, dtype=self.dtype, device=self.device)
        state[:, 0] = 1.0
        return state
