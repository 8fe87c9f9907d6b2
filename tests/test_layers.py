"""DESIGN.md's layering, checked on the source: every module sits in one layer of DESIGN.md's
layer table and imports nothing from a higher layer (function-level imports included; imports
for type checkers only do not count); no import cycle crosses a layer; only crypto/ touches
``cryptography`` (plus the client-side envelope/, which must work against real AWS KMS, and pki.py,
which builds X.509 certificates for learners)."""

import ast
import pathlib
import re

import pytest

import kmslab

ROOT = pathlib.Path(kmslab.__file__).parent
DESIGN = pathlib.Path(__file__).resolve().parents[1] / "DESIGN.md"
ALLOWED = ("crypto/", "envelope/", "pki.py")


def _imports_cryptography(path: pathlib.Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "cryptography" or name.startswith("cryptography.") for name in names):
            return True
    return False


def test_only_the_crypto_layer_imports_cryptography():
    offenders = [path.relative_to(ROOT).as_posix() for path in sorted(ROOT.rglob("*.py"))
                 if _imports_cryptography(path)]
    assert offenders, "the crypto layer itself must show up (the check would be blind otherwise)"
    assert [p for p in offenders if not p.startswith(ALLOWED)] == []


# ------------------------------------------------------------------ the layer table

def layer_table(text: str) -> list[tuple[str, list[str]]]:
    """DESIGN.md's "## Layers" table, lowest layer first: ``[(layer, [module names]), ...]``."""
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    table = []
    for row in rows[2:]:  # after the header and its |---| line
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        table.append((cells[0], re.findall(r"`([^`]+)`", cells[1])))
    return table


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT.parent / name.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _type_checking_only(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def imports_of(module: str, source: str, *, package: bool = False) -> list[tuple[str, int, bool]]:
    """The kmslab modules ``module`` imports: ``(module, line, at module level)``, every
    import statement anywhere in the file but those under ``if TYPE_CHECKING:``."""
    tree = ast.parse(source)
    skipped = _type_checking_only(tree)
    top = {id(node) for node in tree.body}
    here = module.split(".") if package else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[:len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            names = [f"{target}.{alias.name}" if _is_module(f"{target}.{alias.name}") else target
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name == "kmslab" or name.startswith("kmslab."):
                while not _is_module(name):
                    name = name.rsplit(".", 1)[0]
                if name != module:
                    found.append((name, node.lineno, id(node) in top))
    return found


def _all_modules() -> dict[str, pathlib.Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _layers() -> dict[str, tuple[int, str]]:
    """module -> (layer rank, layer name), from DESIGN.md's table."""
    ranks = {}
    for rank, (layer, names) in enumerate(layer_table(DESIGN.read_text(encoding="utf-8"))):
        for name in names:
            ranks[name] = (rank, layer)
    return ranks


def layer_of(module: str, table: dict[str, tuple[int, str]]) -> tuple[int, str] | None:
    if module == "kmslab":
        return table.get("kmslab")
    rel = module.removeprefix("kmslab.").split(".")
    return table.get(rel[0] + "/") if len(rel) > 1 or f"{rel[0]}/" in table else table.get(rel[0])


def upward_imports(modules: dict[str, str], table) -> list[str]:
    """Every import that points up the stack (to a later row of the table, a higher layer),
    as ``importer:line -> imported (importer's layer imports imported's layer)``."""
    found = []
    for module, source in modules.items():
        mine = layer_of(module, table)
        for target, line, _ in imports_of(module, source, package=module in _PACKAGES):
            theirs = layer_of(target, table)
            if mine is not None and theirs is not None and theirs[0] > mine[0]:
                found.append(f"{module}:{line} -> {target} ({mine[1]} imports {theirs[1]})")
    return found


_PACKAGES = {name for name, path in _all_modules().items() if path.name == "__init__.py"}


def _sources() -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8") for name, path in _all_modules().items()}


def test_every_module_is_in_exactly_one_layer_of_the_table():
    table = _layers()
    entries = [name for _, names in layer_table(DESIGN.read_text(encoding="utf-8")) for name in names]
    assert len(entries) == len(set(entries)), "a module is named in two layers"
    assert [m for m in _all_modules() if layer_of(m, table) is None] == []
    listed = {("kmslab." + n.rstrip("/")) if n != "kmslab" else n for n in entries}
    assert [n for n in sorted(listed) if not _is_module(n)] == [], "the table names a module that is gone"


def test_no_module_imports_from_a_higher_layer():
    assert upward_imports(_sources(), _layers()) == []


def test_the_check_sees_function_level_imports_and_skips_type_checking_ones():
    table = _layers()
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..lab import Lab\n"
              "def f():\n    from ..lab import Lab\n    from .. import frames, errors\n")
    found = upward_imports({"kmslab.service.example": source}, table)
    assert found == ["kmslab.service.example:5 -> kmslab.lab (service imports world)"]
    assert upward_imports({"kmslab.lab": "from .service.states import transition\n"}, table) == []
    assert upward_imports({"kmslab.audit": "import kmslab.lab\n"}, table) == [
        "kmslab.audit:1 -> kmslab.lab (records imports world)"]


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(edges.get(nxt, ()))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = set()
                while True:
                    member = stack.pop()
                    on.discard(member)
                    part.add(member)
                    if member == node:
                        break
                if len(part) > 1:
                    out.append(part)
    return out


def _graph(*, module_level_only: bool) -> dict[str, set[str]]:
    edges = {}
    for module, source in _sources().items():
        edges[module] = {target for target, _, top in
                         imports_of(module, source, package=module in _PACKAGES)
                         if top or not module_level_only}
    return edges


def test_no_import_cycle_at_import_time_and_none_across_layers():
    assert _cycles(_graph(module_level_only=True)) == []
    table = _layers()
    for part in _cycles(_graph(module_level_only=False)):
        assert len({layer_of(m, table) for m in part}) == 1, sorted(part)


def test_the_lab_hands_out_clients_and_no_client_reaches_back():
    edges = _graph(module_level_only=False)
    assert "kmslab.client" in edges["kmslab.lab"]
    assert not any(m in edges["kmslab.client"] for m in ("kmslab.lab", "kmslab"))
    assert [part for part in _cycles(edges) if "kmslab.client" in part] == []


def test_nothing_below_the_world_imports_the_lab():
    table = _layers()
    world = layer_of("kmslab.lab", table)[0]
    below = [m for m in _all_modules() if layer_of(m, table)[0] < world]
    edges = _graph(module_level_only=False)
    assert [m for m in below if "kmslab.lab" in edges[m]] == []
    assert below and "kmslab.service.pipeline" in below


def _modules_after(code: str) -> set[str]:
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT.parent), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         env=env, check=True, capture_output=True, text=True).stdout
    return set(out.split())


HEAVY = ("matplotlib", "pandas", "numpy", "ipywidgets", "IPython")


def test_import_kmslab_and_a_first_encrypt_load_no_plotting_or_dataframes():
    loaded = _modules_after(
        "import kmslab\nlab = kmslab.Lab(seed=1)\nkms = lab.client()\n"
        "k = kms.create_key()['KeyMetadata']['KeyId']\nkms.encrypt(KeyId=k, Plaintext=b'x')\n"
        "lab.clock.advance(days=1)\nimport kmslab.latency, kmslab.faults")
    assert "kmslab.lab" in loaded and "kmslab.latency.model" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_a_plot_loads_matplotlib_on_first_use():
    loaded = _modules_after("from kmslab import latency\nlatency.plot_rtt_effect")
    assert "matplotlib" in loaded and "kmslab.latency.plots" in loaded


def test_the_service_sees_the_lab_only_through_its_environment():
    from datetime import timedelta

    from kmslab.service.environment import Environment
    lab = kmslab.Lab(seed=3)
    kms = lab.client()
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    seen = []
    lab.hooks.add_before(seen.append)
    kms.encrypt(KeyId=key, Plaintext=b"x")
    call, = seen
    svc = lab.kms_service(lab.default_account, lab.default_region)
    assert isinstance(svc.env, Environment) and svc.env is lab.env and call.env is lab.env
    assert not hasattr(call, "lab") and not hasattr(svc, "lab")
    holders = [svc, lab.env, lab.authorizer, lab.custom_key_stores]
    assert [h for h in holders for v in (vars(h) if hasattr(h, "__dict__") else
            {s: getattr(h, s, None) for s in type(h).__slots__}).values() if v is lab] == []
    # the lab's settings are the environment's: what a notebook sets, the service reads
    lab.grant_delay = timedelta(minutes=2)
    assert lab.env.grant_delay == timedelta(minutes=2)
    lab.key_quota = 1
    with pytest.raises(kmslab.errors.LimitExceededException):
        kms.create_key()


def test_the_readme_layout_names_every_module_of_the_package():
    readme = (DESIGN.parent / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `src/kmslab/` |"))
    named = set(re.findall(r"`([^`]+)`", row))
    top = {path.name + "/" if path.is_dir() else path.stem
           for path in ROOT.iterdir() if (path / "__init__.py").exists() or path.suffix == ".py"}
    assert sorted(top - named - {"__init__", "__main__"}) == []
