"""ipywidgets apps on top of kmslab's public API.

    from kmslab.widgets import KeyConsole
    KeyConsole(lab)

Each widget is an ``ipywidgets`` box: display it as the last expression of
a cell. AWS errors are shown inline (``DisabledException: ...``); features a
kmslab build does not have yet appear as disabled controls saying so.
"""

from .key_console import KeyConsole

__all__ = ["KeyConsole"]
