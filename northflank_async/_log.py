"""The SDK's one logger, ``northflank_async``: retries at WARNING, each request at DEBUG."""

from __future__ import annotations

import logging

__all__ = ["logger"]

logger = logging.getLogger("northflank_async")
# A library leaves output to the application: without its own logging set up, nothing prints.
logger.addHandler(logging.NullHandler())
