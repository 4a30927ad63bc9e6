"""A FastAPI app serving an addon's backups from one shared NorthflankSession.

    pip install northflank-async fastapi uvicorn
    uvicorn fastapi_app:app                   # or: python fastapi_app.py [--port 8000]
    curl 'http://127.0.0.1:8000/projects/default-project/addons/example-addon/backups?per_page=5'
    curl 'http://127.0.0.1:8000/projects/default-project/addons/example-addon/backups.ndjson'

This file stands alone: copy it anywhere (from a checkout of the repository,
``uvicorn examples.fastapi_app:app`` works too). Importing it starts nothing and needs
no token. Without ``NF_API_TOKEN`` (or ``NORTHFLANK_API_TOKEN``) the app's lifespan
starts ``northflank_async.testing.MockNorthflank`` on 127.0.0.1 with generated backups
of addon ``example-addon`` of project ``default-project``, and says so on stderr.

- One session (one connection pool) is opened in the app's lifespan and handed to
  every request by a dependency.
- ``GET .../backups?cursor=&per_page=`` answers one page and the cursor of the next
  (a UI's "load more"); ``GET .../backups.ndjson`` streams every backup, one JSON
  object a line, and stops the upstream walk when the client goes away.
- SDK errors become HTTP answers that leak neither the token nor upstream details:
  404 stays 404, an upstream 401/403 is the server's problem (502), a spent rate
  limit is 503 with ``Retry-After``, any other upstream failure 502 (504 on timeout).
  ``Retry-After`` is the API's wait in whole seconds, rounded up and kept within
  1..3600 (``MAX_RETRY_AFTER``): an upstream ``Retry-After: 1e308`` is passed on as 3600.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.types import Receive, Scope, Send

from northflank_async import (
    APITimeoutError,
    AuthenticationError,
    Backup,
    BackupPage,
    BadRequestError,
    NorthflankError,
    NorthflankSession,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    SessionClosedError,
    converter,
)
from northflank_async.testing import MockNorthflank

logger = logging.getLogger("fastapi_app")

#: Request handlers should answer soon: retry a little, never wait long for the API.
HANDLER_RETRY = RetryPolicy(max_attempts=3, max_wait=10.0)

#: The longest wait a 503's ``Retry-After`` asks of clients, whatever the API asked for.
MAX_RETRY_AFTER = 3600

#: Northflank ids are slugs; anything else is refused with a 422 before any request.
ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$"
ProjectId = Annotated[str, Path(pattern=ID)]
AddonId = Annotated[str, Path(pattern=ID)]


@dataclass(frozen=True)
class Settings:
    """How the app reaches the API; ``None`` reads the SDK's environment variables.

    No token here nor in the environment: the lifespan starts a mock API and uses it.
    """

    token: str | None = None
    base_url: str | None = None
    retry: RetryPolicy | None = HANDLER_RETRY


def get_nf(request: Request) -> NorthflankSession:
    """The app's one session, opened by its lifespan."""
    nf = request.app.state.nf
    assert isinstance(nf, NorthflankSession), "the app's lifespan has not run"
    return nf


