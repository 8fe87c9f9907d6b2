"""The FAQ map in notebooks/README.md: every question once, every notebook and section real."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
README = NOTEBOOKS / "README.md"
QUESTIONS = range(1, 46)

_ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|\s*\[([^\]]+)\]\(([^)]+)\)\s*\|\s*(.+?)\s*\|\s*$")


def _faq_rows(text: str) -> list[tuple[int, str, str, str]]:
    """(number, question, notebook file, section heading) for each row of the map."""
    rows = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            number, question, _, target, section = match.groups()
            rows.append((int(number), question, target, section))
    return rows


def _faq_source() -> Path | None:
    """The FAQ the tutorials answer, where a checkout keeps it (``../shared/FAQ.md``)."""
    for candidate in (ROOT.parent / "shared" / "FAQ.md", ROOT.parent.parent / "shared" / "FAQ.md",
                      ROOT / "FAQ.md"):
        if candidate.is_file():
            return candidate
    return None


def _headings(notebook: Path) -> set[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return {line.rstrip() for cell in cells if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines() if line.startswith("## ")}


ROWS = _faq_rows(README.read_text(encoding="utf-8"))


def test_every_question_is_mapped_exactly_once():
    numbers = [number for number, *_ in ROWS]
    assert sorted(numbers) == list(QUESTIONS), \
        f"missing {sorted(set(QUESTIONS) - set(numbers))}, repeated " \
        f"{sorted({n for n in numbers if numbers.count(n) > 1})}"


def test_question_texts_match_the_faq():
    source = _faq_source()
    if source is None:
        pytest.skip("the FAQ (../shared/FAQ.md) is not in this checkout")
    faq = {int(m.group(1)): m.group(2) for m in
           (re.match(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|", line)
            for line in source.read_text(encoding="utf-8").splitlines()) if m}
    assert {number: question for number, question, *_ in ROWS} == faq


@pytest.mark.parametrize("number,question,target,section", ROWS, ids=[f"Q{r[0]}" for r in ROWS])
def test_the_named_section_exists(number, question, target, section):
    notebook = NOTEBOOKS / target
    assert notebook.suffix == ".ipynb" and notebook.is_file(), \
        f"question {number}: notebook {target} does not exist"
    assert f"## {section}" in _headings(notebook), \
        f"question {number}: {target} has no markdown heading '## {section}'"


def test_the_parser_finds_rows_and_rejects_a_missing_heading(tmp_path):
    text = ("| # | Question | Notebook | Section |\n|---|---|---|---|\n"
            "| 7 | Where is my data encrypted? | [x.ipynb](x.ipynb) | Three places |\n")
    assert _faq_rows(text) == [(7, "Where is my data encrypted?", "x.ipynb", "Three places")]
    notebook = tmp_path / "x.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# Title\n", "## Two places\n"]},
        {"cell_type": "code", "source": ["## Three places"]}]}))
    assert "## Three places" not in _headings(notebook)
    assert "## Two places" in _headings(notebook)
