"""``kmslab tutorials``: the notebooks copied to a working folder (never over the learner's work),
JupyterLab started there; ``--student`` leaves the solutions out. And on a fresh machine: a new
venv with ``pip install ".[lab]"`` (a wheel, so the notebooks must ship as package data) runs
the command's dry run and writes a student copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from kmslab import tutorials
from kmslab.cli import main as cli
from test_binder import INSTALL_TIMEOUT_S, _clean_env, _run

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _solutions(path: Path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum("solution" in c["metadata"].get("tags", []) for c in cells)


def test_the_tutorials_are_the_repositorys_notebooks():
    assert tutorials.notebooks_dir() == ROOT / "notebooks"
    names = [p.name for p in tutorials.tutorial_files()]
    assert names == [p.name for p in NOTEBOOKS] + ["README.md"]


def test_copy_writes_every_notebook_and_keeps_the_learners_work(tmp_path):
    lines = []
    assert tutorials.main([str(tmp_path), "--no-lab"], out=lines.append) == 0
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert (tmp_path / "01_getting_started.ipynb").read_bytes() == NOTEBOOKS[0].read_bytes()
    assert lines == [f"wrote 20 of 20 files (19 notebooks) to {tmp_path}"]

    mine = tmp_path / "01_getting_started.ipynb"
    mine.write_text("my answers")
    lines.clear()
    assert tutorials.main([str(tmp_path), "--no-lab"], out=lines.append) == 0
    assert mine.read_text() == "my answers"
    assert lines == [f"wrote 0 of 20 files (19 notebooks) to {tmp_path}",
                     "kept 20 already there, as they are (--force overwrites them)"]
    tutorials.main([str(tmp_path), "--no-lab", "--force"], out=lines.append)
    assert mine.read_bytes() == NOTEBOOKS[0].read_bytes()


def test_a_dry_run_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tutorials, "_jupyterlab_version", lambda: "4.9.9")
    lines = []
    assert tutorials.main([str(tmp_path / "t"), "--dry-run"], out=lines.append) == 0
    assert not (tmp_path / "t").exists()
    assert lines[0] == f"would write 20 of 20 files (19 notebooks) to {tmp_path / 't'}"
    assert lines[1] == ("would start JupyterLab 4.9.9: " + sys.executable + " -m jupyterlab "
                        f"--ServerApp.root_dir={tmp_path / 't'} 01_getting_started.ipynb")


def test_jupyterlab_starts_in_the_folder(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(tutorials, "_jupyterlab_version", lambda: "4.9.9")
    monkeypatch.setattr(tutorials.subprocess, "call", lambda cmd, cwd: calls.append((cmd, cwd)) or 0)
    assert cli(["tutorials", str(tmp_path)]) == 0
    assert calls == [(tutorials.lab_command(tmp_path), tmp_path)]
    assert (tmp_path / "12_widgets_tour.ipynb").is_file()
    assert cli(["tutorials", str(tmp_path), "--port=9000", "--no-browser"]) == 0
    assert calls[-1][0][-3:] == ["--port=9000", "--no-browser", "01_getting_started.ipynb"]
    with pytest.raises(SystemExit):
        tutorials.main([str(tmp_path), "another-folder"])


def test_without_jupyterlab_it_says_how_to_get_it_and_copies_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tutorials, "_jupyterlab_version", lambda: None)
    lines = []
    assert tutorials.main([str(tmp_path / "t")], out=lines.append) == 1
    assert lines == ['JupyterLab is not installed here: pip install "kmslab[lab]"  '
                     "(or use --no-lab to copy only)"]
    assert not (tmp_path / "t").exists()


def test_a_student_copy_has_no_solutions_and_no_solved_widget_state(tmp_path):
    lines = []
    assert tutorials.main(["--student", str(tmp_path)], out=lines.append) == 0
    assert lines == [f"wrote 20 of 20 files (19 student notebooks (no solutions)) to {tmp_path}"]
    assert all(_solutions(p) == 1 for p in NOTEBOOKS), "the originals have their solutions"
    for original in NOTEBOOKS:
        copy = json.loads((tmp_path / original.name).read_text())
        source = json.loads(original.read_text())
        kept = [c for c in source["cells"] if "solution" not in c["metadata"].get("tags", [])]
        assert copy["cells"] == kept
        assert "widgets" not in copy["metadata"]
        assert len(copy["cells"]) == len(source["cells"]) - 1
        said = json.dumps([c.get("outputs", []) for c in copy["cells"]])
        assert "Correct!" not in said and "Not yet:" in said


def test_student_copy_of_one_notebook_leaves_the_original_alone():
    source = json.loads(NOTEBOOKS[0].read_text())
    before = json.dumps(source)
    assert tutorials.student_copy(source)["cells"] != source["cells"]
    assert json.dumps(source) == before


def test_a_fresh_venv_with_the_lab_extra_has_the_command_and_the_notebooks(tmp_path):
    env_dir = tmp_path / "lab-venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    env = _clean_env(bin_dir)
    _run([bin_dir / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q",
          "--no-compile", f"{ROOT}[lab]"], env, INSTALL_TIMEOUT_S)
    where = _run([bin_dir / "python", "-c", "import kmslab; print(kmslab.__file__)"], env, 120,
                 cwd=tmp_path)
    assert not Path(where.stdout.strip()).resolve().is_relative_to(ROOT), "a wheel install"

    kmslab = str(bin_dir / "kmslab")
    dry = _run([kmslab, "tutorials", "--dry-run", "class"], env, 120, cwd=tmp_path)
    lines = dry.stdout.splitlines()
    assert lines[0] == f"would write 20 of 20 files (19 notebooks) to {tmp_path / 'class'}"
    assert lines[1].startswith("would start JupyterLab 4.")
    assert f"-m jupyterlab --ServerApp.root_dir={tmp_path / 'class'}" in lines[1]
    assert not (tmp_path / "class").exists()
    _run([bin_dir / "python", "-c", "import jupyterlab, voila"], env, 120, cwd=tmp_path)

    _run([kmslab, "tutorials", "--student", "handout"], env, 120, cwd=tmp_path)
    handout = sorted((tmp_path / "handout").glob("*.ipynb"))
    assert [p.name for p in handout] == [p.name for p in NOTEBOOKS]
    assert sum(_solutions(p) for p in handout) == 0
    assert subprocess.run([kmslab, "tutorials", "--help"], env=env, capture_output=True,
                          text=True).returncode == 0


@pytest.mark.parametrize("extra", ["lab"])
def test_the_lab_extra_brings_jupyterlab_and_voila(extra):
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {req.split(">")[0].split("[")[0] for req in project["optional-dependencies"][extra]}
    assert {"jupyterlab", "voila"} <= wanted
    assert "-e .[lab]" in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
