"""The course site (docs/site) builds offline with warnings as errors, and holds what it promises.

The build is the README's command with a temporary output directory; any attempt to reach the
network fails it (HTTP(S) proxies point at a closed local port). Then the built HTML is read:
every tutorial page with its images, Binder and download links; every public name in the API
reference; every internal link and anchor; all 45 FAQ questions, each linked to its section.
"""

from __future__ import annotations

import filecmp
import importlib
import inspect
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

for _module in ("sphinx", "myst_nb", "sphinx_book_theme"):
    pytest.importorskip(_module, reason="the docs extra is not installed: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "site" / "_ext"))

from kmslab_site import render, sources  # noqa: E402

BUILD_COMMAND = [sys.executable, "-m", "sphinx", "-W", "-b", "html", "docs/site"]


class Page(HTMLParser):
    """What the checks read from one HTML page: ids, links, images and table rows."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.ids: set[str] = set()
        self.links: list[str] = []  # href of <a>, src of <img> and <script>, href of <link>
        self.images: list[str] = []
        self.rows: list[tuple[list[str], list[str]]] = []  # (cell texts, hrefs) per table row
        self._row: tuple[list[str], list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for attr in ("href", "src"):
            if attrs.get(attr) and tag in ("a", "img", "script", "link"):
                self.links.append(attrs[attr])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "tr":
            self._row = ([], [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and self._row is not None and attrs.get("href"):
            self._row[1].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row[0].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def broken_links(site: Path) -> list[str]:
    """Every link of every page of ``site`` that points inside the site but nowhere."""
    pages: dict[Path, Page] = {}

    def page(path: Path) -> Page:
        if path not in pages:
            pages[path] = Page(path)
        return pages[path]

    broken = []
    for path in sorted(site.rglob("*.html")):
        if "_static" in path.relative_to(site).parts:  # the theme's templates, not pages
            continue
        for link in page(path).links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            where = f"{path.relative_to(site)}: {link}"
            if not target.is_file():
                broken.append(f"{where} (no file)")
            elif (parts.fragment and target.suffix == ".html"
                  and unquote(parts.fragment) not in page(target).ids):
                broken.append(f"{where} (no anchor #{parts.fragment})")
    return broken


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    done = subprocess.run(BUILD_COMMAND + [str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"the site did not build:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return out


def test_the_readme_builds_the_site_with_this_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -e ".[docs]" && python -m sphinx -W -b html docs/site build/site' in readme


# -- tutorials ----------------------------------------------------------------------------------

NOTEBOOKS = sources.notebooks()


def test_there_is_a_page_for_every_notebook_in_learning_order(site):
    assert [n.path.name for n in NOTEBOOKS] == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    tutorials = Page(site / "tutorials.html")
    linked = [link for link in tutorials.links if link.startswith("notebooks/")]
    in_order = list(dict.fromkeys(link.split("#")[0] for link in linked))
    assert in_order == [f"notebooks/{n.stem}.html" for n in NOTEBOOKS]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_a_notebook_page_shows_its_figures_and_links_to_binder_and_the_download(site, notebook):
    path = site / "notebooks" / f"{notebook.stem}.html"
    assert path.is_file(), f"no page for {notebook.path.name}"
    page = Page(path)
    figures = [src for src in page.images if "_images/" in src]
    assert len(figures) >= notebook.image_outputs(), \
        f"{notebook.path.name} has {notebook.image_outputs()} image outputs, its page shows {len(figures)}"
    for src in figures:
        assert (path.parent / src).is_file(), src
    assert notebook.binder_url in page.links
    assert notebook.binder_url.endswith(f"urlpath=lab/tree/notebooks/{notebook.path.name}")
    downloads = [link for link in page.links if link.endswith(f"_sources/notebooks/{notebook.path.name}")]
    assert downloads, f"no download link on the page of {notebook.path.name}"
    assert filecmp.cmp(path.parent / downloads[0], notebook.path, shallow=False), \
        "the download is not the committed notebook"


def test_the_page_text_comes_from_the_committed_outputs(site):
    # a printed value of notebook 01, as committed, is on its page (nothing re-executed)
    import json

    notebook = NOTEBOOKS[0]
    cells = json.loads(notebook.path.read_text(encoding="utf-8"))["cells"]
    printed = [line for cell in cells for output in cell.get("outputs", ()) if output.get("name") == "stdout"
               for line in "".join(output["text"]).splitlines() if len(line.strip()) > 12]
    assert printed
    text = page_text(site / "notebooks" / f"{notebook.stem}.html")
    for line in printed[:5]:
        assert " ".join(line.split()) in text


def page_text(path: Path) -> str:
    """A page's text: tags dropped, entities decoded, whitespace runs made one space."""
    import html

    raw = path.read_text(encoding="utf-8")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).replace("\u200b", "").split())


def test_image_count_is_read_from_the_notebook(tmp_path):
    import json

    path = tmp_path / "01_x.ipynb"
    path.write_text(json.dumps({"cells": [
        {"cell_type": "code", "outputs": [{"data": {"image/png": "iVBOR", "text/plain": "<Figure>"}},
                                          {"data": {"text/plain": "<Figure size 640x480>"}}]},
        {"cell_type": "markdown", "source": ["# t"]}]}))
    assert sources.Notebook("01_x", path, "t", "").image_outputs() == 1


# -- the API reference --------------------------------------------------------------------------

def _api_pages(site: Path) -> dict[str, Page]:
    return {p.stem: Page(p) for p in (site / "api" / "generated").glob("*.html")}


