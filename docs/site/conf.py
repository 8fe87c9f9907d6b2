"""Sphinx configuration of kmslab's course site: tutorials, concepts and API reference.

Build it from the repository root (``pip install -e ".[docs]"`` first)::

    python -m sphinx -W -b html docs/site build/site

The notebooks are rendered from their committed outputs (never executed), and
nothing is fetched from the network: the build works offline.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

from kmslab_site import sources  # noqa: E402

import kmslab  # noqa: E402

project = "kmslab"
author = "the kmslab authors"
copyright = "the kmslab authors, Apache-2.0"
release = version = kmslab.__version__

extensions = ["myst_nb", "sphinx.ext.autodoc", "kmslab_site"]
exclude_patterns = ["_ext", "**/.ipynb_checkpoints", "public-api.txt"]
root_doc = "index"
smartquotes = False  # questions, names and messages appear exactly as written

# -- notebooks: rendered from their committed outputs ----------------------------------------
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3  # "## Section" headings get anchors: the FAQ map links to them

# -- API reference ---------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
add_module_names = False
python_display_short_literal_types = True

# -- HTML ------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = f"kmslab {release}"
html_static_path = ["_static"]
html_css_files = ["kmslab.css"]
html_sourcelink_suffix = ""  # the download link of a tutorial is the .ipynb itself
html_theme_options = {
    "repository_url": sources.REPOSITORY,
    "repository_branch": sources.BRANCH,
    "path_to_docs": "",  # tutorial pages are notebooks/NN_name: the same path as in the repository
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"binderhub_url": sources.BINDER, "notebook_interface": "jupyterlab"},
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
