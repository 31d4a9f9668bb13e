"""The ``sgrn`` command (``python -m sgrn``): tools over the workflow's outputs.

    sgrn search --run results/demo/sgrn/c0/b64/s0 --tags "red circle" -k 5
    sgrn search --run results/demo/sgrn/c0/b64/s0 --image photo.jpg --json
    sgrn serve                  # the retrieval browser on http://127.0.0.1:PORT/

The workflow steps themselves are the scripts in scripts/ (run by Snakemake or DVC).
"""
from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from sgrn.query import search, serve

    parser = argparse.ArgumentParser(prog="sgrn", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    search.add_parser(commands)
    serve.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
