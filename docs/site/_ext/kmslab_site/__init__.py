"""The Sphinx extension behind kmslab's course site.

* The tutorials: ``notebooks/*.ipynb`` are mirrored into ``docs/site/notebooks/``
  (a build directory, not committed) and rendered by MyST-NB from their
  committed outputs; each page gets a "launch on Binder" and a "download"
  link under its title.
* ``{kmslab-generated} NAME``: a part of a page drawn from the repository or
  from kmslab itself (see :data:`FRAGMENTS`).
* The API reference: one page per public module (``public-api.txt``),
  written into ``docs/site/api/generated/`` at the start of each build.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

from . import render, sources

NOTEBOOK_DIR = "notebooks"
API_DIR = Path("api") / "generated"


def _fragment_key_states(kind):
    rules = sources.key_state_rules()
    return {"table": render.key_state_table, "transitions": render.transition_table,
            "diagram": render.state_diagram_svg}[kind](rules)


#: name -> (how the text is parsed, the function that makes it)
FRAGMENTS = {
    "tutorials": ("markdown", lambda: render.tutorial_table(sources.notebooks())),
    "tutorials-toctree": ("markdown", lambda: render.tutorial_toctree(sources.notebooks())),
    "faq": ("markdown", lambda: render.faq_table(sources.faq(), sources.notebooks())),
    "key-state-table": ("markdown", lambda: _fragment_key_states("table")),
    "key-state-transitions": ("markdown", lambda: _fragment_key_states("transitions")),
    "key-state-diagram": ("html", lambda: _fragment_key_states("diagram")),
    "refused": ("markdown", lambda: render.refused_table(sources.refused_features())),
    "public-modules": ("markdown", lambda: render.modules_table(sources.public_modules())),
    "internal-modules": ("markdown", lambda: render.internal_modules(sources.public_modules())),
    "serve-help": ("literal", render.serve_help),
    "blob-difference": ("markdown", lambda: "> " + sources.blob_difference()),
    "api-toctree": ("markdown", lambda: render.api_toctree(sources.public_modules())),
}

#: files a fragment is read from, so that editing them rebuilds the pages that show it
_DEPENDS = [sources.NOTEBOOKS_README, sources.PUBLIC_API]


class Generated(SphinxDirective):
    """``{kmslab-generated} NAME``: the fragment NAME of :data:`FRAGMENTS`."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        if name not in FRAGMENTS:
            raise self.error(f"unknown fragment {name!r}; known: {', '.join(FRAGMENTS)}")
        kind, make = FRAGMENTS[name]
        for path in _DEPENDS:
            self.env.note_dependency(str(path))
        text = make()
        if kind == "html":
            return [nodes.raw("", text, format="html")]
        if kind == "literal":
            return [nodes.literal_block(text, text, language="text")]
        container = nodes.container(classes=["kmslab-generated"])
        self.state.nested_parse(StringList(text.splitlines(), source=f"<kmslab {name}>"),
                                self.content_offset, container)
        return [container]


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def mirror_notebooks(app, config) -> None:
    """Copy every tutorial into the site's source tree (unchanged files are left alone)."""
    target = Path(app.srcdir) / NOTEBOOK_DIR
    wanted = {notebook.path.name: notebook.path for notebook in sources.notebooks()}
    target.mkdir(exist_ok=True)
    for stale in target.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    for name, path in wanted.items():
        _write_if_changed(target / name, path.read_bytes())


def write_api_pages(app) -> None:
    """One page per public module, from ``public-api.txt`` (pages of removed modules go)."""
    target = Path(app.srcdir) / API_DIR
    modules = sources.public_modules()
    names = [module.name for module in modules]
    for stale in target.glob("*.rst") if target.exists() else ():
        if stale.stem not in names:
            stale.unlink()
    for module in modules:
        _write_if_changed(target / f"{module.name}.rst", render.api_page(module, names).encode())


def _has_widget_state(notebook: Path) -> bool:
    metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    state = metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return bool(state.get("state"))


def notebook_page_links(app, doctree, docname: str) -> None:
    """Under each tutorial's title: launch it on Binder, download it; and where a notebook
    keeps no widget state, say where its widgets come alive instead of showing nothing."""
    if not docname.startswith(NOTEBOOK_DIR + "/") or app.builder.format != "html":
        return
    stem = docname.split("/", 1)[1]
    notebook = next((n for n in sources.notebooks() if n.stem == stem), None)
    if notebook is None:
        return
    here = app.builder.get_target_uri(docname)
    download = relative_uri(here, f"_sources/{docname}.ipynb")
    logo = relative_uri(here, "_static/images/logo_binder.svg")
    links = (f'<p class="kmslab-notebook-links">'
             f'<a class="reference external kmslab-binder" href="{notebook.binder_url}">'
             f'<img alt="" src="{logo}" width="18" height="18"> Run it on Binder</a>'
             f' · <a class="reference internal kmslab-download" href="{download}" '
             f'download="{notebook.path.name}">Download the notebook ({notebook.path.name})</a>'
             f" · or locally: <code>jupyter lab notebooks/{notebook.path.name}</code></p>")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, nodes.raw("", links, format="html"))
    if not _has_widget_state(notebook.path):
        note = ('<div class="kmslab-widget-note">An interactive widget is displayed here when '
                'the notebook runs (on Binder or in your own Jupyter).</div>')
        for raw in list(doctree.findall(nodes.raw)):
            if "application/vnd.jupyter.widget-view+json" in raw.astext():
                raw.replace_self(nodes.raw("", note, format="html"))


def setup(app):
    """Register the site's directive and build steps with Sphinx."""
    app.add_directive("kmslab-generated", Generated)
    app.connect("config-inited", mirror_notebooks)
    app.connect("builder-inited", write_api_pages)
    app.connect("doctree-resolved", notebook_page_links)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
