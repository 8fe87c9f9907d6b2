# Re-run the tutorial notebooks in place and strip run-to-run noise:
#     python tools/run_notebooks.py [--strip-only] [notebooks/NN_x.ipynb ...]
"""Execute every notebook in notebooks/ (or those named) in place, then strip what changes on
every run: per-cell ``metadata.execution`` timestamps and stored widget state.

A notebook whose metadata says ``"kmslab": {"keep_widget_state": true}`` (the
widgets tour) keeps the state of its widgets instead, so that GitHub, nbviewer
or a static site without a kernel can still draw them.

The kernel runs in notebooks/ with ``src`` first on PYTHONPATH, so it imports
this checkout's kmslab. ``--strip-only`` only strips, without executing.
Check the result with ``pytest --nbval notebooks/``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SRC = ROOT / "src"


def keeps_widget_state(nb: nbformat.NotebookNode) -> bool:
    """Whether the notebook asks to keep its widgets' state (``metadata.kmslab.keep_widget_state``)."""
    return bool(nb.metadata.get("kmslab", {}).get("keep_widget_state"))


def strip_noise(nb: nbformat.NotebookNode) -> bool:
    """Remove execution timestamps and (unless kept) widget state; True if anything was removed."""
    changed = False
    if not keeps_widget_state(nb):
        changed = nb.metadata.pop("widgets", None) is not None
    for cell in nb.cells:
        changed |= cell.metadata.pop("execution", None) is not None
    return changed


def execute(nb: nbformat.NotebookNode, *, timeout: int = 600) -> None:
    """Run every cell top to bottom in a fresh kernel started in notebooks/."""
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            store_widget_state=keeps_widget_state(nb),
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path,
                        help="notebooks to process (default: every notebooks/*.ipynb)")
    parser.add_argument("--strip-only", action="store_true",
                        help="only strip timestamps and widget state, do not execute")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(SRC)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if not args.strip_only:
            print(f"executing {path.name}", flush=True)
            execute(nb)
        if strip_noise(nb) or not args.strip_only:
            nbformat.write(nb, path)
            print(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
