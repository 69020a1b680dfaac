"""notion-sync: mirror Notion databases into external tools, exactly once.

``core`` is the engine. Connector authors use ``core.adapter``, ``core.fields``,
``core.secrets``, ``core.errors``, ``core.retry``, ``core.emulator.server`` and
``core.testing.conformance``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("notion-sync")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
