"""The cursor walk, written once and generic over the item type.

A list endpoint is declared in a few lines (:class:`ListEndpoint`: its route, the JSON
key of its items, its model and page class); :func:`walk_pages` follows any of them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import Any, Generic, TypeVar

import attrs
from yarl import URL

from ._checks import is_int
from ._convert import structure_items, structure_one
from ._errors import (
    NorthflankError,
    PaginationError,
    ResponseValidationError,
    SessionClosedError,
    display_url,
    excerpt,
    redact,
    safe_repr,
)
from ._models import Page, Pagination, RateLimit
from ._transport import Transport

__all__ = [
    "MAX_EMPTY_PAGES",
    "MAX_PER_PAGE",
    "ListEndpoint",
    "PageQuery",
    "iter_items",
    "walk_pages",
]

T = TypeVar("T")
P = TypeVar("P", bound=Page[Any])

MAX_PER_PAGE = 100
#: Consecutive empty pages that say there is more after which a walk gives up with
#: PaginationError: a server that sends nothing but fresh cursors would be followed
#: forever, and no ``max_items`` could stop it.
MAX_EMPTY_PAGES = 100


def _digest(cursor: str) -> bytes:
    """A fixed-size fingerprint of a cursor: a walk remembers these, not the cursors."""
    return hashlib.blake2b(cursor.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@attrs.frozen
class PageQuery:
    """Where a walk starts and how large its pages are; checked when built."""

    per_page: int = MAX_PER_PAGE
    page: int | None = None
    cursor: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    """Further query parameters every page of the walk carries (a route's own filters)."""

    def __attrs_post_init__(self) -> None:
        if not is_int(self.per_page) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(
                f"per_page must be an int from 1 to {MAX_PER_PAGE}, got {self.per_page!r}"
            )
        if self.page is not None and (not is_int(self.page) or self.page < 1):
            raise ValueError(f"page must be an int >= 1, got {self.page!r}")
        if self.cursor is not None and (not isinstance(self.cursor, str) or not self.cursor):
            raise ValueError(f"cursor must be a non-empty string, got {self.cursor!r}")
        if self.page is not None and self.cursor is not None:
            raise ValueError("give page or cursor, not both: a cursor already says where to go on")

    def params(self, cursor: str | None = None) -> dict[str, str]:
        """The query string for the first page, or for the page of ``cursor``."""
        query = {"per_page": str(self.per_page), **dict(self.extra)}
        if cursor is not None:
            query["cursor"] = cursor
        elif self.cursor is not None:
            query["cursor"] = self.cursor
        elif self.page is not None:
            query["page"] = str(self.page)
        return query


@attrs.frozen
class ListEndpoint(Generic[T, P]):
    """A list route of the API: everything the generic walk needs to know about it."""

    route: str
    """The path below ``/v1``, with ``{name}`` for each path parameter (see ``Client.url``)."""
    items_key: str
    """The key of the item list under ``data``."""
    item_type: type[T]
    page_type: Callable[[list[T], Pagination, RateLimit | None], P]

    def parse(self, data: Any, rate_limit: RateLimit | None, url: URL) -> P:
        """The page in a response's parsed JSON ``data``."""
        items, pagination = self.split(data, url)
        return self.build(items, pagination, rate_limit, url)

    def split(self, data: Any, url: URL) -> tuple[list[Any], Mapping[str, Any]]:
        """The raw item list and pagination object of a response, checked for shape only."""
        items = data.get("data") if isinstance(data, dict) else None
        items = items.get(self.items_key) if isinstance(items, dict) else None
        pagination = data.get("pagination") if isinstance(data, dict) else None
        if type(items) is not list or not isinstance(pagination, dict):
            missing = f"data.{self.items_key}" if type(items) is not list else "pagination"
            raise ResponseValidationError(
                f"GET {display_url(url)}: the answer has no valid {missing}: {safe_repr(data)}",
                url=str(url),
                path=missing,
            )
        return items, pagination

    def build(
        self,
        items: list[Any],
        pagination: Mapping[str, Any],
        rate_limit: RateLimit | None,
        url: URL,
    ) -> P:
        """Structure one page's raw parts into its page class."""
        structured = structure_items(
            items, self.item_type, url=str(url), path=f"data.{self.items_key}"
        )
        paging = structure_one(pagination, Pagination, url=str(url), path="pagination")
        return self.page_type(structured, paging, rate_limit)


async def _result(task: asyncio.Task[T], transport: Transport, url: URL) -> T:
    """Await the prefetch of ``url``; its cancellation by ``transport.close()`` becomes an error."""
    try:
        return await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if transport.closed and task.cancelled() and not (current and current.cancelling()):
            raise SessionClosedError(
                f"GET {transport.shown(url)}: the NorthflankSession was closed during the walk"
            ) from None
        raise


async def _discard(task: asyncio.Task[Any] | None) -> None:
    """Cancel a prefetch no one will read, wait for it to let go of its connection."""
    if task is None:
        return
    if not task.done():
        task.cancel()
        await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # mark it retrieved: the walk is over, no one will read it


async def walk_pages(
    transport: Transport,
    endpoint: ListEndpoint[T, P],
    url: URL,
    query: PageQuery,
    *,
    max_items: int | None = None,
    prefetch: bool = True,
) -> AsyncGenerator[P, None]:
    """Yield every page from ``query``'s start until ``hasNextPage`` is false.

    The next page is requested as soon as this page's JSON is parsed (with
    ``prefetch``), so the server works while this page is structured and consumed. No
    page is requested past ``max_items`` items. A cursor seen before, a next page
    without a cursor, or the :data:`MAX_EMPTY_PAGES` th empty page in a row that says
    there is more, raises PaginationError after the page that carried it is yielded.
    Every error that leaves the walk is scrubbed of the session's token.
    """
    seen: set[bytes] = set()
    if query.cursor is not None:
        seen.add(_digest(query.cursor))
    empty_run = 0
    page_number = query.page or 1
    remaining = max_items
    request_url = url.with_query(query.params())
    pending: asyncio.Task[tuple[Any, RateLimit | None]] | None = None
    if prefetch:
        pending = transport.spawn(transport.get_json(request_url))
    try:
        while True:
            if pending is not None:
                data, rate_limit = await _result(pending, transport, request_url)
                pending = None
            else:
                data, rate_limit = await transport.get_json(request_url)
            items, pagination = endpoint.split(data, request_url)
            if remaining is not None:
                remaining -= len(items)
            has_next = pagination.get("hasNextPage") is True
            go_on = has_next and (remaining is None or remaining > 0)
            next_cursor = pagination.get("cursor")
            empty_run = empty_run + 1 if has_next and not items else 0
            digest = _digest(next_cursor) if isinstance(next_cursor, str) else b""
            problem: str | None = None
            if go_on and not (isinstance(next_cursor, str) and next_cursor):
                problem = "hasNextPage is true but the answer has no cursor"
            elif go_on and digest in seen:
                problem = (
                    f"the cursor {excerpt(str(next_cursor), 60)!r} was already used by this walk"
                )
            elif go_on and empty_run >= MAX_EMPTY_PAGES:
                problem = (
                    f"{empty_run} pages in a row were empty yet said there is more "
                    f"(the limit is {MAX_EMPTY_PAGES})"
                )
            next_url = request_url
            if go_on and problem is None:
                assert isinstance(next_cursor, str)
                seen.add(digest)
                next_url = url.with_query(query.params(next_cursor))
                if prefetch:
                    pending = transport.spawn(transport.get_json(next_url))
                    # One turn of the event loop sends the request; without it, nothing
                    # would be sent before the consumer next awaits something real.
                    await asyncio.sleep(0)
            yield endpoint.build(items, pagination, rate_limit, request_url)
            if problem is not None:
                raise PaginationError(
                    f"page {page_number} of GET {display_url(request_url)}: {problem}; "
                    "stopped so as not to loop",
                    url=str(request_url),
                    page=page_number,
                )
            if not go_on:
                return
            page_number += 1
            request_url = next_url
    except NorthflankError as error:
        redact(error, transport.secrets)  # a message may quote the server's data
        raise
    finally:
        await _discard(pending)


async def iter_items(
    pages: AsyncGenerator[P, None], max_items: int | None
) -> AsyncGenerator[Any, None]:
    """The items of ``pages`` one by one, stopping after ``max_items``."""
    async with aclosing(pages):
        if max_items == 0:
            return
        count = 0
        async for page in pages:
            for item in page.items:
                yield item
                count += 1
                if count == max_items:
                    return
