"""examples/fastapi_app.py: its module-level app, its pages, its NDJSON stream and its end."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from typing import Any

import aiohttp
import pytest

from examples import fastapi_app
from northflank_async import Backup, converter
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT
from tests.example_support import TIMEOUT, asgi_client, generated_backups


def _app(mock: MockNorthflank) -> Any:
    """The example app against ``mock``."""
    settings = fastapi_app.Settings(token=mock.token, base_url=str(mock.base_url))
    return fastapi_app.create_app(settings)


def _as_served(raw: list[dict[str, Any]]) -> list[Any]:
    """The API's backup JSON as the app serves it: through the models and the converter."""
    return [converter.unstructure(converter.structure(b, Backup)) for b in raw]


def _url(addon: str = ADDON, suffix: str = "") -> str:
    return f"/projects/{PROJECT}/addons/{addon}/backups{suffix}"


# -- the module-level app -------------------------------------------------------------------


async def test_module_app_without_a_token_serves_a_mock_its_lifespan_starts_and_stops(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without a token, the lifespan of ``app`` starts a mock of 250 backups and closes it after."""
    async with asgi_client(fastapi_app.app) as client:
        response = await client.get(_url(), params={"per_page": 5})
    err = capsys.readouterr().err
    found = re.fullmatch(
        r"NF_API_TOKEN is not set: serving an in-process mock API at (http://127\.0\.0\.1:\d+); "
        r"try GET /projects/default-project/addons/example-addon/backups\n",
        err,
    )

    assert found is not None, err
    assert (200, _as_served(generated_backups()[:5])) == (
        response.status_code,
        response.json()["backups"],
    )
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await http.get(found[1])  # the mock closed with the app


@pytest.mark.parametrize("token_variable", ["NF_API_TOKEN", "NORTHFLANK_API_TOKEN"])
async def test_module_app_with_a_token_serves_the_api_the_environment_names(
    mock: MockNorthflank,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token_variable: str,
) -> None:
    """With a token set, ``app`` serves the API the environment names, and starts no mock."""
    expected = mock.generate_backups(PROJECT, ADDON, 3)
    monkeypatch.setenv(token_variable, mock.token)
    monkeypatch.setenv("NORTHFLANK_API_BASE_URL", str(mock.base_url))
    async with asgi_client(fastapi_app.app) as client:
        response = await client.get(_url())

    assert (200, _as_served(expected), "") == (
        response.status_code,
        response.json()["backups"],
        capsys.readouterr().err,
    )


# -- pages and the NDJSON stream ------------------------------------------------------------


async def test_pages_handed_on_by_cursor_cover_every_backup(mock: MockNorthflank) -> None:
    """Following nextCursor from page to page gives every backup once, as camelCase JSON."""
    expected = mock.generate_backups(PROJECT, ADDON, 95)
    served: list[dict[str, Any]] = []
    cursors: list[str | None] = []
    async with asgi_client(_app(mock)) as client:
        params: dict[str, Any] = {"per_page": 20}
        while True:
            response = await client.get(_url(), params=params)
            assert 200 == response.status_code
            body = response.json()
            served += body["backups"]
            cursors.append(body["nextCursor"])
            if body["nextCursor"] is None:
                break
            params["cursor"] = body["nextCursor"]

    assert _as_served(expected) == served
    assert [True, True, True, True, False] == [c is not None for c in cursors]


@pytest.mark.parametrize("count", [0, 130])
async def test_ndjson_streams_every_backup(mock: MockNorthflank, count: int) -> None:
    """The NDJSON endpoint streams every backup (none: an empty body), one JSON object a line."""
    mock.add_addon(PROJECT, ADDON)
    expected = mock.generate_backups(PROJECT, ADDON, count)
    async with asgi_client(_app(mock)) as client:
        response = await client.get(_url(suffix=".ndjson"), params={"per_page": 50})

    assert (200, "application/x-ndjson", _as_served(expected)) == (
        response.status_code,
        response.headers["content-type"],
        [json.loads(line) for line in response.text.splitlines()],
    )


def _asgi_scope(path: str, query: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"test")],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }


async def test_ndjson_client_disconnect_stops_the_upstream_walk(mock: MockNorthflank) -> None:
    """A client that leaves after the first lines ends the walk: no request to the API follows."""
    mock.generate_backups(PROJECT, ADDON, 200)  # 100 pages of 2
    app = _app(mock)
    gone = asyncio.Event()
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body"):
            gone.set()

    async with asgi_client(app):
        await asyncio.wait_for(
            app(_asgi_scope(_url(suffix=".ndjson"), b"per_page=2"), receive, send), TIMEOUT
        )
        after_close = len(mock.requests)
        for _ in range(20):
            await asyncio.sleep(0)

    first_body = next(m["body"] for m in sent if m.get("body"))
    assert [b["id"] for b in mock.backups(PROJECT, ADDON)[:2]] == [
        json.loads(line)["id"] for line in first_body.splitlines()
    ]
    assert after_close <= 3  # the first page, the next one, perhaps its prefetch
    assert after_close == len(mock.requests)


async def test_ndjson_disconnect_under_uvicorn_stops_the_upstream_walk(
    mock: MockNorthflank,
) -> None:
    """Served by uvicorn, a client closing the stream after one line ends the upstream walk."""
    uvicorn = pytest.importorskip("uvicorn")

    mock.generate_backups(PROJECT, ADDON, 2000)  # 200 pages of 10
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # connections queue up until uvicorn accepts them
    port = listener.getsockname()[1]
    config = uvicorn.Config(_app(mock), log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    url = f"http://127.0.0.1:{port}{_url(suffix='.ndjson')}?per_page=10"
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            first = json.loads(await response.content.readline())
    finally:
        # Uvicorn's shutdown waits for the request to end: a stream that went on after
        # the client left would run to its last page first.
        server.should_exit = True
        await asyncio.wait_for(serving, TIMEOUT)
        listener.close()

    assert mock.backups(PROJECT, ADDON)[0]["id"] == first["id"]
    assert len(mock.requests) < 200
