"""What pyproject.toml cannot say: the tutorials ship inside the package.

notebooks/ stays the tutorials' home at the top of the repository; it is
packaged as ``kmslab.notebooks`` (notebooks and their README), so that a
wheel install has them and ``kmslab tutorials`` can copy them out.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages("src") + ["kmslab.notebooks"],
    package_dir={"": "src", "kmslab.notebooks": "notebooks"},
    package_data={"kmslab.notebooks": ["*.ipynb", "*.md"]},
)
