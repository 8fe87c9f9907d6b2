"""``kmslab tutorials``: copy the tutorial notebooks to a working folder and open JupyterLab there.

    pip install "kmslab[lab]"                 # kmslab with JupyterLab and Voila
    kmslab tutorials                          # ./kmslab-tutorials, JupyterLab on the first notebook
    kmslab tutorials my-folder --dry-run      # what it would copy and start, doing nothing
    kmslab tutorials --student handout        # for trainers: the notebooks without solutions
    kmslab tutorials --port=9000 --no-browser # options it does not know go to JupyterLab

The notebooks ship inside the package (``kmslab/notebooks`` in a wheel; the
repository's top-level ``notebooks/`` in a source checkout). A copy never
overwrites a notebook already in the folder (that is the learner's work)
unless ``--force`` says so. A student copy leaves out every cell tagged
``solution`` (and with it, its outputs) and the saved widget state, which
shows the solved end of the widgets tour.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["notebooks_dir", "tutorial_files", "student_copy", "copy_tutorials", "lab_command",
           "main"]

DEFAULT_FOLDER = "kmslab-tutorials"
FIRST = "01_getting_started.ipynb"
SOLUTION_TAG = "solution"
INSTALL_HINT = 'pip install "kmslab[lab]"'


def notebooks_dir() -> Path:
    """Where the tutorials are: inside the installed package, else in this source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "notebooks", here.parent.parent / "notebooks"):
        if (candidate / FIRST).is_file():
            return candidate
    raise FileNotFoundError("the kmslab tutorials are not installed with this copy of kmslab")


def tutorial_files() -> list[Path]:
    """The notebooks in learning order, then their README."""
    folder = notebooks_dir()
    return sorted(folder.glob("*.ipynb")) + [p for p in [folder / "README.md"] if p.is_file()]


def student_copy(notebook: dict) -> dict:
    """The notebook without its ``solution`` cells (and their outputs) and saved widget state."""
    result = copy.deepcopy(notebook)
    result["cells"] = [cell for cell in result["cells"]
                       if SOLUTION_TAG not in cell.get("metadata", {}).get("tags", [])]
    result.get("metadata", {}).pop("widgets", None)
    return result


def _write_notebook(notebook: dict, path: Path) -> None:
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def copy_tutorials(folder: Path, *, student: bool = False, force: bool = False,
                   dry_run: bool = False) -> list[tuple[str, str]]:
    """Copy the tutorials into ``folder``: ``[(file name, "copied" | "kept")]``.

    A file already there is kept unless ``force``; ``dry_run`` only says what
    would happen; ``student`` writes :func:`student_copy` of each notebook.
    """
    done = []
    if not dry_run:
        folder.mkdir(parents=True, exist_ok=True)
    for source in tutorial_files():
        target = folder / source.name
        if target.exists() and not force:
            done.append((source.name, "kept"))
            continue
        done.append((source.name, "copied"))
        if dry_run:
            continue
        if student and source.suffix == ".ipynb":
            _write_notebook(student_copy(json.loads(source.read_text(encoding="utf-8"))), target)
        else:
            shutil.copyfile(source, target)
    return done


def lab_command(folder: Path, options: Sequence[str] = ()) -> list[str]:
    """The command that starts JupyterLab in ``folder`` on the first notebook (``options`` added)."""
    return [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={folder}", *options, FIRST]


def _jupyterlab_version() -> str | None:
    if importlib.util.find_spec("jupyterlab") is None:
        return None
    from importlib.metadata import version
    return version("jupyterlab")


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    """``kmslab tutorials``: copy the notebooks to a folder and open JupyterLab there."""
    parser = argparse.ArgumentParser(
        prog="kmslab tutorials",
        description="Copy the tutorial notebooks to a folder and open JupyterLab there.")
    parser.add_argument("folder", nargs="?", default=DEFAULT_FOLDER,
                        help=f"where to put the notebooks (default: ./{DEFAULT_FOLDER})")
    parser.add_argument("--student", metavar="DIR", type=Path,
                        help="write the notebooks without their solution cells to DIR, and stop")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would be copied and started, do nothing")
    parser.add_argument("--force", action="store_true",
                        help="overwrite notebooks already in the folder")
    parser.add_argument("--no-lab", action="store_true",
                        help="copy the notebooks but do not start JupyterLab")
    args, lab_options = parser.parse_known_args(argv)
    unknown = [o for o in lab_options if not o.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    student = args.student is not None
    folder = (args.student if student else Path(args.folder)).resolve()
    version = None if student or args.no_lab else _jupyterlab_version()
    if not (student or args.no_lab) and version is None:
        out(f"JupyterLab is not installed here: {INSTALL_HINT}  (or use --no-lab to copy only)")
        return 1

    done = copy_tutorials(folder, student=student, force=args.force, dry_run=args.dry_run)
    notebooks = sum(name.endswith(".ipynb") for name, _ in done)
    copied = [name for name, what in done if what == "copied"]
    kept = [name for name, what in done if what == "kept"]
    verb = "would write" if args.dry_run else "wrote"
    kind = "student notebooks (no solutions)" if student else "notebooks"
    out(f"{verb} {len(copied)} of {len(done)} files ({notebooks} {kind}) to {folder}")
    if kept:
        out(f"kept {len(kept)} already there, as they are (--force overwrites them)")
    if student or args.no_lab:
        return 0
    command = lab_command(folder, lab_options)
    if args.dry_run:
        out(f"would start JupyterLab {version}: {' '.join(command)}")
        return 0
    out(f"starting JupyterLab {version} in {folder} (Ctrl-C stops it)")
    try:
        return subprocess.call(command, cwd=folder)
    except KeyboardInterrupt:
        return 0