def test_every_public_name_is_in_the_api_reference(site):
    pages = _api_pages(site)
    all_ids = set().union(*(page.ids for page in pages.values()))
    missing = []
    for module in sources.public_modules():
        assert module.name in pages, f"no API page for {module.name}"
        assert f"module-{module.name}" in pages[module.name].ids
        mod = importlib.import_module(module.name)
        for name in sources.public_names(module.name):
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                found = f"module-{obj.__name__}" in all_ids and f"module-{obj.__name__}" in \
                    "".join(pages[module.name].links)
            else:
                found = f"{module.name}.{name}" in pages[module.name].ids
            if not found:
                missing.append(f"{module.name}.{name}")
    assert not missing, f"public names missing from the API reference: {missing}"


def test_the_client_is_documented_once_with_every_operation_linked_to_aws(site):
    from kmslab import KMSClient

    page = Page(site / "api" / "generated" / "kmslab.html")
    operations = render.client_operations(KMSClient)
    assert len(operations) == len({op for _, op in operations}) >= 56
    rows = {cells[0].split()[0]: hrefs for cells, hrefs in page.rows if cells}
    for method, operation in operations:
        assert method in rows, f"{method} is not in the table of operations"
        assert sources.AWS_API_REFERENCE.format(operation=operation) in rows[method]
    # the operations are not documented again one by one, on any page
    for other in _api_pages(site).values():
        assert not any(i.startswith("kmslab.KMSClient.encrypt") or i.endswith("KMSClient.encrypt")
                       for i in other.ids)


def test_internal_modules_are_not_presented_as_api(site):
    public = {module.name for module in sources.public_modules()}
    for name, page in _api_pages(site).items():
        assert name in public
        documented = {i for i in page.ids if i.startswith("kmslab.")}
        for internal in ("kmslab.service", "kmslab.crypto", "kmslab.audit", "kmslab.policy"):
            assert not any(i == internal or i.startswith(internal + ".") for i in documented), \
                (name, internal)


# -- links, the FAQ, concepts, search -----------------------------------------------------------

def test_every_internal_link_resolves(site):
    broken = broken_links(site)
    assert not broken, "broken links:\n" + "\n".join(broken[:40])


def test_the_link_check_finds_a_missing_page_and_a_missing_anchor(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here"></p><a href="b.html#nowhere">x</a>'
                                     '<a href="c.html">y</a><a href="#here">z</a>'
                                     '<a href="https://example.com/">w</a>')
    (tmp_path / "b.html").write_text('<h1 id="somewhere">b</h1>')
    assert broken_links(tmp_path) == ["a.html: b.html#nowhere (no anchor #nowhere)",
                                      "a.html: c.html (no file)"]


def test_the_faq_page_lists_every_question_linked_to_its_section(site):
    from docutils.nodes import make_id

    faq = sources.faq()
    assert [entry.number for entry in faq] == list(range(1, 46))
    page = Page(site / "faq.html")
    rows = [(cells, hrefs) for cells, hrefs in page.rows if cells and cells[0].isdigit()]
    assert len(rows) == 45
    for entry, (cells, hrefs) in zip(faq, rows, strict=True):
        assert cells[0] == str(entry.number) and cells[1] == entry.question
        stem = Path(entry.notebook).stem
        # the link goes to the section whose heading is the one named in the map
        assert hrefs == [f"notebooks/{stem}.html#{make_id(entry.section)}"], hrefs
        target = Page(site / "notebooks" / f"{stem}.html")
        assert hrefs[0].split("#")[1] in target.ids, f"question {entry.number}: no section {entry.section!r}"


def test_the_faq_questions_are_the_faqs(site):
    faq_file = ROOT.parent / "shared" / "FAQ.md"
    if not faq_file.is_file():
        pytest.skip("the FAQ (../shared/FAQ.md) is not beside this checkout")
    questions = dict(re.findall(r"^\|\s*(\d+)\s*\|\s*(.+?)\s*\|", faq_file.read_text(encoding="utf-8"), re.M))
    assert {str(e.number): e.question for e in sources.faq()} == questions


def test_the_key_state_page_shows_every_state_operation_and_transition(site):
    path = site / "concepts" / "key-states.html"
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in path.read_text(encoding="utf-8")
    text = page_text(path)
    rules = sources.key_state_rules()
    for state in rules.states:
        assert state in text
    for operation in rules.allowed:
        assert operation in text
    for _, event, _ in rules.transitions:
        assert event in text


def test_the_key_state_table_marks_each_refusal_with_its_error():
    rules = sources.key_state_rules()
    markdown = render.key_state_table(rules)
    legend = {number: (code, message)
              for number, code, message in re.findall(r"^(\d+)\. `(\w+)`: (.+)$", markdown, re.M)}
    row = next(line for line in markdown.splitlines() if line.startswith("| Encrypt |"))
    cells = [c.strip() for c in row.strip("|").split("|")][1:]
    for state, cell in zip(rules.states, cells, strict=True):
        refusal = rules.allowed["Encrypt"][state]
        if refusal is None:
            assert cell == "✓"
        else:
            number = cell.removeprefix("✗ ")
            assert legend[number] == (refusal.code, refusal.message)
    assert rules.allowed["Encrypt"]["Disabled"].code == "DisabledException"
    assert rules.allowed["Encrypt"]["Enabled"] is None


def test_the_differences_page_shows_what_a_lab_refuses(site):
    text = page_text(site / "concepts" / "differences-from-aws.html")
    refused = sources.refused_features()
    assert {r.what for r in refused} >= {"KeySpec SM2", "KeySpec ML_KEM_512"}
    for r in refused:
        assert r.message in text and r.code in text


def test_the_site_has_search(site):
    assert (site / "search.html").is_file()
    index = (site / "searchindex.js").read_text(encoding="utf-8")
    assert "rotat" in index and "envelop" in index
