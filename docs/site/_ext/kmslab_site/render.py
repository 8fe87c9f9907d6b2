"""The generated parts of the site, as MyST Markdown, reStructuredText or SVG text.

Each function takes what :mod:`.sources` read and returns text; none reads
files or imports kmslab's internals itself, so each is easy to test and to
change.
"""

from __future__ import annotations

import html
import inspect
import math
import re

from . import sources


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# -- tutorials and the FAQ ----------------------------------------------------------------------

def tutorial_table(notebooks: list[sources.Notebook]) -> str:
    """The tutorials in learning order, each linked, with what it covers."""
    rows = [[notebook.stem[:2], f"[{notebook.title}](notebooks/{notebook.path.name})", notebook.summary]
            for notebook in notebooks]
    return _table(["#", "Tutorial", "What it covers"], rows)


def tutorial_toctree(notebooks: list[sources.Notebook]) -> str:
    """The hidden table of contents of the tutorials: numbered titles, in learning order."""
    entries = [f"{int(n.stem[:2])}. {n.title} <notebooks/{n.stem}>" if n.stem[:2].isdigit()
               else f"notebooks/{n.stem}" for n in notebooks]
    return "\n".join(["```{toctree}", ":hidden:", ""] + entries + ["```"])


def faq_table(entries: list[sources.FaqEntry], notebooks: list[sources.Notebook]) -> str:
    """Every FAQ question, linked to the tutorial section whose cells answer it."""
    titles = {notebook.path.name: notebook.title for notebook in notebooks}
    rows = []
    for entry in entries:
        target = f"notebooks/{entry.notebook}#{sources.heading_anchor(entry.section)}"
        rows.append([str(entry.number), entry.question, f"[{entry.section}]({target})",
                     titles.get(entry.notebook, entry.notebook)])
    return _table(["#", "Question", "Answered in the section", "of the tutorial"], rows)


# -- key states ---------------------------------------------------------------------------------

def _breakable(name: str) -> str:
    """A CamelCase name that may break between its words (a zero-width space before each)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "\u200b", name)


def key_state_table(rules: sources.KeyStateRules) -> str:
    """Operations by key state: ``✓`` where allowed, else a numbered refusal, then the legend."""
    refusals: list[sources.Refusal] = []
    rows = []
    for operation, row in rules.allowed.items():
        cells = [_breakable(operation) if len(operation) > 20 else operation]
        for state in rules.states:
            refusal = row[state]
            if refusal is None:
                cells.append("✓")
            else:
                if refusal not in refusals:
                    refusals.append(refusal)
                cells.append(f"✗ {refusals.index(refusal) + 1}")
        rows.append(cells)
    # a state's name may break between its words, so the table fits a page
    header = ["Operation"] + [_breakable(state) for state in rules.states]
    table = _table(header, rows)
    legend = [f"{n}. `{r.code}`: {r.message}" for n, r in enumerate(refusals, 1)]
    return table + "\n\nWhere a state refuses an operation, the request fails with:\n\n" + "\n".join(legend)


def transition_table(rules: sources.KeyStateRules) -> str:
    """Every transition: from, what causes it, to."""
    return _table(["From", "Operation or event", "To"],
                  [[a, event, b] for a, event, b in rules.transitions])


def _crossings(segments) -> int:
    """How many pairs of segments cross (segments sharing an end do not count)."""
    def orient(a, b, c):
        value = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        return (value > 0) - (value < 0)

    count = 0
    for i, (p1, p2) in enumerate(segments):
        for p3, p4 in segments[i + 1:]:
            if {p1, p2} & {p3, p4}:
                continue
            if orient(p1, p2, p3) != orient(p1, p2, p4) and orient(p3, p4, p1) != orient(p3, p4, p2):
                count += 1
    return count


def _ring_order(ring: list[str], edges: list[tuple[str, str]], slots: list[tuple[float, float]],
                fixed: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Places ``ring`` nodes on ``slots`` so that few edges cross and linked nodes sit close:
    a deterministic local search (swap two nodes while that lowers the cost)."""
    pairs = list(dict.fromkeys(tuple(sorted(edge)) for edge in edges if edge[0] != edge[1]))

    def cost(order):
        where = dict(fixed)
        where.update(zip(order, slots, strict=True))
        segments = [(where[a], where[b]) for a, b in pairs]
        length = sum(math.dist(p, q) for p, q in segments)
        return _crossings(segments) * 1000 + length

    order = list(ring)
    best = cost(order)
    improved = True
    while improved:
        improved = False
        for i in range(len(order)):
            for j in range(i + 1, len(order)):
                order[i], order[j] = order[j], order[i]
                candidate = cost(order)
                if candidate < best - 1e-9:
                    best, improved = candidate, True
                else:
                    order[i], order[j] = order[j], order[i]
    return dict(zip(order, slots, strict=True))


