"""ipywidgets apps on top of kmslab's public API::

    from kmslab.widgets import KeyConsole
    KeyConsole(lab)

Each widget is an ``ipywidgets`` box: display it as the last expression of
a cell. AWS errors are shown inline (``DisabledException: ...``), as boto3
code would see them.
"""

from .audit_viewer import AuditLogViewer
from .envelope_explorer import EnvelopeExplorer
from .import_wizard import ImportWizard
from .key_console import KeyConsole
from .key_timeline import KeyTimeline
from .latency_lab import LatencyLab
from .policy_simulator import PolicySimulator
from .sign_verify import SignVerifyPlayground

__all__ = ["KeyConsole", "AuditLogViewer", "PolicySimulator", "KeyTimeline", "EnvelopeExplorer",
           "LatencyLab", "ImportWizard", "SignVerifyPlayground"]
