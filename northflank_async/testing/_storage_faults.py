"""The faults of the mock's storage origin: what a test plans, and what a request takes.

``StorageFaults`` is ``MockStorage.faults``: a test plans faults on it, and the origin
asks it (``_choose``) which of them the ``GET`` it is answering takes, and whether a
link was expired by ``expire_links`` (``_expired``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Chosen", "Planned", "StorageFaults"]

_Kind = Literal["drop_after", "wrong_length", "ignore_ranges", "fail", "redirect"]


@dataclass(slots=True)
class Planned:
    """One planned fault and how many more requests it takes (``None``: all)."""

    kind: _Kind
    remaining: int | None
    number: int = 0
    """``nbytes`` of ``drop_after``, ``delta`` of ``wrong_length``, status of the others."""
    location: str = ""


@dataclass(frozen=True, slots=True)
class Chosen:
    """The faults one request takes."""

    answer: Planned | None = None
    """``fail`` or ``redirect``: replaces the answer."""
    ignore_ranges: bool = False
    body: Planned | None = None
    """``drop_after`` or ``wrong_length``: changes the body."""


def _times(times: int | None, *, allow_none: bool) -> int | None:
    if times is None and allow_none:
        return None
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError("times must be an int >= 1" + (" or None" if allow_none else ""))
    return times


def _int(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int")
    return value


class StorageFaults:
    """Faults of the storage origin, for the next matching ``GET``s of an object's bytes.

    ``mock.storage.faults`` is one. A matching request is a ``GET`` (never a ``HEAD``)
    with a valid, unexpired link whose answer would carry the object's bytes: a 200 or
    206, not a refused link nor a 416 (though a range past the end is answered whole,
    and so matches, while an ``ignore_ranges`` is planned). Faults are taken in the
    order the requests arrive, each by as many requests as it was planned for
    (``times``; None: every one from now on). A request takes the first planned
    ``fail`` or ``redirect``, which replaces its answer; failing that, the first planned
    ``ignore_ranges`` (only if it has a ``Range``) and the first planned ``drop_after`` or
    ``wrong_length``, together.

    Example:

    ```python
    import os

    from northflank_async import DownloadError

    mock.storage.faults.wrong_length(-10)  # the next body is 10 bytes short, and says so
    try:
        await nf.download_backup(project_id, addon_id, backup_id, "short.bin")
    except DownloadError as error:
        print(error)  # ... announces 262,808 bytes (Content-Length) but ... config.size is 262,818
    else:
        raise AssertionError("a short body must not pass")
    assert not os.path.exists("short.bin")  # nothing left behind
    ```
    """

    def __init__(self) -> None:
        self._planned: list[Planned] = []
        self._generation = 0
        self._expired_before = 0

    def drop_after(self, nbytes: int, *, times: int = 1) -> None:
        """Send the first ``nbytes`` bytes of the body, then close the connection.

        The status and headers are the true ones: the client sees the body end early. With
        ``nbytes`` at least the body's length, the whole body is sent and the connection
        closed after it.

        :param nbytes: the bytes sent (>= 0).
        :param times: how many requests it takes (>= 1).
        :raises ValueError: a negative ``nbytes`` or a bad ``times``.
        :raises TypeError: ``nbytes`` is not an int.
        """
        if _int(nbytes, "nbytes") < 0:
            raise ValueError("nbytes must be >= 0")
        self._planned.append(Planned("drop_after", _times(times, allow_none=False), nbytes))

    def wrong_length(self, delta: int, *, times: int | None = 1) -> None:
        """Announce ``Content-Length`` ``delta`` bytes off the truth.

        In a 206 the range's end and the total of ``Content-Range`` are off too. ``delta >
        0``: the true bytes are sent, then the connection is closed (the client sees a short
        body). ``delta < 0``: only the announced number of bytes (never fewer than 0) is
        sent and the answer ends cleanly (the client sees a complete but short object).

        :param delta: bytes to add to the true length (not 0).
        :param times: how many requests it takes; None: every one.
        :raises ValueError: ``delta == 0`` or a bad ``times``.
        :raises TypeError: ``delta`` is not an int.
        """
        if _int(delta, "delta") == 0:
            raise ValueError("delta must not be 0")
        self._planned.append(Planned("wrong_length", _times(times, allow_none=True), delta))

    def ignore_ranges(self, *, times: int | None = None) -> None:
        """Answer a request with a ``Range`` header 200 with the whole object.

        As a host without range support does; requests without ``Range`` do not count.

        :param times: how many requests it takes; None: every one.
        :raises ValueError: a bad ``times``.
        """
        self._planned.append(Planned("ignore_ranges", _times(times, allow_none=True)))

    def expire_links(self) -> None:
        """Make every link issued so far answer 403 ``ExpiredToken`` from now on.

        ``HEAD`` too; links issued later work.
        """
        self._generation += 1
        self._expired_before = self._generation

    def fail(self, status: int, *, times: int = 1) -> None:
        """Answer ``status`` (400 to 599) with a small GCS-style XML error body.

        :param status: the status to answer.
        :param times: how many requests it takes (>= 1).
        :raises ValueError: a status outside 400 to 599, or a bad ``times``.
        """
        if not 400 <= _int(status, "status") <= 599:
            raise ValueError("status must be within 400..599")
        self._planned.append(Planned("fail", _times(times, allow_none=False), status))

    def redirect(self, location: str, *, status: int = 302, times: int = 1) -> None:
        """Answer ``status`` (300 to 399) with ``Location: location`` and no object.

        :param location: where the redirect points.
        :param status: the redirect status.
        :param times: how many requests it takes (>= 1).
        :raises ValueError: a status outside 300 to 399, or an empty ``location``.
        """
        if not 300 <= _int(status, "status") <= 399:
            raise ValueError("status must be within 300..399")
        if not location:
            raise ValueError("location must not be empty")
        self._planned.append(Planned("redirect", _times(times, allow_none=False), status, location))

    def clear(self) -> None:
        """Forget every planned fault; links ``expire_links`` expired work again."""
        self._planned.clear()
        self._expired_before = 0

    # ------------------------------------------------------------ for the origin

    def _expired(self, generation: int) -> bool:
        return generation < self._expired_before

    def _take(self, kinds: tuple[_Kind, ...]) -> Planned | None:
        """The first planned fault of ``kinds``, one request spent from it."""
        for planned in self._planned:
            if planned.kind in kinds:
                if planned.remaining is not None:
                    planned.remaining -= 1
                    if planned.remaining == 0:
                        self._planned.remove(planned)
                return planned
        return None

    def _choose(self, has_range: bool, satisfiable: bool) -> Chosen:
        """The faults a ``GET`` with a valid link takes (see the class docstring)."""
        ignoring = any(planned.kind == "ignore_ranges" for planned in self._planned)
        if has_range and not satisfiable and not ignoring:
            return Chosen()  # a 416: no bytes to bend
        answer = self._take(("fail", "redirect"))
        if answer is not None:
            return Chosen(answer=answer)
        ignore = has_range and self._take(("ignore_ranges",)) is not None
        return Chosen(ignore_ranges=ignore, body=self._take(("drop_after", "wrong_length")))
