"""The ``fastconv`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

_EPILOG = """commands:
  demo    the tutorial's 4×4 example step by step, then a 512×512 image timed
            $ fastconv demo
  bench   fastconv against every installed peer (PyTorch, OpenCV, SciPy, NumPy)
            $ fastconv bench --workloads W1,W4 --quick
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastconv",
        description="The convolution operation of CNNs and image filtering, for NumPy.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fastconv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the worked example and time a 512×512 image")
    demo.add_argument("--size", type=int, default=512, help="side of the timed image (512)")
    commands.add_parser(
        "bench",
        help="benchmark against installed peers (options: fastconv bench --help)",
        add_help=False,
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastconv`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # the benchmark owns its options
        from .bench import main as bench_main

        return bench_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.size < 3:
            parser.error(f"--size: expected an integer >= 3, got {args.size}")
        from .demo import run

        print(run(size=args.size))
        return 0
    parser.print_help()
    return 0
