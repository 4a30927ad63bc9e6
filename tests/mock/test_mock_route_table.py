"""The mock's route table: how families declare routes and how a path finds its route."""

from __future__ import annotations

import re

import pytest

from northflank_async.testing._http import JSONDict
from northflank_async.testing._routes import Call, Match, Routes, RouteTable


def answer(name: str) -> JSONDict:
    """A handler's answer naming the handler, to tell handlers apart."""
    return {"handler": name}


def things() -> Routes:
    """A family serving GET, POST and DELETE on ``/things/{thingId}`` and GET on ``/things``."""
    routes = Routes()

    @routes.get("/things")
    def list_things(call: Call) -> JSONDict:
        return answer("list")

    @routes.get("/things/{thingId}")
    def get_thing(call: Call) -> JSONDict:
        return answer("get")

    @routes.post("/things/{thingId}")
    def post_thing(call: Call) -> JSONDict:
        return answer("post")

    @routes.delete("/things/{thingId}")
    def delete_thing(call: Call) -> JSONDict:
        return answer("delete")

    return routes


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("things", "a pattern starts with / and does not end with one: 'things'"),
        ("/things/", "a pattern starts with / and does not end with one: '/things/'"),
        ("/things//x", "bad segment '' in pattern '/things//x'"),
        ("/things/{}", "bad segment '{}' in pattern '/things/{}'"),
        ("/things/a{b}", "bad segment 'a{b}' in pattern '/things/a{b}'"),
        ("/{a}/x/{a}", "a parameter name repeats in pattern '/{a}/x/{a}'"),
    ],
)
def test_routes_refuse_bad_patterns(pattern: str, message: str) -> None:
    """A pattern must be absolute, without empty or half-braced segments or repeated names."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Routes().get(pattern)


def test_a_method_declared_twice_on_one_path_is_refused() -> None:
    """Two families declaring one method on the same path (names aside) cannot be combined."""
    first, second = Routes(), Routes()
    first.get("/things/{a}")(lambda call: answer("a"))
    second.get("/things/{b}")(lambda call: answer("b"))
    second.post("/things/{b}")(lambda call: answer("post"))
    RouteTable(first)
    with pytest.raises(ValueError, match=r"^GET /things/\{b\} is declared twice$"):
        RouteTable(first, second)


@pytest.mark.parametrize(
    ("path", "method", "handler", "params", "team"),
    [
        ("/v1/things", "GET", "list", {}, None),
        ("/v1/things/a%2Fb", "GET", "get", {"thingId": "a/b"}, None),
        ("/v1/things/x", "POST", "post", {"thingId": "x"}, None),
        ("/v1/teams/t/things/x", "DELETE", "delete", {"thingId": "x"}, "t"),
        ("/v1/%74hings", "GET", "list", {}, None),
    ],
)
def test_find_picks_the_route_and_decodes_parameters(
    path: str, method: str, handler: str, params: dict[str, str], team: str | None
) -> None:
    """A path finds its method's route, with decoded parameters and the team it names."""
    match = RouteTable(things()).find(path, method)
    assert match.route is not None
    assert (answer(handler), params, (), team) == (
        match.route.handler(None),  # type: ignore[arg-type]  # these handlers ignore the call
        match.params,
        match.allowed,
        match.team,
    )


@pytest.mark.parametrize(
    ("path", "method", "expected"),
    [
        ("/v1/things/x", "PUT", Match(None, {}, ("DELETE", "GET", "POST"), None)),
        ("/v1/teams/t/things", "POST", Match(None, {}, ("GET",), "t")),
        ("/v1/nothing", "GET", Match(None, {}, (), None)),
        ("/v1/teams/t/nothing", "GET", Match(None, {}, (), "t")),
        ("/v1/things/x/y", "GET", Match(None, {}, (), None)),
        ("/v2/things", "GET", Match(None, {}, (), None)),
        ("things", "GET", Match(None, {}, (), None)),
    ],
)
def test_find_without_a_route_says_what_the_path_allows(
    path: str, method: str, expected: Match
) -> None:
    """Without a route, the match lists the methods the path serves (none: an unknown path)."""
    assert expected == RouteTable(things()).find(path, method)


def test_the_first_declared_fitting_route_wins() -> None:
    """Where a literal and a parameter pattern both fit, the one declared first serves."""
    routes = Routes()
    routes.get("/things/{thingId}")(lambda call: answer("any"))
    routes.get("/things/special")(lambda call: answer("special"))
    match = RouteTable(routes).find("/v1/things/special", "GET")
    assert match.route is not None
    assert answer("any") == match.route.handler(None)  # type: ignore[arg-type]  # ignored call
