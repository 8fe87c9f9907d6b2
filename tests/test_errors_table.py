"""Every error class kmslab raises by name (``errors.NotFoundException``) is in the one table
of error codes in kmslab/errors.py, so a misspelt name cannot hide until the failure it reports."""

import ast
from pathlib import Path

import pytest

import kmslab
from kmslab import errors

SRC = Path(kmslab.__file__).parent


def _written_out() -> set[str]:
    """The names kmslab/errors.py defines or imports in its own text (not from the table)."""
    tree = ast.parse((SRC / "errors.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


WRITTEN_OUT = _written_out()


def _names_used() -> set[tuple[str, str]]:
    used = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "errors" and node.attr[:1].isupper()):
                if node.attr not in WRITTEN_OUT:
                    used.add((str(path.relative_to(SRC)), node.attr))
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("errors") \
                    and node.level <= 2 and "envelope" not in str(path):
                used.update((str(path.relative_to(SRC)), a.name) for a in node.names
                            if a.name[:1].isupper() and a.name not in WRITTEN_OUT)
    return used


USED = sorted(_names_used())


def test_kmslab_names_errors_by_their_class():
    assert len(USED) > 50  # the scan sees the code


@pytest.mark.parametrize(("module", "name"), USED, ids=[f"{m}:{n}" for m, n in USED])
def test_every_error_named_is_in_the_table(module, name):
    assert name in errors.ERRORS, f"{module} names errors.{name}, which is not an AWS error code"
    assert getattr(errors, name) is errors.ERRORS[name]
    assert issubclass(errors.ERRORS[name], errors.KMSError)


def test_a_name_not_in_the_table_is_refused():
    with pytest.raises(AttributeError):
        errors.NotAnAwsErrorException  # noqa: B018
