"""Inputs that cannot change the route, a base URL that cannot leak the token, and a token
that appears in no repr, message, chained exception, log record or redirected request."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from aiohttp import web
from yarl import URL

from northflank_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    NorthflankError,
    NorthflankSession,
    PaginationError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    SessionClosedError,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import ADDON, PROJECT, FakeSleep, SessionFactory, wait_until

#: Ids that must reach the server inside one path segment, and how they must arrive.
ENCODED_IDS = [
    ("a/b", "a%2Fb"),
    ("a%2Fb", "a%252Fb"),
    ("a?b=c", "a%3Fb%3Dc"),
    ("a#b", "a%23b"),
    ("a&b", "a%26b"),
    ("a b", "a%20b"),
    ("a\\b", "a%5Cb"),
    ("a+b;c", "a%2Bb%3Bc"),
    ("%", "%25"),
    ("zürich", "z%C3%BCrich"),
    ("日本", "%E6%97%A5%E6%9C%AC"),
    ("../admin", "..%2Fadmin"),
    ("...", "..."),
    ("a.b~c_d-e", "a.b~c_d-e"),
]

#: Ids refused before any request: empty, dot segments in any spelling, control characters.
REFUSED_IDS = [
    "",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2E%2e",
    ".%2e",
    "%252e%252e",
    "%25252E",
    "a\nb",
    "a\rb",
    "a\x00b",
    "\t",
    "a\x7fb",
    "a\x85b",
    "a%0Ab",
    "a%00",
]

SECRET = "nf-secret-token-7d41c2"


def url_id(value: str) -> str:
    """A readable test id for an id under test."""
    return repr(value)[1:-1] or "empty"


# -- ids stay inside their path segment -------------------------------------------------------


@pytest.mark.parametrize(("value", "encoded"), ENCODED_IDS, ids=[url_id(v) for v, _ in ENCODED_IDS])
async def test_project_and_addon_ids_are_one_encoded_segment(
    mock: MockNorthflank, nf: NorthflankSession, value: str, encoded: str
) -> None:
    """A project or addon id arrives percent-encoded in its own segment, and names the right one."""
    mock.generate_backups(value, ADDON, 2)
    mock.generate_backups(PROJECT, value, 3)
    assert 2 == len([b async for b in nf.list_backups(value, ADDON)])
    assert 3 == len([b async for b in nf.list_backups(PROJECT, value)])
    assert 1 == len([a async for a in nf.list_addons(value)])
    assert [
        f"/v1/projects/{encoded}/addons/{ADDON}/backups",
        f"/v1/projects/{PROJECT}/addons/{encoded}/backups",
        f"/v1/projects/{encoded}/addons",
    ] == [r.raw_path for r in mock.requests]


@pytest.mark.parametrize(("value", "encoded"), ENCODED_IDS, ids=[url_id(v) for v, _ in ENCODED_IDS])
async def test_team_ids_are_one_encoded_segment(
    mock: MockNorthflank, make_session: SessionFactory, value: str, encoded: str
) -> None:
    """A team id, per call or per session, arrives percent-encoded in its own segment."""
    mock.team_id = value
    mock.generate_backups(PROJECT, ADDON, 2)
    nf = await make_session()
    assert 2 == len([b async for b in nf.list_backups(PROJECT, ADDON, team_id=value)])
    assert 1 == len([p async for p in nf.list_projects(team_id=value)])
    team_nf = await make_session(team_id=value)
    assert 1 == len([a async for a in team_nf.list_addons(PROJECT)])
    assert [
        f"/v1/teams/{encoded}/projects/{PROJECT}/addons/{ADDON}/backups",
        f"/v1/teams/{encoded}/projects",
        f"/v1/teams/{encoded}/projects/{PROJECT}/addons",
    ] == [r.raw_path for r in mock.requests]


Call = Callable[[NorthflankSession, str], object]

ID_CALLS: list[tuple[str, Call]] = [
    ("list_backups-project", lambda nf, v: nf.list_backups(v, ADDON)),
    ("list_backups-addon", lambda nf, v: nf.list_backups(PROJECT, v)),
    ("list_backups-team", lambda nf, v: nf.list_backups(PROJECT, ADDON, team_id=v)),
    ("list_backup_pages-addon", lambda nf, v: nf.list_backup_pages(PROJECT, v)),
    ("list_addons-project", lambda nf, v: nf.list_addons(v)),
    ("list_projects-team", lambda nf, v: nf.list_projects(team_id=v)),
]


@pytest.mark.parametrize("value", REFUSED_IDS, ids=[url_id(v) for v in REFUSED_IDS])
@pytest.mark.parametrize("call", [c for _, c in ID_CALLS], ids=[n for n, _ in ID_CALLS])
async def test_route_changing_ids_are_refused_before_any_request(
    mock: MockNorthflank, nf: NorthflankSession, call: Call, value: str
) -> None:
    """An empty, dot-segment or control-character id raises ValueError when the walk is made."""
    with pytest.raises(ValueError, match="must"):
        call(nf, value)
    assert [] == mock.requests


@pytest.mark.parametrize("value", ["..", "%2E%2e", "a\nb"])
async def test_route_changing_ids_are_refused_by_single_page_calls(
    mock: MockNorthflank, nf: NorthflankSession, value: str
) -> None:
    """get_backup_page refuses a route-changing id without a request, too."""
    with pytest.raises(ValueError, match="must"):
        await nf.get_backup_page(PROJECT, value)
    assert [] == mock.requests


@pytest.mark.parametrize("value", [None, 5, b"addon"])
async def test_non_string_ids_are_refused(
    mock: MockNorthflank, nf: NorthflankSession, value: object
) -> None:
    """An id that is not a string raises ValueError before any request."""
    with pytest.raises(ValueError, match="must be a non-empty string"):
        nf.list_backups(PROJECT, value)  # type: ignore[arg-type]  # deliberately wrong type
    assert [] == mock.requests


@pytest.mark.parametrize("value", ["..", "%2e", "a\rb", ""])
def test_route_changing_session_team_id_is_refused(value: str) -> None:
    """A session's team_id is checked like any id, when the session is built."""
    with pytest.raises(ValueError, match="team_id"):
        NorthflankSession(SECRET, team_id=value)


