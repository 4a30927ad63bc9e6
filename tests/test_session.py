"""NorthflankSession: configuration from arguments and environment, headers, lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from northflank_async import (
    AuthenticationError,
    ConfigurationError,
    NorthflankSession,
    NotFoundError,
    SessionClosedError,
    __version__,
)
from northflank_async.testing import MockNorthflank, RecordedRequest
from tests.conftest import ADDON, PROJECT, SessionFactory

WRONG_URL = "https://wrong.invalid"


def _headers(request: RecordedRequest) -> dict[str, str]:
    return {key.lower(): value for key, value in request.headers.items()}


async def _one_request(nf: NorthflankSession) -> None:
    await nf.get_backup_page(PROJECT, ADDON)


# -- token -------------------------------------------------------------------------------


async def test_token_argument_wins_over_the_environment(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token passed as argument is sent even when both variables are set."""
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "env-token-1")
    monkeypatch.setenv("NF_API_TOKEN", "env-token-2")
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
        await _one_request(nf)

    assert [True] == [request.authorized for request in mock.requests]


async def test_northflank_api_token_wins_over_nf_api_token(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no argument, NORTHFLANK_API_TOKEN is sent rather than NF_API_TOKEN."""
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", mock.token)
    monkeypatch.setenv("NF_API_TOKEN", "env-token-2")
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(base_url=mock.base_url) as nf:
        await _one_request(nf)

    assert [True] == [request.authorized for request in mock.requests]


@pytest.mark.parametrize("first", [None, ""])
async def test_nf_api_token_is_the_fallback(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch, first: str | None
) -> None:
    """NF_API_TOKEN is sent when NORTHFLANK_API_TOKEN is unset or empty."""
    if first is not None:
        monkeypatch.setenv("NORTHFLANK_API_TOKEN", first)
    monkeypatch.setenv("NF_API_TOKEN", mock.token)
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(base_url=mock.base_url) as nf:
        await _one_request(nf)

    assert [True] == [request.authorized for request in mock.requests]


async def test_wrong_environment_token_is_refused_by_the_api(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The variable's token really is what is sent: a wrong one gets a 401."""
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "env-token-1")
    monkeypatch.setenv("NF_API_TOKEN", mock.token)
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(base_url=mock.base_url) as nf:
        with pytest.raises(AuthenticationError):
            await _one_request(nf)

    assert [False] == [request.authorized for request in mock.requests]


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_is_a_configuration_error(token: str | None) -> None:
    """Without a token anywhere, building the session fails naming both variables."""
    with pytest.raises(ConfigurationError) as caught:
        NorthflankSession(token)

    assert "NORTHFLANK_API_TOKEN" in str(caught.value)
    assert "NF_API_TOKEN" in str(caught.value)


# -- base URL ----------------------------------------------------------------------------


def test_default_base_url() -> None:
    """Without argument or variable, the base URL is the public API."""
    nf = NorthflankSession("t")

    assert URL("https://api.northflank.com") == nf.base_url


