"""The benchmarks' command line, shared by `python -m benchmarks` and `python -m nnapps bench`."""

import argparse
import json
import sys


def main(argv: list[str] | None = None, prog: str = "python -m benchmarks") -> int:
    """Run the chosen sections; figures go to stdout, progress to stderr."""
    from .suite import SECTIONS, run_benchmarks

    parser = argparse.ArgumentParser(prog=prog, description="Benchmark figures (speed, accuracy, memory).")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a smoke check")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections (default: all)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    only = tuple(args.only) if args.only else SECTIONS
    results = run_benchmarks(quick=args.quick, log=lambda msg: print(msg, file=sys.stderr), only=only)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")
    return 0
