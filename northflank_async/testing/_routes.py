"""The route table: how an API family declares its routes, and how a path finds one.

A family module makes a ``Routes`` and declares each handler on it::

    routes = Routes()

    @routes.get("/projects/{projectId}/addons")
    def list_addons(call: Call) -> JSONDict:
        ...

Patterns are relative to ``/v1``; each route is also served under
``/v1/teams/{teamId}``. A ``{name}`` segment matches one percent-decoded path
segment (so ``a%2Fb`` is the one id ``a/b``) and is passed as ``call.params[name]``.
A handler returns the JSON to send with status 200, or raises ``ApiError``. The
mock serves a ``RouteTable`` of every family's ``Routes``; families never see each
other's routes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from ._http import JSONDict, RecordedRequest
from ._pagination import page
from ._storage import MockStorage
from ._store import Store

_NO_PARAMS: Final[Mapping[str, str]] = {}


@dataclass(frozen=True, slots=True)
class Call:
    """What a handler gets: the request, its path parameters and body, and the store."""

    record: RecordedRequest
    params: Mapping[str, str]
    """The pattern's ``{name}`` segments, percent-decoded."""
    body: bytes
    """The request body (``b""`` without one)."""
    store: Store
    default_per_page: int
    repeat_cursor: bool = False
    omit_cursor: bool = False
    storage: MockStorage | None = None
    """The mock's storage origin, which issues download links (``None``: there is none)."""

    def page(
        self, name: str, key: Sequence[str], items: Sequence[JSONDict], sizes: Sequence[int] = ()
    ) -> JSONDict:
        """The page of ``items`` the query asks for, listed as ``name``, cursors keyed ``key``."""
        return page(
            self.record.query,
            name,
            key,
            items,
            sizes=sizes,
            default_per_page=self.default_per_page,
            repeat_cursor=self.repeat_cursor,
            omit_cursor=self.omit_cursor,
        )


Handler = Callable[[Call], JSONDict]


@dataclass(frozen=True, slots=True)
class Route:
    """One method on one path pattern, and its handler."""

    method: str
    pattern: str
    handler: Handler
    literals: tuple[tuple[int, str], ...]
    """(position, text) of each literal segment."""
    names: tuple[tuple[int, str], ...]
    """(position, name) of each ``{name}`` segment."""
    length: int


def _parse(pattern: str) -> tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...], int]:
    """(literals, names, segment count) of ``pattern``; ``ValueError`` if it is malformed."""
    if not pattern.startswith("/") or pattern.endswith("/"):
        raise ValueError(f"a pattern starts with / and does not end with one: {pattern!r}")
    literals: list[tuple[int, str]] = []
    names: list[tuple[int, str]] = []
    segments = pattern[1:].split("/")
    for position, segment in enumerate(segments):
        if segment.startswith("{") and segment.endswith("}") and len(segment) > 2:
            names.append((position, segment[1:-1]))
        elif segment and "{" not in segment and "}" not in segment:
            literals.append((position, segment))
        else:
            raise ValueError(f"bad segment {segment!r} in pattern {pattern!r}")
    if len({name for _, name in names}) != len(names):
        raise ValueError(f"a parameter name repeats in pattern {pattern!r}")
    return tuple(literals), tuple(names), len(segments)


class Routes:
    """One API family's routes, declared with the ``get``/``post``/``delete`` decorators."""

    def __init__(self) -> None:
        """No routes yet."""
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Declare the decorated function as the handler of ``method`` on ``pattern``."""
        literals, names, length = _parse(pattern)

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method.upper(), pattern, handler, literals, names, length))
            return handler

        return register

    def get(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a GET handler."""
        return self.add("GET", pattern)

    def post(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a POST handler."""
        return self.add("POST", pattern)

    def delete(self, pattern: str) -> Callable[[Handler], Handler]:
        """Declare a DELETE handler."""
        return self.add("DELETE", pattern)


@dataclass(frozen=True, slots=True)
class Match:
    """Where a request's path leads: a route, or the methods the path does allow."""

    route: Route | None
    """The route for this method and path; ``None`` when there is none."""
    params: Mapping[str, str]
    allowed: tuple[str, ...]
    """The methods some route serves on this path (sorted; empty: unknown path)."""
    team: str | None
    """The ``{teamId}`` of a ``/v1/teams/{teamId}/...`` path."""


def split_path(raw_path: str) -> tuple[str | None, list[str]] | None:
    """(team id or None, decoded segments after ``/v1`` and the team), or None off ``/v1``."""
    segments = [unquote(s) for s in raw_path.split("/")]
    if segments[0] != "" or segments[1:2] != ["v1"]:
        return None
    rest = segments[2:]
    if rest[:1] == ["teams"] and len(rest) >= 3:
        return rest[1], rest[2:]
    return None, rest


class RouteTable:
    """The routes of several families, found by method and path."""

    def __init__(self, *families: Routes) -> None:
        """Serve every route of ``families``; a method declared twice on a pattern is refused."""
        self._by_length: dict[int, list[Route]] = {}
        seen: set[tuple[str, tuple[tuple[int, str], ...], int]] = set()
        for family in families:
            for route in family.routes:
                # Parameter names do not matter: /a/{x} and /a/{y} are the same path.
                shape = (route.method, route.literals, route.length)
                if shape in seen:
                    raise ValueError(f"{route.method} {route.pattern} is declared twice")
                seen.add(shape)
                self._by_length.setdefault(route.length, []).append(route)

    def find(self, raw_path: str, method: str) -> Match:
        """The route for ``method`` on ``raw_path``: the first declared whose pattern fits."""
        split = split_path(raw_path)
        if split is None:
            return Match(None, _NO_PARAMS, (), None)
        team, segments = split
        allowed: set[str] = set()
        for route in self._by_length.get(len(segments), ()):
            if all(segments[position] == text for position, text in route.literals):
                if route.method == method:
                    params = {name: segments[position] for position, name in route.names}
                    return Match(route, params, (), team)
                allowed.add(route.method)
        return Match(None, _NO_PARAMS, tuple(sorted(allowed)), team)
