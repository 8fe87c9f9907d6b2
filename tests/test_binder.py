"""Binder's install, replayed: a fresh venv, ``pip install -r binder/requirements.txt``, a notebook run.

Binder builds from ``binder/runtime.txt`` and ``binder/requirements.txt``
(which installs this repository with ``-e .``). Without Docker, the closest
replay is a new virtual environment built the same way from the repository
root, then the first tutorial executed in it with nbconvert. pip's cache is
reused, so after the first run this takes well under two minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_getting_started.ipynb"
INSTALL_TIMEOUT_S = 900
RUN_TIMEOUT_S = 300


def _clean_env(bin_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "JUPYTER_PATH")}
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return env


def _run(cmd, env, timeout, cwd=ROOT):
    result = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n"
                    f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def test_binder_requirements_install_and_run_the_first_notebook(tmp_path):
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    wanted = tuple(int(x) for x in runtime.removeprefix("python-").split(".")[:2])
    assert sys.version_info[:2] >= wanted, f"binder pins {runtime}"

    env_dir = tmp_path / "binder-venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    env = _clean_env(bin_dir)
    _run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-compile",
          "-r", "binder/requirements.txt"], env, INSTALL_TIMEOUT_S)

    where = _run([python, "-c", "import kmslab, ipywidgets; print(kmslab.__file__)"], env, 120)
    assert Path(where.stdout.strip()).resolve().is_relative_to(ROOT / "src"), \
        "binder must install this repository in editable mode (-e .)"

    executed = tmp_path / "executed.ipynb"
    _run([python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
          "--ExecutePreprocessor.timeout=120", "--ExecutePreprocessor.kernel_name=python3",
          f"--output={executed}", str(NOTEBOOK)], env, RUN_TIMEOUT_S, cwd=NOTEBOOK.parent)

    cells = json.loads(executed.read_text())["cells"]
    errors = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    assert errors == []
    committed = json.loads(NOTEBOOK.read_text())["cells"]

    def streams(nb_cells):
        return ["".join(o.get("text", "")) for c in nb_cells if c["cell_type"] == "code"
                for o in c.get("outputs", []) if o["output_type"] == "stream"]
    assert streams(cells) == streams(committed), "the notebook prints the same text on Binder"
