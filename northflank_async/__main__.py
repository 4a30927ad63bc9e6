"""``python -m northflank_async``: the ``northflank-async`` command line."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