def _wrap(label: str, width: int = 28) -> list[str]:
    lines: list[str] = []
    for part in label.replace(" / ", " /\n").split("\n"):
        words, line = part.split(" "), ""
        for word in words:
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


class _Boxes:
    """Rectangles already drawn, so labels can be placed where they overlap nothing."""

    def __init__(self):
        self.boxes: list[tuple[float, float, float, float]] = []

    def free(self, box) -> bool:
        x0, y0, x1, y1 = box
        return all(x1 <= a or x0 >= c or y1 <= b or y0 >= d for a, b, c, d in self.boxes)

    def add(self, box) -> None:
        self.boxes.append(box)


def state_diagram_svg(rules: sources.KeyStateRules) -> str:
    """The key-state diagram as an inline SVG.

    The busiest state sits in the middle and every other node on an ellipse
    around it, in the order that crosses the fewest edges; pseudo-states
    (``(new)``, ``(deleted)``) are drawn dashed. Each label goes to the point
    of its edge where it overlaps no node and no other label.
    """
    labels: dict[tuple[str, str], list[str]] = {}
    for a, event, b in rules.transitions:
        labels.setdefault((a, b), []).append(event)
    edges = list(labels)
    nodes = list(dict.fromkeys(n for edge in edges for n in edge))
    degree = {n: sum(n in edge for edge in edges) for n in nodes}
    hub = max((n for n in nodes if not n.startswith("(")), key=lambda n: degree[n])
    ring = [n for n in nodes if n != hub]

    font, label_font = 13, 11
    width, height = 1000, 780
    cx, cy, rx, ry = width / 2, height / 2, 390, 330
    slots = [(cx + rx * math.cos(-math.pi / 2 + 2 * math.pi * i / len(ring)),
              cy + ry * math.sin(-math.pi / 2 + 2 * math.pi * i / len(ring))) for i in range(len(ring))]
    pos = {hub: (cx, cy)}
    pos.update(_ring_order(ring, edges, slots, {hub: (cx, cy)}))
    size = {n: (len(n) * font * 0.62 + 22, 34) for n in nodes}

    taken = _Boxes()
    for n, (x, y) in pos.items():
        w, h = size[n]
        taken.add((x - w / 2 - 4, y - h / 2 - 4, x + w / 2 + 4, y + h / 2 + 4))

    def leave(node, x, y, dx, dy):
        # where a line from the node's centre in direction (dx, dy) leaves its box
        w, h = size[node]
        tx = (w / 2 + 3) / abs(dx) if dx else math.inf
        ty = (h / 2 + 3) / abs(dy) if dy else math.inf
        t = min(tx, ty)
        return x + dx * t, y + dy * t

    lines, texts = [], []
    for (a, b), events in labels.items():
        (x0, y0), (x1, y1) = pos[a], pos[b]
        length = math.hypot(x1 - x0, y1 - y0) or 1
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        offset = 6 if (b, a) in labels else 0  # two directions: two parallel lines
        nx, ny = -uy * offset, ux * offset
        sx, sy = leave(a, x0 + nx, y0 + ny, ux, uy)
        ex, ey = leave(b, x1 + nx, y1 + ny, -ux, -uy)
        lines.append(f'<line class="edge" x1="{sx:.1f}" y1="{sy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}"/>')
        text = _wrap(" / ".join(events))
        w = max(len(line) for line in text) * label_font * 0.56 + 6
        h = len(text) * (label_font + 2) + 4
        side = 1 if offset else 0
        choices = [(t, shift) for t in (0.5, 0.38, 0.62, 0.28, 0.72, 0.2, 0.8)
                   for shift in ((side,) if side else (0, 1, -1))]
        best = None
        for t, shift in choices:
            px = sx + (ex - sx) * t + (-uy) * shift * (h / 2 + 4) * (1 if abs(uy) < 0.5 else 0) \
                + (-uy) * shift * (w / 2 + 4) * (1 if abs(uy) >= 0.5 else 0)
            py = sy + (ey - sy) * t + ux * shift * (h / 2 + 4)
            box = (px - w / 2, py - h / 2, px + w / 2, py + h / 2)
            if taken.free(box):
                best = box
                break
        if best is None:  # nowhere free: the middle, on top
            px, py = sx + (ex - sx) / 2, sy + (ey - sy) / 2
            best = (px - w / 2, py - h / 2, px + w / 2, py + h / 2)
        taken.add(best)
        x_left, y_top = best[0], best[1]
        texts.append(f'<rect class="label-bg" x="{x_left:.1f}" y="{y_top:.1f}" width="{w:.1f}" '
                     f'height="{h:.1f}" rx="3"/>')
        for i, line in enumerate(text):
            texts.append(f'<text class="edge-label" x="{x_left + w / 2:.1f}" '
                         f'y="{y_top + 2 + (i + 1) * (label_font + 2) - 3:.1f}">{html.escape(line)}</text>')

    shapes = []
    for n, (x, y) in pos.items():
        w, h = size[n]
        css = "pseudo" if n.startswith("(") else ("state hub" if n == hub else "state")
        shapes.append(f'<rect class="{css}" x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" '
                      f'height="{h}" rx="8"/>')
        shapes.append(f'<text class="state-name" x="{x:.1f}" y="{y + 1:.1f}">{html.escape(n)}</text>')

    style = (".state{fill:#e8f0fe;stroke:#3b6fb6;stroke-width:1.5}.hub{fill:#d2e3fc}"
             ".pseudo{fill:#fff;stroke:#888;stroke-dasharray:4 3}"
             f".state-name{{font:600 {font}px sans-serif;text-anchor:middle;"
             "dominant-baseline:middle;fill:#1a1a1a}"
             ".edge{stroke:#666;stroke-width:1.3;marker-end:url(#kmslab-arrow)}"
             f".edge-label{{font:{label_font}px sans-serif;text-anchor:middle;fill:#333}}"
             ".label-bg{fill:#fff;fill-opacity:0.92}")
    return "\n".join(
        [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
         'class="kmslab-state-diagram" role="img" '
         'aria-label="Key states and the transitions between them">',
         f"<style>{style}</style>",
         '<defs><marker id="kmslab-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
         'markerHeight="7" orient="auto-start-reverse">'
         '<path d="M0,0L10,5L0,10z" fill="#666"/></marker></defs>']
        + lines + shapes + texts + ["</svg>"])


