"""Every figure kmslab returns is a picture: in a fresh kernel, whatever was imported before,
and in the committed notebook outputs (never the text ``<Figure size ...>`` alone)."""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import kmslab.latency.plots
import kmslab.plots

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

SETUP = """
import kmslab
from kmslab import latency
lab = kmslab.Lab(seed=3)
kms = lab.client()
key_id = kms.create_key()["KeyMetadata"]["KeyId"]
kms.enable_key_rotation(KeyId=key_id)
for _ in range(3):
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
    lab.clock.advance(hours=2)
kms.disable_key(KeyId=key_id)
try:
    kms.encrypt(KeyId=key_id, Plaintext=b"x")
except kms.exceptions.DisabledException:
    pass
table = latency.compare(lab, sizes=[100, 1 << 16], rtt_ms=[5, 20], requests=2, seed=1)
"""

#: how a notebook calls each public plot function (the cell's last expression is its result)
CALLS = {
    "plot_latency_vs_size": "latency.plot_latency_vs_size(table)",
    "plot_calls_and_cost": "latency.plot_calls_and_cost(table)",
    "plot_rtt_effect": "latency.plot_rtt_effect(table)",
    "plot_cache_effect": "latency.plot_cache_effect(table)",
    "activity": "from kmslab import plots\nplots.activity(lab.audit.frame(), freq='1h')",
    "denied_vs_allowed": "from kmslab import plots\nplots.denied_vs_allowed(lab.audit, freq='1h')",
    "key_versions_timeline": "from kmslab import plots\n"
                             "plots.key_versions_timeline(lab.frame('key_versions'))",
    "key_state_table": "from kmslab import plots\nplots.key_state_table()",
    "key_state_transitions": "from kmslab import plots\nplots.key_state_transitions()",
    "KeyTimeline.figure": "from kmslab.widgets import KeyTimeline\nKeyTimeline(lab, key_id).figure()",
}


def test_every_public_plot_function_has_a_case():
    public = set(kmslab.plots.__all__) | set(kmslab.latency.plots.__all__) | {"KeyTimeline.figure"}
    assert set(CALLS) == public


def _run_in_a_fresh_kernel(first_cell: str) -> list:
    # latency's figures come first: nothing has imported pyplot yet, so no inline backend helps
    cells = [nbformat.v4.new_code_cell(first_cell), nbformat.v4.new_code_cell(SETUP)]
    cells += [nbformat.v4.new_code_cell(code) for code in CALLS.values()]
    nb = nbformat.v4.new_notebook(cells=cells)
    env_path = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    os.environ["PYTHONPATH"], saved = env_path, os.environ.get("PYTHONPATH")
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH")
        else:
            os.environ["PYTHONPATH"] = saved
    return nb.cells[2:]


@pytest.mark.parametrize("first_cell", ["", "import matplotlib\nmatplotlib.use('agg')"],
                         ids=["fresh-kernel", "agg-backend-chosen-first"])
def test_each_plot_renders_as_one_png_in_a_kernel(first_cell):
    cells = _run_in_a_fresh_kernel(first_cell)
    for name, cell in zip(CALLS, cells, strict=True):
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert len(results) == 1, (name, cell.outputs)
        data = results[0]["data"]
        assert "image/png" in data, (name, data.get("text/plain"))
        assert base64.b64decode(data["image/png"]).startswith(PNG_MAGIC), name
        pictures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pictures) == 1, f"{name} is shown {len(pictures)} times"


def _figure_text(output: dict) -> bool:
    text = "".join(output.get("data", {}).get("text/plain", ""))
    return text.startswith(("<Figure", "<Axes", "<matplotlib.", "<kmslab.figure"))


def test_no_committed_output_is_a_figure_without_a_picture():
    offenders, pictures = [], 0
    for path in NOTEBOOKS:
        for i, cell in enumerate(json.loads(path.read_text())["cells"]):
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                pictures += "image/png" in data
                if _figure_text(output) and not {"image/png", "image/svg+xml"} & set(data):
                    offenders.append(f"{path.name} cell {i}")
    assert offenders == []
    assert pictures >= 8, "the tutorials' figures are missing from the committed outputs"


def test_the_check_sees_a_figure_without_a_picture():
    bare = {"output_type": "execute_result", "data": {"text/plain": "<Figure size 700x450 with 1 Axes>"}}
    assert _figure_text(bare) and not {"image/png", "image/svg+xml"} & set(bare["data"])


_DRAWS = re.compile(r"\bplots\.\w+\(")


def _cells_drawing_nothing(cells: list) -> list[int]:
    """Code cells that call a kmslab.plots function but show no picture (``_ = plots.x()``
    hides the Axes, which is the picture)."""
    return [i for i, cell in enumerate(cells)
            if cell["cell_type"] == "code" and _DRAWS.search("".join(cell["source"]))
            and not any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))]


def test_every_cell_that_draws_a_kmslab_figure_shows_it():
    offenders = [f"{path.name} cell {i}" for path in NOTEBOOKS
                 for i in _cells_drawing_nothing(json.loads(path.read_text())["cells"])]
    assert offenders == []


def test_the_check_sees_a_figure_drawn_and_hidden():
    hidden = nbformat.v4.new_code_cell("_ = plots.key_state_transitions()")
    shown = nbformat.v4.new_code_cell("plots.key_state_transitions()", outputs=[
        nbformat.v4.new_output("execute_result", {"image/png": "iVBOR", "text/plain": "<Axes>"})])
    assert _cells_drawing_nothing([hidden, shown]) == [0]