# -- the base URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.northflank.com", "https://api.northflank.com"),
        ("api.northflank.com", "https://api.northflank.com"),
        ("https://proxy.example.com/northflank", "https://proxy.example.com/northflank"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.200.3.4", "http://127.200.3.4"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://LOCALHOST", "http://localhost"),
    ],
)
def test_safe_base_urls_are_accepted(base_url: str, expected: str) -> None:
    """https:// anywhere, and plain http:// for loopback hosts, are accepted."""
    assert URL(expected) == NorthflankSession(SECRET, base_url=base_url).base_url


@pytest.mark.parametrize(
    "base_url",
    [
        "http://api.northflank.com",
        "http://10.0.0.1",
        "http://0.0.0.0:8080",
        "http://[::2]",
        "http://128.0.0.1",
        "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
        "http://api.localhost",
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "https://user:pw@api.northflank.com",
        "https://api.northflank.com?x=1",
        "https://",
    ],
)
def test_unsafe_base_urls_are_refused(base_url: str) -> None:
    """Plain http:// to a host that is not loopback, other schemes and credentials are refused."""
    with pytest.raises(ConfigurationError) as caught:
        NorthflankSession(SECRET, base_url=base_url)
    assert SECRET not in str(caught.value)
    assert "pw" not in str(caught.value)


# -- the token ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "secret-part\r\nX-Injected: 1",
        "secret-part\n",
        "secret-part\r",
        "secret-part\x00",
        "secret-part\x7f",
        "secret-part\x1b[31m",
        "secret-part extra",
    ],
)
def test_token_with_control_characters_is_refused_without_echo(token: str) -> None:
    """A token holding CR, LF, other controls or spaces is refused; the error never echoes it."""
    with pytest.raises(ConfigurationError) as caught:
        NorthflankSession(token)
    for text in (str(caught.value), repr(caught.value), repr(caught.value.args)):
        assert "secret-part" not in text


def test_token_is_not_in_the_session_repr() -> None:
    """repr() and str() of a session show its base URL, never the token."""
    nf = NorthflankSession(SECRET, team_id="example-team")
    assert (
        "NorthflankSession(base_url='https://api.northflank.com', team_id='example-team')"
        == repr(nf)
    )
    assert SECRET not in str(nf)


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception chained beneath it, by __cause__ or __context__."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def assert_token_absent(error: BaseException, token: str) -> None:
    """Neither ``error`` nor anything chained beneath it shows ``token`` in any form."""
    for link in chain(error):
        for text in (str(link), repr(link), repr(link.args), repr(vars(link))):
            assert token not in text, f"{type(link).__name__} shows the token"


@pytest.fixture
async def secret_mock() -> AsyncIterator[MockNorthflank]:
    """A MockNorthflank expecting SECRET, with three pages of backups for PROJECT/ADDON."""
    async with MockNorthflank(token=SECRET) as server:
        server.generate_backups(PROJECT, ADDON, 15)
        yield server


@pytest.fixture
async def secret_nf(secret_mock: MockNorthflank) -> AsyncIterator[NorthflankSession]:
    """A session holding SECRET against ``secret_mock``, retrying through a fake sleep."""
    async with NorthflankSession(
        SECRET, base_url=secret_mock.base_url, retry=RetryPolicy(sleep=FakeSleep()), timeout=0.2
    ) as nf:
        yield nf


async def walk(nf: NorthflankSession) -> None:
    """Walk every backup of PROJECT/ADDON, five per page."""
    async for _ in nf.list_backups(PROJECT, ADDON, per_page=5):
        pass


Plan = Callable[[MockNorthflank], object]
Run = Callable[[MockNorthflank, NorthflankSession], Awaitable[None]]


