"""The ``kmslab`` command: ``kmslab demo`` (headless walkthrough), ``kmslab tutorials`` (the
notebooks in JupyterLab), ``kmslab serve`` (HTTP endpoint)."""

from __future__ import annotations

import argparse
import sys

from . import __version__

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="kmslab", description="A faithful AWS KMS for learning.")
    parser.add_argument("--version", action="version", version=f"kmslab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a headless walkthrough: create, encrypt, delete a key")
    demo.add_argument("--seed", type=int, default=7)
    sub.add_parser("tutorials", add_help=False,
                   help="copy the tutorial notebooks to a folder and open JupyterLab there")
    sub.add_parser("serve", help="serve the AWS KMS JSON API over HTTP", add_help=False)
    if argv[:1] == ["serve"]:
        from .interop import cli_serve
        return cli_serve(argv[1:])
    if argv[:1] == ["tutorials"]:
        from .tutorials import main as tutorials
        return tutorials(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo
        run_demo(seed=args.seed)
        return 0
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
