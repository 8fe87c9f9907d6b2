"""Run a tutorial notebook against ``kmslab serve`` over HTTP, as it would run against AWS.

The served lab stands in for a real account: a fresh ``kmslab.Lab`` seeded
like the notebook's own (so its ids are reproducible), starting at the real
time (as AWS's clock does, so dates a notebook computes with ``kmslab.now``
are accepted), served by the HTTP front end on a free loopback port. The
kernel gets ``KMSLAB_ENDPOINT_URL`` and the access key of the account's admin
user, and nothing else of the machine's AWS configuration, so every request
is signed with SigV4 and travels over HTTP.

The cells run one by one; between two cells the served lab's clock moves one
minute, the time a learner takes to read on, in which a replica finishes
``Creating`` as it does on AWS. For each cell the run keeps what it printed
and how many KMS requests the served lab recorded meanwhile.
"""

from __future__ import annotations

import ast
import os
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import kmslab
from kmslab.interop.server import ServerThread

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ACCOUNT = "111122223333"
READING_TIME_S = 60


@dataclass
class CellRun:
    """One code cell of an endpoint run: its index, source, printed text, KMS requests recorded."""

    index: int
    source: str
    text: str
    requests: int


@dataclass
class EndpointRun:
    """A notebook executed against a served lab."""

    path: Path
    notebook: nbformat.NotebookNode
    lab: kmslab.Lab
    cells: list[CellRun] = field(default_factory=list)
    seconds: float = 0.0


def notebook_seed(nb: nbformat.NotebookNode) -> int:
    """The seed of the notebook's lab (``kmslab.Lab(seed=N)`` in its first cells), else 1."""
    for cell in nb.cells:
        found = re.search(r"kmslab\.Lab\(seed=(\d+)\)", cell.source) if cell.cell_type == "code" else None
        if found:
            return int(found.group(1))
    return 1


def cell_text(cell) -> str:
    """What a cell printed or displayed, as text (streams, text/plain, error names)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}\n")
        else:
            parts.append(output.get("data", {}).get("text/plain", "") + "\n")
    return "".join(parts)


def kernel_environment(url: str, access_key: dict) -> dict[str, str]:
    """The kernel's environment: this checkout's kmslab, the endpoint, a lab access key, no AWS profile."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "KMSLAB_")) and k not in ("PYTHONPATH",)}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
        "KMSLAB_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": access_key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": access_key["SecretAccessKey"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    })
    return env


def api_requests(lab: kmslab.Lab) -> int:
    """KMS requests the lab recorded (its own service events and calls left out)."""
    return sum(1 for record in lab.audit.records() if record["eventType"] == "AwsApiCall"
               and record["userIdentity"].get("invokedBy") != "AWS Internal")


def run(path: Path, *, timeout: int = 300) -> EndpointRun:
    """Execute ``path`` against a freshly served lab; raises on the first cell that fails."""
    nb = nbformat.read(path, as_version=4)
    started = datetime.now(UTC).replace(microsecond=0)
    lab = kmslab.Lab(seed=notebook_seed(nb), start=started)
    access_key = lab.client("iam").create_access_key(UserName="admin")["AccessKey"]
    result = EndpointRun(path, nb, lab)
    clock = time.perf_counter()
    with ServerThread(lab) as url:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(NOTEBOOKS)}})
        with client.setup_kernel(env=kernel_environment(url, access_key)):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                before = api_requests(lab)
                client.execute_cell(cell, index)
                result.cells.append(CellRun(index, cell.source, cell_text(cell),
                                            api_requests(lab) - before))
                lab.clock.advance(seconds=READING_TIME_S)
    result.seconds = time.perf_counter() - clock
    return result


# ---------------------------------------------------------------- reading the sources
def _calls_requires_lab(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and _name(n.func) in ("requires_lab", "kmslab.requires_lab")
               for n in ast.walk(node))


def guard_flags(sources: list[str]) -> set[str]:
    """Names bound to the answer of ``kmslab.requires_lab(...)`` (``in_lab = kmslab.requires_lab(...)``)."""
    return {target.id for source in sources for node in ast.walk(_parse(source))
            if isinstance(node, ast.Assign) and _calls_requires_lab(node.value)
            for target in node.targets if isinstance(target, ast.Name)}


