"""Downloading a backup: the link, then its bytes, streamed, resumed, verified.

:class:`BackupDownloads` is a part of ``NorthflankSession`` (it inherits these methods).
A download reads the backup (its status and ``config.size``), asks for its link (two
API requests, plus one each time an expired link is fetched anew), then reads the
bytes from the storage host through :class:`~._storage_http.Transfer`. The link is a
credential: messages and log lines show its host and path only.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path

import attrs
from yarl import URL

from ._backups import BACKUP, DOWNLOAD_LINK, one_backup_ids
from ._client import Client
from ._download_file import Destination, save
from ._download_rules import Progress, ProgressCallback, check_link
from ._models import Backup, BackupStatus
from ._storage_http import Transfer

__all__ = ["BackupDownloads", "ProgressCallback"]


@attrs.frozen
class _Routes:
    """The API routes of one backup's download: the backup, and its link."""

    backup: URL
    link: URL


class BackupDownloads:
    """The calls that fetch a backup's bytes from the storage host the API links to.

    A part of [NorthflankSession][northflank_async.NorthflankSession], which inherits
    these methods: call them on the session. A download costs two API requests (the
    backup, for its status and ``config.size``; then its link), plus one each time an
    expired link is fetched anew; the bytes come from the storage host and spend
    nothing of the hourly budget.
    """

    _client: Client

    # -- the calls ------------------------------------------------------------------------

    async def get_backup_download_link(
        self, project_id: str, addon_id: str, backup_id: str, *, team_id: str | None = None
    ) -> str:
        """A temporary link to the backup's file on the storage host.

        One ``GET .../backups/{backupId}/download-link``, retried as reads are. The link
        needs no token and is itself a credential until it expires: keep it out of logs.
        Only an absolute ``https`` link (``http`` to this machine, for tests) is returned.
        ``download_backup`` and ``stream_backup`` fetch it themselves.

        Example:

        ```python
        link = await nf.get_backup_download_link(project_id, addon_id, backup_id)
        # hand it to a client that needs no token (it expires); never to a log line
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :returns: the link, as a string.
        :raises ValueError: an id is empty or would change the route, before any request.
        :raises NotFoundError: no such project, addon or backup (404).
        :raises ConflictError: the backup is not completed (409).
        :raises ResponseValidationError: the answer holds no such link (the message does
            not quote it).
        :raises NorthflankError: any other failure of the request, as for every call.
        """
        routes = _routes(self._client, project_id, addon_id, backup_id, team_id)
        value, _ = await _fetch_link(self._client, routes.link)
        return value

    def stream_backup(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        *,
        team_id: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """The backup's bytes, in order, as chunks of up to 256 KiB; resumed and verified.

        Arguments are checked now (``ValueError``); the requests start with the iteration:
        the backup and its link from the API, then the bytes from the storage host. A
        dropped connection is resumed from the last byte delivered (``Range``); when the
        host ignores ranges, the new body is read and its first bytes, already delivered,
        are dropped. A check that fails raises after the last chunk, so a consumer must
        treat what it got as incomplete until the iteration ends cleanly. Closing the
        generator early (``aclose()``, or ``break`` inside
        ``async with contextlib.aclosing(...)``) releases the connection. Nothing touches
        the disk: use it for an upload or a ``StreamingResponse``.

        Example:

        ```python
        import hashlib

        digest = hashlib.sha256()
        async for chunk in nf.stream_backup(project_id, addon_id, backup_id):
            digest.update(chunk)
        print(digest.hexdigest())  # only now is every byte there, and checked
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param progress: called as ``progress(done_bytes, total_bytes_or_None)`` as bytes
            arrive (at most every 0.1 s, never going backwards) and once at the end; a plain
            function, not an ``async def``. An exception from it ends the download.
        :returns: an async generator of ``bytes`` chunks.
        :raises ValueError: an id or ``progress`` is bad (at the call).
        :raises NotFoundError: no such project, addon or backup (404).
        :raises ConflictError: the backup is not completed (the API's 409).
        :raises DownloadError: the bytes do not add up to the announced total or the
            backup's ``config.size``, the object changed mid-way, the storage host refused
            the link (even a fresh one) or answered an error, a redirect went elsewhere than
            https, or the connection kept dropping past the session's ``RetryPolicy``.
        :raises NorthflankError: the API's errors; ``SessionClosedError`` when the session
            closes.
        """
        routes = _routes(self._client, project_id, addon_id, backup_id, team_id)
        _check_progress(progress)
        return _stream(self._client, routes, backup_id, addon_id, progress)

    async def download_backup(
        self,
        project_id: str,
        addon_id: str,
        backup_id: str,
        destination: str | os.PathLike[str],
        *,
        team_id: str | None = None,
        progress: ProgressCallback | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Download the backup to ``destination`` (a file, or an existing directory).

        In a directory the file is named after the backup id, with the extension of the
        link's file (``<backup id>.tar.gz``). The bytes go, as they arrive, to a temporary
        file beside the destination (mode 0600), which is synced and moved into place only
        when complete and verified; a dropped connection is resumed from the last byte
        received, and a host that ignores ranges is read again from the start. Any error,
        cancellation or closing of the session removes the temporary file and leaves the
        destination as it was. Requests to the storage host carry none of the API's
        headers.

        Example:

        ```python
        def show(done: int, total: int | None) -> None:
            print(f"{done} of {total or '?'} bytes")


        path = await nf.download_backup(project_id, addon_id, backup_id, "backups", progress=show)
        print(path)  # backups/<backup id>.tar.gz, complete and checked
        ```

        :param project_id: the project's id.
        :param addon_id: the addon's id.
        :param backup_id: the backup's id.
        :param destination: the file to write, or an existing directory to write
            ``<backup id><extension>`` in.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param progress: called as ``progress(done_bytes, total_bytes_or_None)`` as bytes
            arrive (at most every 0.1 s, never going backwards) and once at the end; a plain
            function, not an ``async def``. An exception from it ends the download.
        :param overwrite: replace an existing file; False raises ``FileExistsError``.
        :returns: the path of the file written.
        :raises ValueError: a bad id, ``destination``, ``progress`` or ``overwrite``.
        :raises FileExistsError: the file exists and ``overwrite`` is False (before any
            request; in a directory, before the bytes are requested).
        :raises FileNotFoundError: the destination's directory does not exist (before any
            request).
        :raises NotFoundError: no such project, addon or backup (404).
        :raises ConflictError: the backup is not completed (the API's 409).
        :raises DownloadError: as for ``stream_backup``; nothing is left on disk.
        :raises NorthflankError: the API's errors; ``SessionClosedError`` when the session
            closes.
        """
        routes = _routes(self._client, project_id, addon_id, backup_id, team_id)
        _check_progress(progress)
        if not isinstance(overwrite, bool):
            raise ValueError(f"overwrite must be True or False, got {overwrite!r}")
        target = Destination.check(destination, backup_id, overwrite=overwrite)
        transfer = await _prepare(
            self._client, routes, backup_id, addon_id, progress, "; nothing was written"
        )
        final = target.final(transfer.link)

        def chunks(rewind: Callable[[], None]) -> AsyncGenerator[bytes, None]:
            return transfer.chunks(rewind=rewind)

        return await save(final, chunks, overwrite=overwrite)


def _routes(
    client: Client, project_id: str, addon_id: str, backup_id: str, team_id: str | None
) -> _Routes:
    """The routes of a download; a bad id raises ValueError (before any request)."""
    ids = one_backup_ids(project_id, addon_id, backup_id)
    return _Routes(client.url(BACKUP, ids, team_id), client.url(DOWNLOAD_LINK, ids, team_id))


async def _fetch_link(client: Client, url: URL) -> tuple[str, URL]:
    """The download link from ``url`` (one read, retried as reads are): as sent, and parsed."""
    answer, _ = await client.transport.get_json(url)
    value = client.data(answer, "GET", url).get("downloadLink")
    link = check_link(value, url)
    assert isinstance(value, str)  # check_link refuses anything else
    return value, link


async def _prepare(
    client: Client,
    routes: _Routes,
    backup_id: str,
    addon_id: str,
    progress: ProgressCallback | None,
    fate: str,
) -> Transfer:
    """Read the backup, then its link: the two API requests before the bytes."""
    answer, _ = await client.transport.get_json(routes.backup)
    backup = client.one(answer, Backup, "GET", routes.backup)
    size = backup.config.size
    expected = size if backup.status == BackupStatus.COMPLETED and size > 0 else None
    _, link = await _fetch_link(client, routes.link)

    async def refresh() -> URL:
        return (await _fetch_link(client, routes.link))[1]

    return Transfer(
        client.transport,
        backup_id=backup_id,
        addon_id=addon_id,
        link=link,
        refresh=refresh,
        expected=expected,
        progress=Progress(progress),
        fate=fate,
    )


async def _stream(
    client: Client,
    routes: _Routes,
    backup_id: str,
    addon_id: str,
    progress: ProgressCallback | None,
) -> AsyncGenerator[bytes, None]:
    """The body of :meth:`BackupDownloads.stream_backup`, run as it is iterated."""
    transfer = await _prepare(client, routes, backup_id, addon_id, progress, "")
    async with aclosing(transfer.chunks()) as chunks:
        async for chunk in chunks:
            yield chunk


def _check_progress(progress: object) -> None:
    """Refuse a ``progress`` that is not a plain callable (an ``async def`` would never run)."""
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable or None, got {type(progress).__name__}")
    if inspect.iscoroutinefunction(progress):
        raise ValueError("progress must be a plain callable, not an async function")
