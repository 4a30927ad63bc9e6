"""An in-process fake of the Northflank API, for tests, benchmarks and demos.

``MockNorthflank`` serves the project and addon listing routes, every addon backup
and restore route, and the CLI's token check (``GET /v1/login``) over real HTTP (``aiohttp.web``) from an
in-memory store of plain JSON dicts, with the API's bearer auth, cursor pagination,
error bodies and rate-limit headers, and a ``FaultPlan`` to inject failures by
request number (an error, a dropped connection, a stall, a bad body, a body that
never ends, ...)::

    async with MockNorthflank() as mock:
        mock.generate_backups("default-project", "example-addon", 120)
        mock.faults.fail(2, 503, retry_after="1")
        ...  # point a client at mock.base_url with token "nf-test-token"

Time is the mock's ``clock``: it drives the rate-limit window, ``received_at``
and changes planned with ``at``/``schedule``, which the API shows once due. A
``ManualClock`` moves only when the test says so::

    clock = ManualClock()
    mock = MockNorthflank(clock=clock)
    [backup] = mock.generate_backups("p", "a", 1)
    mock.schedule(30, lambda: backup.update(status="completed"))
    clock.advance(30)  # requests from now on see the backup completed

Every backup route is served, and backups and restores the API starts move on the
clock: ``scheduled`` -> ``in-progress`` -> ``completed`` (or ``failed``), an abort
through ``aborting`` to ``aborted``. ``set_backup_lifecycle`` sets how long each
phase lasts and how it ends (a ``BackupLifecycle``), ``fail_backup``/``fail_restore``
make one fail, and the faults ``lose_answer``/``lose_answer_path`` carry a write out
and then drop the connection::

    mock.set_backup_lifecycle(scheduled=1, in_progress=3)
    mock.faults.lose_answer_path("/backups", method="POST")
    ...  # the client's POST starts a backup but sees the connection drop
    clock.advance(4)  # the backup is completed from now on

Backup downloads: ``GET .../backups/{backupId}/download-link`` answers a fresh
link, shaped like a GCS V4 signed URL, on a second loopback origin of the mock's own,
``mock.storage`` (a ``MockStorage``, started and closed with the mock). It serves a
completed backup's bytes (``config.size`` of them, deterministic from the backup id,
streamed) with ranges, ``HEAD`` and GCS's XML errors, ignores ``Authorization`` but
records every request as received, and ``mock.storage.faults`` (``StorageFaults``)
cuts bodies short, lies about lengths, ignores ranges, expires links, fails or
redirects::

    async with MockNorthflank() as mock:
        [backup] = mock.generate_backups("p", "a", 1)
        backup.update(status="completed")
        mock.storage.faults.drop_after(1 << 20)  # the first GET of the bytes stops at 1 MiB
        ...  # download; compare with mock.storage.content(backup["id"])
        assert not any("Authorization" in r.headers for r in mock.storage.requests)

The rules where the API reference is silent:

- Only backups and restores started through the API move (by the lifecycle in
  force when they started: default 1 s ``scheduled``, 3 s ``in-progress``, then
  ``completed``; an abort 1 s ``aborting``). Generated or added backups stay as
  they are unless a test ``schedule``s a change, but can be aborted, deleted,
  retained and restored. A step acts only on the status it expects, so a status a
  test sets by hand stops the plan. Reaching a final status sets ``completedAt``;
  a completed backup gets a non-zero ``config.size``.
- Dates: the clock's reading when the mock is made is the wall-clock time for
  real time (the default ``time.monotonic``), else 2025-01-01T00:00:00.000Z; a
  new backup is never dated before its addon's generated history.
- ``POST .../backups``: unknown keys are 400; no name gives ``Backup <date> <time>``
  (UTC, of ``createdAt``); a dump's source type is ``liveInstance``, its
  compression ``gz`` unless told; new backups carry a ``uid``.
- ``DELETE``: 409 for a backup ``scheduled``, ``in-progress`` or ``aborting`` (abort
  it, wait for ``aborted``) or one a restore is still running from.
- Abort: 409 unless ``scheduled`` or ``in-progress``. Restore: 409 unless the
  backup is ``completed``; a restore is not refused while another runs. Retain:
  a mock-side mark (``is_retained``), not in the backup's JSON.
- ``GET .../backups/{id}/restores`` lists every restore from that backup (into any
  addon), ``GET .../restores`` those into the addon (with ``backupId``). The
  routes of one backup find it in the path's addon, or in the addon named by
  ``sourceProjectId`` + ``sourceAddonId`` (both or neither); the path's addon is
  the one restored.

``example_backup()`` is the API reference's example backup. It depends only on
aiohttp, yarl and the standard library.
"""

from ._clock import ManualClock
from ._data import example_backup
from ._faults import Fault, FaultKind, FaultPlan
from ._http import RecordedRequest
from ._mock import MockNorthflank
from ._storage import MockStorage, StorageFaults
from ._store import BackupLifecycle

__all__ = [
    "BackupLifecycle",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "ManualClock",
    "MockNorthflank",
    "MockStorage",
    "RecordedRequest",
    "StorageFaults",
    "example_backup",
]
