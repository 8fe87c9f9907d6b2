"""The widgets tour shows its widgets without a kernel: notebook 12 stores their state, and
tools/run_notebooks.py keeps it there (only there). Outputs Voila shows bare have a caption."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TOUR = ROOT / "notebooks" / "12_widgets_tour.ipynb"
VIEW = "application/vnd.jupyter.widget-view+json"
STATE = "application/vnd.jupyter.widget-state+json"


def _run_notebooks():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _references(value) -> set[str]:
    return set(re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(value)))


def test_every_widget_the_tour_shows_can_be_drawn_from_its_saved_state():
    nb = json.loads(TOUR.read_text())
    state = nb["metadata"]["widgets"][STATE]["state"]
    shown = [o["data"][VIEW]["model_id"] for c in nb["cells"] if c["cell_type"] == "code"
             for o in c.get("outputs", []) if VIEW in o.get("data", {})]
    assert len(shown) >= 8, "one view per widget of the tour"
    missing, seen, todo = set(), set(), list(shown)
    while todo:                       # the widget, its children, layouts, styles... all stored
        model_id = todo.pop()
        if model_id in seen:
            continue
        seen.add(model_id)
        if model_id not in state:
            missing.add(model_id)
            continue
        todo += _references(state[model_id]["state"])
    assert missing == set()
    names = {state[m]["model_name"] for m in seen}
    assert {"ButtonModel", "DropdownModel", "HTMLModel", "ImageModel"} <= names


def test_only_notebooks_that_ask_keep_their_widget_state():
    run = _run_notebooks()
    tour = nbformat.read(TOUR, as_version=4)
    assert run.keeps_widget_state(tour)
    assert run.strip_noise(tour) is False and "widgets" in tour.metadata
    other = nbformat.v4.new_notebook(metadata={"widgets": {STATE: {"state": {}}}})
    assert not run.keeps_widget_state(other)
    assert run.strip_noise(other) is True and "widgets" not in other.metadata
    committed = [p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
                 if "widgets" in json.loads(p.read_text())["metadata"]]
    assert committed == [TOUR.name]


def test_printed_outputs_of_the_tour_say_what_they_are():
    nb = json.loads(TOUR.read_text())
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] != "stream":
                continue
            lines = "".join(output["text"]).splitlines()
            for i, line in enumerate(lines):
                if line.startswith(" "):      # an item of the list the line above announces
                    assert i > 0 and lines[i - 1].rstrip().endswith(":") or \
                        lines[i - 1].startswith(" "), f"a list without a caption: {lines}"
                    continue
                assert ":" in line or len(line.split()) > 2, f"a bare output: {line!r}"