def _is_guard(test: ast.AST, flags: set[str]) -> bool:
    """``if kmslab.requires_lab(...)``, or ``if in_lab`` with a flag bound to its answer."""
    return _calls_requires_lab(test) or (isinstance(test, ast.Name) and test.id in flags)


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _name(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def lab_only_functions(sources: list[str]) -> set[str]:
    """Names of the functions the notebook decorates with ``kmslab.lab_only(...)``."""
    names = set()
    for source in sources:
        for node in ast.walk(_parse(source)):
            if isinstance(node, ast.FunctionDef) and any(
                    isinstance(d, ast.Call) and _name(d.func) in ("lab_only", "kmslab.lab_only")
                    for d in node.decorator_list):
                names.add(node.name)
    return names


def connected_clients(sources: list[str]) -> set[str]:
    """Names the notebook binds to a client from ``kmslab.connect(...)``."""
    names = set()
    for source in sources:
        for node in ast.walk(_parse(source)):
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                    and _name(node.value.func) in ("kmslab.connect", "connect")):
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def expects_skip_line(source: str, lab_only: set[str]) -> bool:
    """A cell that asks ``kmslab.requires_lab(...)`` or calls a lab-only function, outside definitions."""
    def guarded(node: ast.AST) -> bool:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return False
        if isinstance(node, ast.Call) and _name(node.func) in (
                {"requires_lab", "kmslab.requires_lab"} | lab_only):
            return True
        return any(guarded(child) for child in ast.iter_child_nodes(node))

    return any(guarded(node) for node in _parse(source).body)


def unguarded_api_calls(source: str, clients: set[str], operations: set[str],
                        flags: set[str] = frozenset()) -> list[str]:
    """KMS operations the cell calls on a connected client outside guarded blocks and definitions."""
    found = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, ast.If) and _is_guard(node.test, flags):
            for child in node.orelse:  # the else branch runs against AWS
                visit(child)
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id in clients
                and node.func.attr in operations):
            found.append(f"{node.func.value.id}.{node.func.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(_parse(source))
    return found


def unguarded_lab_uses(sources: list[str], lab_only: set[str]) -> list[tuple[int, str]]:
    """Lines that use the notebook's ``lab`` where a run against an endpoint executes them.

    Outside guarded blocks (``if kmslab.requires_lab(...)``, or ``if flag`` with a flag
    bound to its answer; their ``else`` runs against AWS), outside ``@kmslab.lab_only``
    functions and calls of them, and apart from
    ``kmslab.connect(lab=lab)``: a read of the name ``lab``, or a call of a function of the
    notebook whose body reads it.
    Returns (cell number among the sources, the line) pairs.
    """
    trees = [_parse(source) for source in sources]
    flags = guard_flags(sources)
    touching = set()
    for tree in trees:
        for node in ast.walk(tree):
            if (isinstance(node, ast.FunctionDef) and node.name not in lab_only
                    and "lab" not in {a.arg for a in node.args.args + node.args.kwonlyargs}
                    and any(isinstance(n, ast.Name) and n.id == "lab" for n in ast.walk(node))):
                touching.add(node.name)
    found = []

    def visit(node: ast.AST, cell: int, lines: list[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return
        if isinstance(node, ast.If) and _is_guard(node.test, flags):
            for child in node.orelse:
                visit(child, cell, lines)
            return
        if isinstance(node, ast.keyword) and node.arg == "lab":
            return  # kmslab.connect(..., lab=lab): the lab's client, or none against AWS
        if isinstance(node, ast.Call) and _name(node.func) in lab_only:
            return  # skipped as a whole against AWS
        if ((isinstance(node, ast.Name) and node.id == "lab" and isinstance(node.ctx, ast.Load))
                or (isinstance(node, ast.Call) and _name(node.func) in touching)):
            found.append((cell, lines[node.lineno - 1].strip()))
            return
        for child in ast.iter_child_nodes(node):
            visit(child, cell, lines)

    for cell, (tree, source) in enumerate(zip(trees, sources, strict=True)):
        for statement in tree.body:
            visit(statement, cell, source.splitlines())
    return found


def _parse(source: str) -> ast.Module:
    # IPython magics and shell escapes are not Python: the tutorials use none, but be safe
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    return ast.parse("\n".join(lines))
