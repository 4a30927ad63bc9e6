"""The package's version, read once from the installed distribution's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("northflank-async")
    """The installed version of northflank-async, such as ``"0.1.0"``.

    It is ``"0.0.0"`` when the package runs from a source tree that is not installed.
    """
except PackageNotFoundError:  # pragma: no cover - only when run from a tree that is not installed
    __version__ = "0.0.0"
