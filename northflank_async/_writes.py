"""A write happens exactly once: never repeated blindly, settled by looking first.

The API has no idempotency keys, so a write whose answer was lost may or may not have
been carried out. :func:`write_once` sends a write and:

- repeats it at once (as a read would be) after a failure that proves the API did
  nothing: the connection could not be opened (nothing was sent), or a 429;
- after any other failure once the request may have reached the API (the connection
  dropped after sending, a read timeout, a 408 or 5xx), first asks ``settle()`` what
  happened: it returns what it found when the write was carried out, or
  :data:`NOT_DONE`, and only then is the write sent again (within the retry policy);
- once an attempt may have reached the API, a later refusal (a 404 for a delete that
  already happened, a 409 for an abort already under way) is settled the same way
  before it is raised.

Nothing here compares this machine's clock with the server's: ``settle`` decides from
what the API reports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs
from yarl import URL

from ._errors import APIConnectionError, APIStatusError, NorthflankError, RateLimitError
from ._log import logger
from ._retry import next_wait
from ._transport import Transport

__all__ = ["NOT_DONE", "Outcome", "may_have_acted", "nothing_was_done", "write_once"]


class _NotDone:
    """The type of :data:`NOT_DONE`."""

    def __repr__(self) -> str:
        return "NOT_DONE"


#: What ``settle()`` returns when the write was not carried out: send it again.
NOT_DONE: Final = _NotDone()


def nothing_was_done(failure: NorthflankError) -> bool:
    """Whether ``failure`` proves the API did nothing: no connection was opened, or a 429."""
    if isinstance(failure, RateLimitError):
        return True
    return isinstance(failure, APIConnectionError) and not failure.sent


def may_have_acted(failure: NorthflankError) -> bool:
    """Whether the request may have been carried out although no good answer came back.

    The connection dropped after sending, the answer was too slow, or a 408 or 5xx
    (a proxy's 502 says nothing of what the API behind it did).
    """
    if nothing_was_done(failure):
        return False
    if isinstance(failure, APIConnectionError):
        return True
    return isinstance(failure, APIStatusError) and (failure.status == 408 or failure.status >= 500)


@attrs.frozen
class Outcome:
    """How a write ended: the data of its answer, or what ``settle()`` found (``settled``)."""

    data: Any
    settled: bool = False


async def write_once(
    transport: Transport,
    method: str,
    url: URL,
    *,
    settle: Callable[[], Awaitable[Any]],
    json: Any = None,
) -> Outcome:
    """Send the write ``method url`` exactly once, as far as the API can tell.

    ``settle()`` reads what the API holds and returns what the write made (or
    :data:`NOT_DONE`); it runs only after a failure that may hide a carried-out write.
    Raises the write's error when it was refused, or when its attempts are spent.
    """
    attempt = 0
    uncertain = False
    while True:
        attempt += 1
        try:
            data, _ = await transport.request(method, url, json=json, retryable=nothing_was_done)
        except NorthflankError as failure:
            ambiguous = may_have_acted(failure)
            if ambiguous or uncertain:
                logger.warning(
                    "%s %s: %s; reading back whether it was carried out before anything else",
                    method,
                    transport.shown(url),
                    _what(failure),
                )
                found = await settle()
                if found is not NOT_DONE:
                    logger.warning(
                        "%s %s was carried out; not sending it again", method, transport.shown(url)
                    )
                    return Outcome(found, settled=True)
            if not ambiguous:
                raise
            uncertain = True
            wait = next_wait(transport.retry, failure, attempt, may_have_acted)
            if wait is None:
                raise
            logger.warning(
                "%s %s was not carried out; sending it again in %.2f s (attempt %d of %d)",
                method,
                transport.shown(url),
                wait,
                attempt + 1,
                transport.retry.max_attempts,
            )
            await transport.sleep(wait, method, url)
        else:
            return Outcome(data)


def _what(failure: NorthflankError) -> str:
    status = getattr(failure, "status", None)
    return f"status {status}" if status is not None else f"{type(failure).__name__}, no answer"