async def test_base_url_argument_wins_over_the_environment(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A base URL passed as argument is used even when every variable is set."""
    for name in ("NORTHFLANK_API_BASE_URL", "NF_API_HOST", "NF_HOST"):
        monkeypatch.setenv(name, WRONG_URL)
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(mock.token, base_url=str(mock.base_url)) as nf:
        await _one_request(nf)

    assert mock.base_url == nf.base_url
    assert 1 == len(mock.requests)


@pytest.mark.parametrize(
    ("chosen", "lower"),
    [
        ("NORTHFLANK_API_BASE_URL", ["NF_API_HOST", "NF_HOST"]),
        ("NF_API_HOST", ["NF_HOST"]),
        ("NF_HOST", []),
    ],
)
async def test_base_url_variables_in_order(
    mock: MockNorthflank, monkeypatch: pytest.MonkeyPatch, chosen: str, lower: list[str]
) -> None:
    """The first base-URL variable set wins over the ones after it."""
    monkeypatch.setenv(chosen, str(mock.base_url))
    for name in lower:
        monkeypatch.setenv(name, WRONG_URL)
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(mock.token) as nf:
        await _one_request(nf)

    assert mock.base_url == nf.base_url
    assert 1 == len(mock.requests)


def test_host_without_scheme_is_https(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bare host in NF_HOST is read as an https:// URL."""
    monkeypatch.setenv("NF_HOST", "api.example.test")

    assert URL("https://api.example.test") == NorthflankSession("t").base_url


async def test_base_url_with_trailing_slash(mock: MockNorthflank) -> None:
    """A trailing slash on the base URL does not double the slash before ``/v1``."""
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(mock.token, base_url=f"{mock.base_url}/") as nf:
        await _one_request(nf)

    assert [f"/v1/projects/{PROJECT}/addons/{ADDON}/backups"] == [
        request.raw_path for request in mock.requests
    ]


async def test_base_url_path_prefix_is_kept(mock: MockNorthflank) -> None:
    """A base URL with a path (an API behind a proxy prefix) keeps it before ``/v1``."""
    async with NorthflankSession(mock.token, base_url=f"{mock.base_url}/nf-proxy/") as nf:
        with pytest.raises(NotFoundError):
            await _one_request(nf)

    assert [f"/nf-proxy/v1/projects/{PROJECT}/addons/{ADDON}/backups"] == [
        request.raw_path for request in mock.requests
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", 0),
        ("timeout", -1.0),
        ("timeout", float("inf")),
        ("timeout", float("nan")),
        ("max_concurrency", 0),
        ("max_concurrency", True),
        ("team_id", ""),
        ("team_id", ".."),
        ("team_id", 7),
    ],
)
def test_bad_options_are_configuration_errors(option: str, value: object) -> None:
    """A bad timeout, concurrency or team id fails as ConfigurationError when built."""
    with pytest.raises(ConfigurationError, match=option):
        NorthflankSession("t", **{option: value})  # type: ignore[arg-type]  # bad values on purpose


# -- headers -----------------------------------------------------------------------------


