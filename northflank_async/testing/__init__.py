"""An in-process fake of the Northflank API, for tests, benchmarks and demos.

``MockNorthflank`` serves the project, addon and addon-backup listing routes and
the CLI's token check (``GET /v1/login``) over real HTTP (``aiohttp.web``) from an
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

``example_backup()`` is the API reference's example backup. It depends only on
aiohttp, yarl and the standard library.
"""

from ._clock import ManualClock
from ._data import example_backup
from ._faults import Fault, FaultKind, FaultPlan
from ._http import RecordedRequest
from ._mock import MockNorthflank

__all__ = [
    "Fault",
    "FaultKind",
    "FaultPlan",
    "ManualClock",
    "MockNorthflank",
    "RecordedRequest",
    "example_backup",
]
