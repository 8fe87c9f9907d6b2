"""Figures that show themselves as pictures: kmslab's plots in Jupyter, Voila and static renderers.

A plain ``matplotlib.figure.Figure`` has an image representation only while
the inline backend happens to be active (importing pyplot in a kernel turns
it on); otherwise a notebook shows the text ``<Figure size 700x450 with 1
Axes>``, and so does a committed output. kmslab's figures are built without
pyplot (nothing global, nothing shown twice) from :class:`Figure`, which
renders itself as a PNG (``_repr_png_``) whatever was imported before. The
axes kmslab's plot functions return do the same, so the last expression of a
cell (``plots.activity(trail)``) is a picture.

    fig, ax = kmslab.figure.subplots(figsize=(9, 4))
    ax.plot(...)
    fig                                   # a PNG in any notebook front end
"""

from __future__ import annotations

import io
from typing import Literal

from matplotlib.axes import Axes as _Axes
from matplotlib.figure import Figure as _Figure

__all__ = ["Figure", "Axes", "subplots", "png"]

#: resolution of the pictures (matplotlib's default figure dpi)
DPI = 100


def png(fig: _Figure, *, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes, cropped to what is drawn; the same bytes for the same drawing."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


class Figure(_Figure):
    """A matplotlib Figure that IPython displays as a PNG, in any backend."""

    def _repr_png_(self) -> bytes:
        return png(self)


class Axes(_Axes):
    """Axes that display their whole figure as a PNG when they are a cell's result."""

    def _repr_png_(self) -> bytes:
        return png(self.figure)  # type: ignore[arg-type]  # kmslab's axes live on a Figure


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=(9, 4),
             layout: Literal["constrained", "compressed", "tight"] | None = "constrained", **kwargs):
    """``(Figure, axes)`` like ``pyplot.subplots``, without pyplot: a picture, never shown twice."""
    fig = Figure(figsize=figsize, layout=layout)
    axes = fig.subplots(nrows, ncols, subplot_kw={"axes_class": Axes}, **kwargs)
    return fig, axes
