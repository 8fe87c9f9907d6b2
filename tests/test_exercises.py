"""Exercises ship unsolved: the learner's cell holds ``...`` and its check says "Not yet" with a
hint; a collapsed cell tagged ``solution`` follows, after which the check says "Correct!". Every
notebook checks with ``kmslab.exercise`` (one result type, one display)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmslab.exercise import CheckResult, checker, correct, not_yet

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


# ---------------------------------------------------------------- the helper
@checker(hint="encrypt exactly b'hi'")
def check_plaintext(answer):
    if answer != b"hi":
        return not_yet(f"{answer!r} is not b'hi'.")
    return correct("That is the plaintext.")


def test_a_right_answer_is_correct_and_says_what_the_check_saw():
    result = check_plaintext(b"hi")
    assert result == CheckResult(True, "That is the plaintext.") and result
    assert str(result) == repr(result) == "Correct! That is the plaintext."
    assert "Correct!" in result._repr_html_()


def test_a_wrong_answer_is_not_yet_with_the_checkers_hint():
    result = check_plaintext(b"ho")
    assert not result
    assert str(result) == "Not yet: b'ho' is not b'hi'. Hint: encrypt exactly b'hi'"


def test_the_placeholder_is_not_checked():
    calls = []

    @checker(hint="fill it in")
    def check(answer, other=None):
        calls.append(answer)
        return correct()

    assert str(check(...)) == "Not yet: replace ... with your answer. Hint: fill it in"
    assert str(check(b"x", other=...)).startswith("Not yet: replace ...")
    assert calls == []
    assert check(b"x", other=1).passed and calls == [b"x"]


def test_an_exception_while_checking_is_a_not_yet_naming_it(kms):
    @checker(hint="use a key that exists")
    def check(key_id):
        kms.describe_key(KeyId=key_id)
        return correct()

    result = check("alias/nothing-here")
    assert not result.passed and result.hint == "use a key that exists"
    assert result.message.startswith("checking it raised NotFoundException: Alias ")
    assert "TypeError" in check_plaintext_with_bad_types().message


def check_plaintext_with_bad_types():
    @checker(hint="h")
    def check(answer):
        return correct() if answer + 1 else not_yet("never")
    return check("text")


def test_a_not_yet_keeps_its_own_hint():
    @checker(hint="general hint")
    def check(answer):
        return not_yet("specific.", hint="specific hint")
    assert str(check(1)) == "Not yet: specific. Hint: specific hint"


def test_a_check_must_return_a_result():
    @checker(hint="h")
    def check(answer):
        return "Correct!"
    with pytest.raises(TypeError, match="must return correct"):
        check(1)


def test_the_html_display_escapes_what_it_shows():
    shown = not_yet("<b>x</b>", hint="a & b")._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in shown and "a &amp; b" in shown and "<b>x</b>" not in shown


# ---------------------------------------------------------------- the notebooks
def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return "".join(output["text"])
    return "".join(output.get("data", {}).get("text/plain", ""))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_each_notebook_ships_its_exercise_unsolved_with_a_collapsed_solution(path):
    cells = _cells(path)
    code = [c for c in cells if c["cell_type"] == "code"]
    solutions = [i for i, c in enumerate(code) if "solution" in c["metadata"].get("tags", [])]
    assert len(solutions) == 1, "one solution cell, tagged solution"
    solution = code[solutions[0]]
    answer = code[solutions[0] - 1]
    assert solution["metadata"].get("jupyter", {}).get("source_hidden") is True
    assert "..." in "".join(answer["source"]), "the learner's cell holds a placeholder"
    answer_says = " ".join(_text(o) for o in answer["outputs"])
    assert answer_says.startswith("Not yet:") and "Hint:" in answer_says, answer_says
    solution_says = _text(solution["outputs"][-1])
    assert solution_says.startswith("Correct!"), solution_says
    assert all("image/png" not in o.get("data", {}) for o in answer["outputs"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_each_notebook_checks_with_the_shared_helper(path):
    sources = ["".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code"]
    assert any("from kmslab.exercise import" in s and "@checker(" in s for s in sources)
    handmade = [s for s in sources if 'print("Correct' in s or 'return "Correct' in s
                or 'print("Well done' in s]
    assert handmade == []
