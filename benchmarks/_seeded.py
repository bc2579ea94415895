"""Command line shared by the benchmarks that train over seeds and resolutions."""

from __future__ import annotations

import argparse


def seeded_parser(
    description: str, *, resolutions: list[int], epochs: int | None = None
) -> argparse.ArgumentParser:
    """``--quick``, ``--resolutions``, ``--seeds`` (default 0 1 2), and ``--epochs`` if given."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="one resolution, seed 0, short")
    parser.add_argument("--resolutions", type=int, nargs="+", default=resolutions)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs)
    return parser


def seeded_settings(args: argparse.Namespace, *, quick: int) -> tuple[list[int], list[int], int]:
    """Resolutions, seeds and epochs; ``--quick`` gives ``[quick]``, ``[0]`` and 3 epochs."""
    if args.quick:
        return [quick], [0], 3
    return args.resolutions, args.seeds, getattr(args, "epochs", 0)