async def just_walk(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Walk as planned."""
    await walk(nf)


async def walk_closed_port(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Walk against a closed loopback port with SECRET."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with NorthflankSession(
        SECRET, base_url=f"http://127.0.0.1:{port}", retry=RetryPolicy(sleep=FakeSleep())
    ) as other:
        await walk(other)


async def walk_then_close(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """Close the session while its walk waits on a stalled request."""
    task = asyncio.create_task(walk(nf))
    await wait_until(lambda: 2 == len(mock.requests) and 1 == mock.in_flight)
    await nf.close()
    await task


PROVOKED: list[tuple[str, type[NorthflankError], Plan, Run]] = [
    ("401", AuthenticationError, lambda m: m.faults.fail(1, 401), just_walk),
    ("503", ServerError, lambda m: m.faults.fail(range(2, 6), 503), just_walk),
    ("429", RateLimitError, lambda m: m.faults.fail(2, 429, retry_after="999"), just_walk),
    (
        "html-502",
        ServerError,
        lambda m: m.faults.fail(range(1, 5), 502, body="<h1>x</h1>"),
        just_walk,
    ),
    (
        "redirect",
        APIStatusError,
        lambda m: m.faults.redirect(1, "https://elsewhere.example/"),
        just_walk,
    ),
    ("drop", APIConnectionError, lambda m: m.faults.drop(range(1, 9)), just_walk),
    ("refused", APIConnectionError, lambda m: None, walk_closed_port),
    ("timeout", APITimeoutError, lambda m: m.faults.stall(range(1, 5), 5), just_walk),
    ("bad-json", ResponseValidationError, lambda m: m.faults.bad_json(2), just_walk),
    (
        "no-data",
        ResponseValidationError,
        lambda m: m.faults.bad_json(1, b'{"data": {}}'),
        just_walk,
    ),
    ("repeat-cursor", PaginationError, lambda m: m.faults.repeat_cursor(2), just_walk),
    ("omit-cursor", PaginationError, lambda m: m.faults.omit_cursor(2), just_walk),
    ("closed", SessionClosedError, lambda m: m.faults.stall(2, 5), walk_then_close),
]


@pytest.mark.parametrize(
    ("expected", "plan", "run"),
    [(e, p, r) for _, e, p, r in PROVOKED],
    ids=[n for n, _, _, _ in PROVOKED],
)
async def test_token_is_in_no_error_and_no_log_record(
    secret_mock: MockNorthflank,
    secret_nf: NorthflankSession,
    caplog: pytest.LogCaptureFixture,
    expected: type[NorthflankError],
    plan: Plan,
    run: Run,
) -> None:
    """Each kind of error, all it chains and every DEBUG log record are free of the token."""
    caplog.set_level(logging.DEBUG, logger="northflank_async")
    plan(secret_mock)
    with pytest.raises(expected) as caught:
        await run(secret_mock, secret_nf)
    assert expected is type(caught.value)
    assert_token_absent(caught.value, SECRET)
    assert caplog.records
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in repr(record.args)


async def test_wrong_token_is_not_in_the_authentication_error(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """A 401 for a wrong token does not show that token either."""
    mock.generate_backups(PROJECT, ADDON, 1)
    nf = await make_session(token="nf-wrong-token-123")
    with pytest.raises(AuthenticationError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert_token_absent(caught.value, "nf-wrong-token-123")
    assert not mock.requests[0].authorized


async def test_token_is_sent_as_a_bearer_header(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """The token travels only in the Authorization header, never in the URL."""
    mock.generate_backups(PROJECT, ADDON, 1)
    await nf.get_backup_page(PROJECT, ADDON)
    request = mock.requests[0]
    assert request.authorized
    assert mock.token not in request.raw_path + request.raw_query


# -- redirects are not followed ------------------------------------------------------------


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[URL, list[dict[str, str]]]]:
    """A second loopback server, on another port, recording the headers of each request."""
    received: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append(dict(request.headers))
        return web.json_response({"data": {"backups": []}, "pagination": {"hasNextPage": False}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield URL.build(scheme="http", host="127.0.0.1", port=int(runner.addresses[0][1])), received
    await runner.cleanup()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_is_not_followed(
    mock: MockNorthflank,
    nf: NorthflankSession,
    fake_sleep: FakeSleep,
    elsewhere: tuple[URL, list[dict[str, str]]],
    status: int,
) -> None:
    """A 3xx raises APIStatusError naming the Location; the other host gets no request."""
    other, received = elsewhere
    location = f"{other}/v1/projects/{PROJECT}/addons/{ADDON}/backups"
    mock.generate_backups(PROJECT, ADDON, 1)
    mock.faults.redirect(1, location, status=status)
    with pytest.raises(APIStatusError) as caught:
        await nf.get_backup_page(PROJECT, ADDON)
    assert APIStatusError is type(caught.value)
    assert status == caught.value.status
    assert f"redirect to {location} not followed" in str(caught.value)
    assert [] == received
    assert 1 == len(mock.requests)
    assert [] == fake_sleep.waits
