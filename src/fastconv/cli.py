"""The ``fastconv`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import __version__, _cli_explain

_EPILOG = (
    """commands:
  demo     the tutorial's 4×4 example step by step and animated, then a 512×512 image timed
             $ fastconv demo
  bench    fastconv against every installed peer (PyTorch, OpenCV, SciPy, NumPy)
             $ fastconv bench --workloads W1,W4 --quick
"""
    + _cli_explain.EPILOG
)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (``fastconv demo: error: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fastconv",
        description="The convolution operation of CNNs and image filtering, for NumPy.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fastconv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="run the worked example step by step, animate it, time a 512×512 image"
    )
    demo.add_argument("--size", type=int, default=512, help="side of the timed image (512)")
    demo.add_argument(
        "--out", default="fastconv-demo", help="folder for the demo's files (fastconv-demo)"
    )
    commands.add_parser(
        "bench",
        help="benchmark against installed peers (options: fastconv bench --help)",
        add_help=False,
    )
    _cli_explain.add_commands(commands)
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
        from .demo import run, write_animation

        print(run(size=args.size))
        try:  # the explained example's animation
            gif = write_animation(args.out)
        except OSError as exc:
            print(f"fastconv demo: error: cannot write {args.out!r}: {exc}", file=sys.stderr)
            return 1
        print(f"\nanimation of the 4×4 example: {gif}")
        return 0
    if hasattr(args, "run"):
        return _cli_explain.run(args)
    parser.print_help()
    return 0