# -- differences from AWS -----------------------------------------------------------------------

def refused_table(refused: list[sources.RefusedFeature]) -> str:
    """What kmslab refuses: for each, the request and the error it really gets."""
    return "\n".join(f"* **{r.what}**: `{r.request}` fails with `{r.code}`: {r.message}"
                     for r in refused)


# -- the API reference --------------------------------------------------------------------------

def modules_table(modules: list[sources.PublicModule]) -> str:
    """The public modules, each linked to its page, with its summary."""
    return _table(["Module", "What it holds"],
                  [[f"[`{m.name}`](generated/{m.name}.rst)", m.summary] for m in modules])


def api_toctree(modules: list[sources.PublicModule]) -> str:
    """The hidden table of contents of the API pages, in the order of the list."""
    return "\n".join(["```{toctree}", ":hidden:", ""] + [f"generated/{m.name}" for m in modules] + ["```"])


def internal_modules(public: list[sources.PublicModule]) -> str:
    """The modules under ``kmslab`` that are not public, as a Markdown list."""
    import pkgutil

    import kmslab

    public_names = {m.name for m in public}
    internal = [info.name for info in pkgutil.iter_modules(kmslab.__path__, "kmslab.")
                if info.name not in public_names and info.name != "kmslab.__main__"]
    return ", ".join(f"`{name}`" for name in sorted(internal))


def _first_sentence(doc: str | None) -> str:
    text = " ".join((doc or "").split("\n\n")[0].split())
    end = text.find(". ")
    return text if end < 0 else text[:end + 1]


def client_operations(client_class) -> list[tuple[str, str]]:
    """(method name, AWS operation name) for each KMS operation the client offers, A-Z."""
    from botocore import xform_name
    from botocore.session import get_session

    model = get_session().get_service_model("kms")
    return [(xform_name(op), op) for op in sorted(model.operation_names)
            if callable(getattr(client_class, xform_name(op), None))]


