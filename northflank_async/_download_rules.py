"""The pure rules of a download: which links and redirects are acceptable, how a link is
shown and scrubbed, what ``Content-Range`` says, what a downloaded file is named, and
when progress is reported. No I/O.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from yarl import URL

from ._checks import CONTROL
from ._config import is_loopback
from ._errors import ResponseValidationError, display_url, excerpt, secret_forms

__all__ = [
    "ContentRange",
    "Progress",
    "ProgressCallback",
    "allowed_target",
    "check_link",
    "file_extension",
    "link_secrets",
    "parse_content_range",
    "plain",
    "unsatisfied_total",
    "where",
]

#: ``progress(done_bytes, total_bytes_or_None)``, called as bytes arrive.
ProgressCallback = Callable[[int, int | None], object]

#: Suffixes of a compressed file, after which the suffix before them is kept too.
_COMPRESSION = frozenset({"gz", "gzip", "zst", "zstd", "bz2", "xz", "lz4", "lzma", "br", "z"})
#: The longest suffix kept before a compression suffix (``.tar``, ``.dump``, ``.sql``).
_SHORT_SUFFIX = 6
#: The longest last suffix kept at all.
_LONG_SUFFIX = 10
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.ASCII)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.ASCII)


def allowed_target(url: URL) -> bool:
    """Whether a download may go to ``url``: ``https``, or plain ``http`` to a loopback host."""
    if not url.absolute or not url.host:
        return False
    scheme = url.scheme.lower()
    return scheme == "https" or (scheme == "http" and is_loopback(url.host))


def plain(url: URL) -> URL:
    """``url`` without its query (a credential), fragment and user info."""
    return url.with_query(None).with_fragment(None).with_user(None)


def where(url: URL) -> str:
    """``url`` as messages and log lines show it: ``host/path``, nothing else."""
    return f"{url.host_subcomponent or ''}{url.raw_path}"


def link_secrets(link: URL) -> tuple[str, ...]:
    """The forms of ``link``'s credentials that text could echo, longest first.

    The whole link, its query string (as sent and decoded) and each query value of 8
    characters or more (as sent, decoded, and JSON- or URL-escaped).
    """
    raw = link.raw_query_string
    if not raw:
        return ()
    forms: list[str] = [str(link), str(link.with_fragment(None)), raw, link.query_string]
    for value in link.query.values():
        forms.extend(secret_forms(value))
    for pair in raw.split("&"):
        value = pair.partition("=")[2]
        if len(value) >= 8:
            forms.append(value)
    unique = dict.fromkeys(form for form in forms if len(form) >= 8)
    return tuple(sorted(unique, key=len, reverse=True))


def check_link(value: Any, url: URL) -> URL:
    """The download link in an answer from ``url``, checked: absolute ``https`` (or loopback
    ``http``). Anything else raises :class:`ResponseValidationError`, whose message says
    what is wrong without quoting the link (it may be a credential)."""
    problem: str | None = None
    link: URL | None = None
    if not isinstance(value, str):
        problem = f"the download link is not a string (got {type(value).__name__})"
    elif not value:
        problem = "the download link is empty"
    elif CONTROL.search(value) or any(char.isspace() for char in value):
        problem = "the download link holds spaces or control characters"
    else:
        try:
            link = URL(value, encoded=True)
        except (ValueError, TypeError):
            problem = "the download link is not a URL"
        else:
            if not link.absolute or not link.host:
                problem = "the download link is not an absolute URL"
            elif not allowed_target(link):
                scheme = excerpt(link.scheme, 20)
                host = excerpt(link.host_subcomponent or "", 100)
                problem = f"the download link is not an https URL (scheme {scheme}, host {host})"
    if problem is not None or link is None:
        raise ResponseValidationError(
            f"GET {display_url(url)}: {problem}", url=str(url), path="data.downloadLink"
        )
    return link


class ContentRange(NamedTuple):
    """A ``Content-Range: bytes start-end/total`` header (``total`` None for ``*``)."""

    start: int
    end: int
    total: int | None


def parse_content_range(value: str | None) -> ContentRange | None:
    """The range a 206 answer holds, or None when the header is missing or makes no sense."""
    if value is None:
        return None
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    total = None if match.group(3) == "*" else int(match.group(3))
    if end < start or (total is not None and end >= total):
        return None
    return ContentRange(start, end, total)


def unsatisfied_total(value: str | None) -> int | None:
    """The object's size from a 416 answer's ``Content-Range: bytes */total``, if given."""
    match = _UNSATISFIED_RANGE.fullmatch(value.strip()) if value else None
    return int(match.group(1)) if match else None


def _suffix_ok(suffix: str, longest: int) -> bool:
    return 0 < len(suffix) <= longest and suffix.isascii() and suffix.isalnum()


def file_extension(link: URL) -> str:
    """The extension a downloaded file takes from the link's path: ``.tar.gz``, ``.dump.zst``.

    The last suffix of the path's last segment, plus the one before it when the last is
    a compression suffix and the one before is short, alphanumeric and holds a letter;
    ``""`` when the path has no (sensible) suffix.
    """
    name = link.path.rpartition("/")[2]
    suffixes = name.split(".")[1:]
    if not suffixes or not _suffix_ok(suffixes[-1], _LONG_SUFFIX):
        return ""
    extension = "." + suffixes[-1]
    if suffixes[-1].lower() in _COMPRESSION and len(suffixes) >= 2:
        before = suffixes[-2]
        if _suffix_ok(before, _SHORT_SUFFIX) and any(char.isalpha() for char in before):
            extension = "." + before + extension
    return extension


class Progress:
    """Reports a download's progress: at most every ``interval`` seconds, never backwards.

    After a restart from byte 0 the count reported stays at the highest position
    reached until the new read passes it.
    """

    __slots__ = ("_callback", "_clock", "_highest", "_interval", "_last", "total")

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._callback = callback
        self._interval = interval
        self._clock = clock
        self._highest = 0
        self._last = -float("inf")
        self.total: int | None = None
        """The total reported with each count (None while unknown)."""

    def update(self, done: int) -> None:
        """Note that ``done`` bytes are in; report it if the last report is old enough."""
        if done > self._highest:
            self._highest = done
        if self._callback is None:
            return
        now = self._clock()
        if now - self._last >= self._interval:
            self._last = now
            self._callback(self._highest, self.total)

    def finish(self, done: int) -> None:
        """Report the final count, once, whatever the time since the last report."""
        self._highest = max(self._highest, done)
        if self._callback is not None:
            self._callback(self._highest, self.total)
