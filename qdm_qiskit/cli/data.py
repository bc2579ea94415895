"""``qdm data``: generate and inspect quark/gluon jet files."""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import click

from qdm_qiskit._io import atomic_write_bytes, check_writable
from qdm_qiskit.data import (
    GeneratorSettings,
    generate_jets,
    jet_images,
    load_jets,
    sample_path,
    save_jets,
)
from qdm_qiskit.data.cache import SHARD_JETS, JetCache, default_data_dir
from qdm_qiskit.data.generate import MAX_SEED
from qdm_qiskit.data.summary import discrimination_auc, summarize_jets
from qdm_qiskit.errors import DataError
from qdm_qiskit.results.figures import jet_image_preview_png

DEFAULT_INSPECT_DIR = Path("results") / "inspect"


@click.group()
def data() -> None:
    """Quark/gluon jet data: generate offline with Pythia 8 + FastJet, inspect files."""


@data.command()
@click.option(
    "--jets",
    "n_jets",
    type=click.IntRange(min=1),
    required=True,
    help="Number of jets (half quark, half gluon).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    required=True,
    help="Seed; the same seed gives a byte-identical file.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output .npz file (EnergyFlow layout).",
)
@click.option(
    "--pthat-min",
    type=click.FloatRange(min=0, min_open=True),
    default=400.0,
    show_default=True,
    help="Pythia PhaseSpace:pTHatMin [GeV].",
)
@click.option(
    "--pthat-max",
    type=click.FloatRange(min=0, min_open=True),
    default=700.0,
    show_default=True,
    help="Pythia PhaseSpace:pTHatMax [GeV].",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Events per Pythia batch (memory vs speed; never changes the output).",
)
def generate(
    n_jets: int, seed: int, out: Path, pthat_min: float, pthat_max: float, batch_size: int
) -> None:
    r"""Generate quark/gluon jets offline and write them atomically in the EnergyFlow layout.

    Recipe: pp at 14 TeV, Z(->nu nu)+jet, anti-kT R=0.4, jet pT in [500, 550] GeV, |y| < 1.7,
    u/d/s quark jets. About a minute per 1000 jets on one core.

    \b
    Example:
      qdm data generate --jets 2000 --seed 1 --out results/qg_jets_2000.npz
    """
    settings = GeneratorSettings(pthat_min_gev=pthat_min, pthat_max_gev=pthat_max)
    check_writable(out)  # fail before minutes of generation, not after
    command = f"qdm data generate --jets {n_jets} --seed {seed}"
    if (pthat_min, pthat_max) != (400.0, 700.0):
        command += f" --pthat-min {pthat_min!r} --pthat-max {pthat_max!r}"
    start = time.perf_counter()
    with click.progressbar(length=n_jets, label="generating jets", file=sys.stderr) as bar:
        dataset = generate_jets(
            n_jets, seed=seed, settings=settings, batch_size=batch_size, progress=bar.update
        )
    dataset = dataclasses.replace(dataset, metadata={**dataset.metadata, "command": command})
    save_jets(out, dataset)
    events = dataset.metadata["events_generated"]
    click.echo(
        f"wrote {dataset.n_jets} jets ({int(dataset.y.sum())} quark, "
        f"{int((dataset.y == 0).sum())} gluon) from {sum(events.values())} events to {out} "
        f"in {time.perf_counter() - start:.1f} s"
    )


@data.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--png",
    "png",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to save the image preview [default: results/inspect/<name>.png].",
)
@click.option(
    "--npix",
    type=click.IntRange(min=2, max=64),
    default=16,
    show_default=True,
    help="Pixels per side of the preview images.",
)
def inspect(files: tuple[Path, ...], png: Path | None, npix: int) -> None:
    r"""Summarise jet files: counts per class, multiplicity and mass, and an image preview.

    With no FILES, inspects the sample shipped with the package.

    \b
    Examples:
      qdm data inspect
      qdm data inspect QG_jets.npz QG_jets_1.npz --png preview.png
    """
    paths = list(files) or [sample_path()]
    dataset = load_jets(paths)
    try:  # everything is computed before anything is printed or written
        table = summarize_jets(dataset)
        aucs = discrimination_auc(dataset)
        preview = jet_image_preview_png(
            jet_images(dataset.X, npix=npix), dataset.y, title=paths[0].name
        )
    except DataError as exc:
        raise DataError(f"{', '.join(str(p) for p in paths)}: {exc}") from exc
    png = check_writable(png or DEFAULT_INSPECT_DIR / f"{paths[0].stem}.png")
    atomic_write_bytes(png, preview)
    for source in dataset.metadata["sources"]:
        made_by = source["metadata"].get("command")
        click.echo(
            f"file: {source['path']} ({source['n_jets']} jets)"
            + (f"\n  made by: {made_by}" if made_by else "")
        )
    click.echo(f"max particles per jet (padding width): {dataset.X.shape[1]}")
    click.echo(table.to_string(float_format=lambda v: f"{v:.2f}"))
    click.echo(
        "quark/gluon ROC AUC by single observable: "
        + ", ".join(f"{k} {v:.3f}" for k, v in aucs.items())
    )
    click.echo(f"image preview: {png}")


@data.command()
@click.option("--jets", "n_jets", type=int, default=20_000, show_default=True,
              help="Jets the cache must hold (shards of 2000).")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True,
              help="Dataset seed (shard k is made with seed 1000 (seed + 1) + k).")  # fmt: skip
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Workspace data folder [default: $QDM_DATA_DIR or data/].")  # fmt: skip
@click.option("--check", is_flag=True, help="Only report which shards are cached; generate none.")
def cache(n_jets: int, seed: int, data_dir: Path | None, check: bool) -> None:
    r"""Generate (once) and check the cached jets that 'source = "pythia"' runs read.

    Shards already cached and valid are reused; missing, damaged or mismatched ones are
    generated (about 2.5 minutes per 2000 jets on one core).

    \b
    Examples:
      qdm data cache --jets 20000
      qdm data cache --jets 20000 --check
    """
    store = JetCache((data_dir or default_data_dir()) / "jets")
    missing = store.missing(n_jets, seed=seed)
    total = store.shards_needed(n_jets)
    todo = f"; to generate: {', '.join(str(k) for k in missing)}" if missing else ""
    click.echo(f"{store.directory}: seed {seed}, {total - len(missing)} of {total} shards cached"
               f"{todo}")  # fmt: skip
    if check or not missing:
        return
    start = time.perf_counter()
    with click.progressbar(length=len(missing) * SHARD_JETS, label="generating jets",
                           file=sys.stderr) as bar:  # fmt: skip
        jets = store.load(n_jets, seed=seed, progress=bar.update,
                          notice=lambda message: click.echo(f"\n{message}", err=True))  # fmt: skip
    click.echo(f"{jets.n_jets} jets ready in {time.perf_counter() - start:.0f} s")
