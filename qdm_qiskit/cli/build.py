"""``qdm build``: build circuits from a config, transpile them for a target, save them as QPY."""

from __future__ import annotations

from pathlib import Path

import click

from qdm_qiskit.circuits import (
    TranspileCache,
    build_circuit,
    circuit_summary,
    isa_violations,
    load_build_config,
    save_circuit,
    summary_table,
    transpile_isa,
)
from qdm_qiskit.circuits.transpile import TranspileOptions
from qdm_qiskit.errors import ConfigError
from qdm_qiskit.jobs import parse_target, resolve_target
from qdm_qiskit.options import options_to_dict

DEFAULT_CIRCUITS_DIR = Path("circuits")


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--target",
    default=None,
    help="aer | aer:<fake> | fake:<fake> | ibm:<backend> (overrides the config's target).",
)
@click.option(
    "--optimization-level",
    type=click.IntRange(0, 3),
    default=None,
    help="Preset pass manager level (overrides the config).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_CIRCUITS_DIR,
    show_default=True,
    help="Output directory.",
)
def build(config: Path, target: str | None, optimization_level: int | None, out_dir: Path) -> None:
    r"""Build the circuits of CONFIG, transpile them for a target, and save them as QPY + JSON.

    Each circuit is written as <name>.qpy (logical) and, with a target,
    <name>.isa-<target>.qpy (ISA, transpiled once and reused from a cache under
    <out>/.transpile-cache); the JSON sidecars record builder, arguments, parameter names,
    hashes and versions. Prints a summary: width, depth, two-qubit gates, duration.

    \b
    Example:
      qdm build circuits.toml --target fake:FakeFez --optimization-level 2
    """
    spec = load_build_config(config)
    options = spec.transpile
    if optimization_level is not None:
        options = TranspileOptions(
            **{**options_to_dict(options), "optimization_level": optimization_level}
        )
    target_text = target or spec.target
    target_spec = parse_target(target_text) if target_text else None
    backend = resolve_target(target_text) if target_text else None
    cache = TranspileCache(directory=out_dir / ".transpile-cache", autoflush=False)
    # Build and transpile everything first: a bad entry leaves no partial set of files.
    built = []
    for entry in spec.circuits:
        try:
            circuit = build_circuit(entry.builder, entry.arguments)
            circuit.name = entry.name
            isa = None
            if backend is not None:
                isa = transpile_isa(circuit, target=backend, options=options, cache=cache)
                problems = isa_violations(isa, backend)
                if problems:
                    raise ConfigError(f"not an ISA circuit for {target_text}: {problems[:3]}")
        except ConfigError as exc:
            raise ConfigError(f"{config}: circuit {entry.name!r}: {exc}") from exc
        built.append((entry, circuit, isa))
    cache.flush()
    summaries = []
    for entry, circuit, isa in built:
        save_circuit(circuit, out_dir / entry.name)
        if isa is not None and target_spec is not None:
            extra = {
                "target": target_spec.text,
                "transpile": options_to_dict(options),
                "isa": True,
            }
            isa_path = save_circuit(
                isa, out_dir / f"{entry.name}.isa-{target_spec.label}", extra=extra
            )
            summaries.append(circuit_summary(isa, target=backend, name=isa_path.stem))
        else:
            summaries.append(circuit_summary(circuit, name=entry.name))
    where = (
        f" for {target_text} (optimization level {options.optimization_level})" if backend else ""
    )
    click.echo(f"built {len(built)} circuit(s){where} into {out_dir}/")
    click.echo(summary_table(summaries).to_string(float_format=lambda v: f"{v:.2f}"))
    if backend is not None:
        click.echo(f"transpile cache: {cache.hits} hit(s), {cache.misses} miss(es)")