NF = Annotated[NorthflankSession, Depends(get_nf)]


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` value for a wait: whole seconds, rounded up, within 1..MAX_RETRY_AFTER."""
    if not seconds < MAX_RETRY_AFTER:  # also NaN: never pass a huge or odd number on
        return str(MAX_RETRY_AFTER)
    return str(max(1, math.ceil(seconds)))


def http_error(error: NorthflankError) -> tuple[int, str, dict[str, str]]:
    """The status, safe message and headers to answer for an SDK error."""
    if isinstance(error, NotFoundError):
        return 404, "no such project or addon", {}
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        # The server's credentials are at fault, not the client's request.
        return 502, "the backup service may not read this from the Northflank API", {}
    if isinstance(error, RateLimitError):
        headers = {}
        if error.retry_after is not None:
            headers["Retry-After"] = retry_after(error.retry_after)
        return 503, "the Northflank API rate limit is spent; try again later", headers
    if isinstance(error, BadRequestError):
        # per_page and the ids are checked here, so the client's cursor is to blame.
        return 400, "the Northflank API refused the query: is the cursor from this list?", {}
    if isinstance(error, APITimeoutError):
        return 504, "the Northflank API did not answer in time", {}
    if isinstance(error, SessionClosedError):
        return 503, "the service is shutting down", {}
    return 502, "the Northflank API failed", {}


async def _on_sdk_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, NorthflankError)
    status, message, headers = http_error(error)
    logger.warning("%s %s -> %d: %s", request.method, request.url.path, status, error)
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def _ndjson_lines(backups: list[Backup]) -> bytes:
    return b"".join(
        json.dumps(converter.unstructure(backup), separators=(",", ":")).encode() + b"\n"
        for backup in backups
    )


async def _ndjson(pages: AsyncGenerator[BackupPage, None]) -> AsyncGenerator[bytes, None]:
    """NDJSON, one chunk per page, after an empty first chunk once the first page is in.

    The caller reads that first chunk before answering, so an error on the first page
    becomes a proper status. An error later ends the stream with an ``{"error": ...}``
    line. However the stream ends, ``aclosing`` ends the upstream walk with it.
    One chunk per page, not per backup: one write per page, and between two writes the
    server gets to notice a client that went away.
    """
    async with aclosing(pages):
        first = await anext(pages)  # the walk yields at least one page, maybe empty
        yield b""
        yield _ndjson_lines(first.backups)
        try:
            async for page in pages:
                yield _ndjson_lines(page.backups)
        except NorthflankError as error:
            status, message, _ = http_error(error)
            logger.warning("the NDJSON stream of backups ended early: %s", error)
            error_line = {"error": {"status": status, "message": message}}
            yield json.dumps(error_line, separators=(",", ":")).encode() + b"\n"


class ClosingStreamingResponse(StreamingResponse):
    """A StreamingResponse that closes its generator however the response ends.

    On a client disconnect Starlette cancels the iteration, which may leave the
    generator suspended at a ``yield``; closing it here runs its ``finally`` now
    instead of whenever the garbage collector gets to it.
    """

    def __init__(self, content: AsyncGenerator[bytes, None], media_type: str) -> None:
        super().__init__(content, media_type=media_type)
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._content.aclose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app; ``settings`` say which API (or mock) to talk to and how to retry."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            token = settings.token or os.getenv("NORTHFLANK_API_TOKEN") or os.getenv("NF_API_TOKEN")
            base_url = settings.base_url
            if not token:  # none anywhere: serve generated backups from a mock API
                mock = await stack.enter_async_context(MockNorthflank())
                mock.add_addon("default-project", "example-addon")
                mock.generate_backups("default-project", "example-addon", 250)
                print(
                    f"NF_API_TOKEN is not set: serving an in-process mock API at {mock.base_url}"
                    "; try GET /projects/default-project/addons/example-addon/backups",
                    file=sys.stderr,
                )
                token, base_url = mock.token, str(mock.base_url)
            nf = NorthflankSession(token, base_url=base_url, retry=settings.retry)
            app.state.nf = await stack.enter_async_context(nf)
            yield

    app = FastAPI(title="Addon backups", lifespan=lifespan)
    app.add_exception_handler(NorthflankError, _on_sdk_error)

    @app.get("/projects/{project_id}/addons/{addon_id}/backups")
    async def backup_page(
        project_id: ProjectId,
        addon_id: AddonId,
        nf: NF,
        cursor: Annotated[str | None, Query(max_length=4096)] = None,
        per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """One page of the addon's backups and the cursor of the next (null at the end)."""
        page = await nf.get_backup_page(
            project_id, addon_id, per_page=per_page, cursor=cursor or None
        )
        paging = page.pagination
        return {
            "backups": converter.unstructure(page.backups),
            "nextCursor": paging.cursor if paging.has_next_page else None,
        }

    @app.get("/projects/{project_id}/addons/{addon_id}/backups.ndjson")
    async def all_backups(
        project_id: ProjectId,
        addon_id: AddonId,
        nf: NF,
        per_page: Annotated[int, Query(ge=1, le=100)] = 100,
    ) -> StreamingResponse:
        """Every backup of the addon, one JSON object a line."""
        lines = _ndjson(nf.list_backup_pages(project_id, addon_id, per_page=per_page))
        await anext(lines)  # the first page: an error here still gets its own status
        return ClosingStreamingResponse(lines, media_type="application/x-ndjson")

    return app


#: ``uvicorn fastapi_app:app``; building it starts nothing, its lifespan does.
app = create_app()

if __name__ == "__main__":
    import uvicorn  # the ASGI server of the "examples" extra; the app itself needs none

    parser = argparse.ArgumentParser(description="Serve addon backups over HTTP on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8000)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port)