async def test_every_request_sends_the_headers(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Every request of a walk carries the bearer token, Accept and User-Agent headers."""
    mock.generate_backups(PROJECT, ADDON, 25)

    backups = [backup async for backup in nf.list_backups(PROJECT, ADDON, per_page=10)]

    assert 25 == len(backups)
    assert 3 == len(mock.requests)
    for request in mock.requests:
        headers = _headers(request)
        assert request.authorized
        assert "Bearer <redacted>" == headers["authorization"]
        assert "application/json" == headers["accept"]
        assert f"northflank-async/{__version__}" == headers["user-agent"]


async def test_user_agent_is_appended(mock: MockNorthflank, make_session: SessionFactory) -> None:
    """The caller's ``user_agent`` follows the SDK's own product token."""
    nf = await make_session(user_agent="backup-auditor/2.1")
    mock.generate_backups(PROJECT, ADDON, 1)

    await _one_request(nf)

    assert "northflank-async/0.1.0 backup-auditor/2.1" == _headers(mock.requests[0])["user-agent"]


# -- one connection pool -----------------------------------------------------------------


@pytest.fixture
async def peer_recording_mock() -> AsyncIterator[tuple[MockNorthflank, URL, list[object]]]:
    """A MockNorthflank served by a runner that records each request's client address."""
    mock = MockNorthflank()
    peers: list[object] = []

    async def record(request: web.Request, response: web.StreamResponse) -> None:
        transport = request.transport
        assert transport is not None
        peers.append(transport.get_extra_info("peername"))

    app = mock.make_app()
    app.on_response_prepare.append(record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        yield mock, URL.build(scheme="http", host="127.0.0.1", port=port), peers
    finally:
        await runner.cleanup()


async def test_sequential_walk_uses_one_connection(
    peer_recording_mock: tuple[MockNorthflank, URL, list[object]],
) -> None:
    """A walk without prefetch sends all its requests over one kept-alive TCP connection."""
    mock, base_url, peers = peer_recording_mock
    mock.generate_backups(PROJECT, ADDON, 95)

    async with NorthflankSession(mock.token, base_url=base_url) as nf:
        ids = [b.id async for b in nf.list_backups(PROJECT, ADDON, per_page=10, prefetch=False)]
        await _one_request(nf)

    assert 95 == len(ids)
    assert 11 == len(peers)
    assert 1 == len(set(peers))


# -- a session passed in -----------------------------------------------------------------


async def test_given_session_is_used_and_left_open(mock: MockNorthflank) -> None:
    """Requests go through the ``session=`` given, which stays open after close()."""
    mock.generate_backups(PROJECT, ADDON, 1)
    async with aiohttp.ClientSession(headers={"X-Probe": "given-session"}) as http:
        async with NorthflankSession(mock.token, base_url=mock.base_url, session=http) as nf:
            await _one_request(nf)

        assert nf.closed
        assert not http.closed
        assert "given-session" == _headers(mock.requests[0])["x-probe"]
        # Still usable by its owner after the SDK session closed.
        async with http.get(mock.base_url / "v1" / "projects") as response:
            assert 401 == response.status


async def test_given_session_raising_for_status_still_gives_status_errors(
    mock: MockNorthflank,
) -> None:
    """A ``session=`` built with raise_for_status=True still yields NotFoundError, sent once."""
    async with (
        aiohttp.ClientSession(raise_for_status=True) as http,
        NorthflankSession(mock.token, base_url=mock.base_url, session=http) as nf,
    ):
        with pytest.raises(NotFoundError):
            await nf.get_backup_page(PROJECT, "no-such-addon")

    assert 1 == len(mock.requests)


async def test_closed_given_session_is_a_session_closed_error(mock: MockNorthflank) -> None:
    """A ``session=`` its owner already closed raises SessionClosedError, not aiohttp's error."""
    http = aiohttp.ClientSession()
    await http.close()
    nf = NorthflankSession(mock.token, base_url=mock.base_url, session=http)

    with pytest.raises(SessionClosedError):
        await _one_request(nf)

    await nf.close()
    assert [] == mock.requests


# -- lifecycle ---------------------------------------------------------------------------


async def test_async_with_closes_the_owned_pool(mock: MockNorthflank) -> None:
    """Leaving ``async with`` closes the session and the connector it created."""
    mock.generate_backups(PROJECT, ADDON, 1)

    async with NorthflankSession(mock.token, base_url=mock.base_url) as nf:
        await _one_request(nf)
        # The pool has no public view: its closing is what this test is about.
        http = nf._transport._http
        assert http is not None
        connector = http.connector
        assert connector is not None
        closed_inside = nf.closed

    assert not closed_inside
    assert nf.closed
    assert http.closed
    assert connector.closed


async def test_close_without_async_with(mock: MockNorthflank) -> None:
    """``await nf.close()`` closes the pool; a second close is harmless."""
    mock.generate_backups(PROJECT, ADDON, 1)
    nf = NorthflankSession(mock.token, base_url=mock.base_url)
    await _one_request(nf)
    http = nf._transport._http
    assert http is not None

    await nf.close()
    await nf.close()

    assert nf.closed
    assert http.closed


async def test_a_second_close_waits_for_the_first(mock: MockNorthflank) -> None:
    """close() called while another close() runs returns only once the pool is closed."""
    mock.generate_backups(PROJECT, ADDON, 1)
    nf = NorthflankSession(mock.token, base_url=mock.base_url)
    await _one_request(nf)
    http = nf._transport._http
    assert http is not None

    first = asyncio.create_task(nf.close())
    await asyncio.sleep(0)  # the first close() is under way
    await nf.close()

    assert http.closed
    await first


async def test_close_before_any_request() -> None:
    """A session closed before it ever sent a request closes cleanly."""
    nf = NorthflankSession("t")

    await nf.close()

    assert nf.closed


async def test_requests_after_close_raise(mock: MockNorthflank) -> None:
    """A closed session refuses new requests with SessionClosedError and sends nothing."""
    nf = NorthflankSession(mock.token, base_url=mock.base_url)
    await nf.close()

    with pytest.raises(SessionClosedError):
        await _one_request(nf)
    with pytest.raises(SessionClosedError):
        async for _ in nf.list_backups(PROJECT, ADDON):
            pass

    assert [] == mock.requests


def test_repr_names_base_url_and_team() -> None:
    """The repr shows where the session points."""
    nf = NorthflankSession("t", team_id="example-team")

    assert (
        "NorthflankSession(base_url='https://api.northflank.com', team_id='example-team')"
        == repr(nf)
    )
