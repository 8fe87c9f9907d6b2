"""One version, written once (``kmslab/version.py``, read as ``kmslab.__version__``): the package
metadata, ``kmslab --version`` and the license shipped with the distribution all agree with it."""

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import kmslab
from kmslab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_written_once_in_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "kmslab.version.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", kmslab.__version__)
    assert kmslab.__version__ is kmslab.version.__version__


def test_the_installed_metadata_carries_the_package_version():
    assert importlib.metadata.version("kmslab") == kmslab.__version__


def test_kmslab_dash_dash_version_prints_it(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"kmslab {kmslab.__version__}\n"


def test_kmslab_without_a_command_is_refused(capsys):
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2
    assert "required" in capsys.readouterr().err


def test_python_dash_m_kmslab_dash_dash_version():
    result = subprocess.run([sys.executable, "-m", "kmslab", "--version"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == f"kmslab {kmslab.__version__}\n"


def test_the_distribution_ships_the_apache_license():
    distribution = importlib.metadata.distribution("kmslab")
    assert distribution.metadata["License-Expression"] == "Apache-2.0"
    assert distribution.metadata.get_all("License-File") == ["LICENSE"]
    shipped = distribution.read_text("licenses/LICENSE")
    assert shipped == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in shipped and "Version 2.0" in shipped
