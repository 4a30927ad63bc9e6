"""What every API family needs of a session: its transport, base URL and team.

A family module (backups, projects and addons, the team-wide stream) declares its
routes and works through a :class:`Client`; it never sees the session itself, so the
session can import every family and no family imports the session.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import attrs
from yarl import URL

from ._checks import check_max_items, path_segment
from ._convert import structure_one
from ._errors import NorthflankError, ResponseValidationError, display_url, redact, safe_repr
from ._models import Page
from ._pagination import ListEndpoint, PageQuery, iter_items, walk_pages
from ._transport import Transport

__all__ = ["Client"]

T = TypeVar("T")
P = TypeVar("P", bound=Page[Any])


@attrs.frozen
class Client:
    """A session's transport, base URL and default team, as its API families use them."""

    transport: Transport
    base_url: URL
    team_id: str | None

    def url(self, route: str, ids: Mapping[str, str], team_id: str | None = None) -> URL:
        """The URL of ``route`` (below ``/v1``) with each ``{name}`` an encoded id.

        In its team form (``/v1/teams/{team}/...``) when ``team_id``, or else the
        session's team, is set. An id that could change the route raises ValueError.
        """
        team = team_id if team_id is not None else self.team_id
        path = route.format_map({name: path_segment(name, value) for name, value in ids.items()})
        if team is not None:
            path = f"/teams/{path_segment('team_id', team)}{path}"
        base = self.base_url
        return base.with_path(base.raw_path.rstrip("/") + "/v1" + path, encoded=True)

    def pages(
        self,
        endpoint: ListEndpoint[T, P],
        ids: Mapping[str, str],
        team_id: str | None,
        query: PageQuery,
        *,
        prefetch: bool,
        max_items: int | None = None,
    ) -> AsyncGenerator[P, None]:
        """Every page of a list endpoint from ``query``'s start; arguments are checked now."""
        check_max_items(max_items)
        url = self.url(endpoint.route, ids, team_id)
        return walk_pages(
            self.transport, endpoint, url, query, max_items=max_items, prefetch=prefetch
        )

    def items(
        self,
        endpoint: ListEndpoint[T, P],
        ids: Mapping[str, str],
        team_id: str | None,
        query: PageQuery,
        *,
        prefetch: bool,
        max_items: int | None,
    ) -> AsyncGenerator[T, None]:
        """Every item of a list endpoint, stopping after ``max_items``; arguments checked now."""
        check_max_items(max_items)
        pages = self.pages(endpoint, ids, team_id, query, prefetch=prefetch, max_items=max_items)
        return iter_items(pages, max_items)

    async def page(
        self,
        endpoint: ListEndpoint[T, P],
        ids: Mapping[str, str],
        team_id: str | None,
        query: PageQuery,
    ) -> P:
        """One page of a list endpoint, in one request (plus retries)."""
        url = self.url(endpoint.route, ids, team_id).with_query(query.params())
        data, rate_limit = await self.transport.get_json(url)
        try:
            return endpoint.parse(data, rate_limit, url)
        except NorthflankError as error:
            redact(error, self.transport.secrets)  # a message may quote the server's data
            raise

    def data(self, answer: Any, method: str, url: URL) -> dict[str, Any]:
        """The ``data`` object of an answer, or ResponseValidationError (scrubbed)."""
        inner = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(inner, dict):
            error = ResponseValidationError(
                f"{method} {display_url(url)}: the answer has no data object: {safe_repr(answer)}",
                url=str(url),
                path="data",
            )
            redact(error, self.transport.secrets)
            raise error
        return inner

    def one(self, answer: Any, tp: type[T], method: str, url: URL) -> T:
        """The model in an answer's ``data``, or ResponseValidationError naming the bad value."""
        try:
            return structure_one(
                self.data(answer, method, url), tp, url=str(url), path="data", method=method
            )
        except NorthflankError as error:
            redact(error, self.transport.secrets)
            raise