def client_operations_rst(client_class) -> str:
    """The client's operations as an RST table, each linked to AWS's API Reference."""
    lines = [".. list-table:: Every KMS operation: ``kms.<method>(**params)``",
             "   :header-rows: 1", "   :widths: 40 60", "   :class: kmslab-operations", "",
             "   * - method (AWS operation)", "     - what it does (AWS's words)"]
    for method, operation in client_operations(client_class):
        summary = _first_sentence(getattr(client_class, method).__doc__).replace("*", "\\*")
        link = sources.AWS_API_REFERENCE.format(operation=operation)
        lines += [f"   * - ``{method}``", "", f"       `{operation} <{link}>`__", f"     - {summary}"]
    return "\n".join(lines)


def _home(obj, modules: list[str]) -> str | None:
    """The public module whose page documents ``obj`` in full: the deepest listed module
    that contains the module ``obj`` was defined in."""
    defined_in = getattr(obj, "__module__", None)
    if not isinstance(defined_in, str):
        return None
    homes = [m for m in modules if defined_in == m or defined_in.startswith(m + ".")]
    return max(homes, key=len) if homes else None


def _attribute_doc(module_name: str, name: str, value) -> list[str]:
    """The ``#:`` comment documenting a constant, found in the module that defines it."""
    import sys

    from sphinx.pycode import ModuleAnalyzer

    for candidate, module in sorted(sys.modules.items()):
        if candidate != module_name and not candidate.startswith(module_name + "."):
            continue
        if getattr(module, name, None) is not value:
            continue
        try:
            docs = ModuleAnalyzer.for_module(candidate).find_attr_docs()
        except Exception:  # a module without source
            continue
        if ("", name) in docs:
            return [line for line in docs[("", name)] if line.strip()]
    return []


def api_page(module: sources.PublicModule, modules: list[str]) -> str:
    """The RST source of one public module's page: its docstring, then every public name."""
    import importlib

    mod = importlib.import_module(module.name)
    title = f"``{module.name}``"
    out = [title, "=" * len(title), "", f".. automodule:: {module.name}", ""]
    for name in sources.public_names(module.name):
        obj = getattr(mod, name)
        full = f"{module.name}.{name}"
        home = _home(obj, modules)
        if inspect.ismodule(obj):
            out += [f".. rubric:: ``{full}``", "", f"The module :mod:`{obj.__name__}`.", ""]
            continue
        elsewhere = home is not None and home != module.name
        if inspect.isclass(obj) and name == "KMSClient" and not elsewhere:
            operations = {method for method, _ in client_operations(obj)}
            members = [n for n in vars(obj) if not n.startswith("_") and n not in operations]
            out += [f".. autoclass:: {full}", f"   :members: {', '.join(members)}", "",
                    "   Its methods are AWS KMS's operations, with boto3's names and shapes: each "
                    "takes AWS's parameters as keywords and returns AWS's response as a dict "
                    "(``help(kms.encrypt)`` shows AWS's own description). kmslab serves every "
                    "operation of AWS KMS:", ""]
            out += ["   " + line for line in client_operations_rst(obj).splitlines()]
            out.append("")
        elif inspect.isclass(obj):
            directive = "autoexception" if issubclass(obj, BaseException) else "autoclass"
            out += [f".. {directive}:: {full}"]
            if obj.__bases__ != (object,):
                out += ["   :show-inheritance:"]
            if not elsewhere:
                out += ["   :members:"]
            out.append("")
            if elsewhere:
                out += [f"   Documented in full as :class:`{home}.{name}`.", ""]
        elif callable(obj):
            out += [f".. autofunction:: {full}", ""]
            if elsewhere:
                out += [f"   The same function as :func:`{home}.{name}`.", ""]
        else:
            out += [f".. py:data:: {name}", f"   :module: {module.name}"]
            value = repr(obj)
            if len(value) <= 70 and "\n" not in value:
                out += [f"   :value: {value}"]
            else:
                out += [f"   :type: {type(obj).__name__}"]
            out.append("")
            out += ["   " + line for line in _attribute_doc(module.name, name, obj)]
            out.append("")
    return "\n".join(out) + "\n"


def serve_help() -> str:
    """What ``kmslab serve --help`` prints."""
    import contextlib
    import io
    import os

    from kmslab.interop import cli_serve

    buffer = io.StringIO()
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"
    try:
        with contextlib.redirect_stdout(buffer):
            try:
                cli_serve(["--help"])
            except SystemExit:
                pass
    finally:
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
    return buffer.getvalue().replace("usage: ", "usage: ", 1)
