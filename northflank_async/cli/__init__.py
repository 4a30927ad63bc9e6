"""The ``northflank-async`` command line (also ``python -m northflank_async``).

::

    northflank-async get addon backups --projectId P --addonId A [--page N | --cursor C] [-o json|jsonl|yaml|table]
    northflank-async get project backups --projectId P [--concurrency N] [--skip-errors]
    northflank-async list projects | list addons --projectId P
    northflank-async backup addon --projectId P --addonId A [--name N] [--wait [--timeout S]]
    northflank-async get addon backup --projectId P --addonId A --backupId B
    northflank-async delete backup | abort addon backup | retain addon backup ... --backupId B
    northflank-async restore addon backup ... --backupId B [--wait] | abort addon restore ...
    northflank-async get addon restores | get addon backup restores ...
    northflank-async demo                 # the SDK against a fake API, no account needed
    northflank-async mock serve           # that fake API as a server for other clients

A listing streams every page unless ``--page`` or ``--cursor`` asks for one, as the
official CLI does. Exit codes: 0 success, 1 an API or network error, 2 a usage error
(bad or missing arguments, no token), 4 partial (``--skip-errors`` skipped an addon),
130 interrupted (Ctrl-C; a backup or restore waited for goes on), 141 stdout closed by
its reader. With ``--wait``, exit 1 also when the backup or restore failed or the wait
timed out.
:func:`run` is the whole program as a coroutine; :func:`main` runs it with
``asyncio.run``.

The modules: ``_app`` (the parser, :func:`run`, :func:`main`), ``_common`` (exit codes,
errors, the console, options, the command tree), one module per command family
(``_listing``, ``_actions``, ``_mock``), each with a ``register(commands)`` listed in
``_app.FAMILIES``, and ``_output`` (views, output formats, progress).
"""

from ._app import main, run

__all__ = ["main", "run"]
