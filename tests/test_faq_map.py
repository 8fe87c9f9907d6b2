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


def _sections(notebook: Path) -> dict[str, dict]:
    """``## heading`` -> its markdown lines and code cells, up to the next ``## `` heading.

    A markdown cell may end one section and start the next: its lines before a
    heading belong to the section above.
    """
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    sections: dict[str, dict] = {}
    current = None
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            if current is not None:
                sections[current]["code"].append(source)
            continue
        if cell["cell_type"] != "markdown":
            continue
        for line in source.splitlines():
            if line.startswith("## "):
                current = line.rstrip()
                sections.setdefault(current, {"lines": [], "code": []})
            elif current is not None:
                sections[current]["lines"].append(line)
    return sections


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


@pytest.mark.parametrize("number,question,target,section", ROWS, ids=[f"Q{r[0]}" for r in ROWS])
def test_the_named_section_runs_code_and_names_its_question(number, question, target, section):
    notebook = NOTEBOOKS / target
    if not notebook.is_file():
        pytest.skip(f"{target} is missing (reported by test_the_named_section_exists)")
    found = _sections(notebook).get(f"## {section}")
    assert found is not None, f"question {number}: no section '## {section}' in {target}"
    assert any(code.strip() for code in found["code"]), \
        f"question {number}: section '{section}' of {target} has no code cell: it must run the answer"
    faq_lines = [line for line in found["lines"] if line.startswith("*FAQ ")]
    assert faq_lines, f"question {number}: section '{section}' of {target} has no '*FAQ {number}: ...*' line"
    named = {int(n) for n in re.findall(r"\d+", faq_lines[0].split(":")[0])}
    assert number in named, f"question {number}: the FAQ line of '{section}' names {sorted(named)}"


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


def test_a_section_without_code_or_faq_line_is_caught(tmp_path):
    notebook = tmp_path / "y.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["## Talk only\n", "\n", "*FAQ 7: Where?*\n"]},
        {"cell_type": "markdown", "source": ["Still talking.\n", "## Runs\n", "*FAQ 8: How?*"]},
        {"cell_type": "code", "source": ["print('answer')"]},
        {"cell_type": "markdown", "source": ["## No line\n"]},
        {"cell_type": "code", "source": ["1 + 1"]}]}))
    sections = _sections(notebook)
    assert sections["## Talk only"]["code"] == [] and "*FAQ 7: Where?*" in sections["## Talk only"]["lines"]
    assert "Still talking." in sections["## Talk only"]["lines"]
    assert sections["## Runs"]["code"] == ["print('answer')"]
    assert not [line for line in sections["## No line"]["lines"] if line.startswith("*FAQ ")]
