"""The package's version, read once from the installed distribution's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("northflank-async")
except PackageNotFoundError:  # pragma: no cover - only when run from a tree that is not installed
    __version__ = "0.0.0"
