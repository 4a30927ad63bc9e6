"""Are an addon's backups healthy? One verdict per addon, from its backups' history.

:class:`BackupHealthChecks` is a part of ``NorthflankSession`` (it inherits
:meth:`~BackupHealthChecks.check_backups`). The walks are the team-wide stream's
(``_stream.addon_events``); each addon's backups are folded into a few counters as
its pages arrive (:class:`_Tally`), and the verdict is made when its walk ends.

The rules, in one place (:meth:`_Tally.verdict`):

- a backup's moment is its ``completedAt``, else its ``createdAt``;
- the last completed backup is the ``completed`` one with the latest moment; it is
  stale when older than ``max_age`` (exactly ``max_age`` old is still fine);
- a failure counts in the window when its moment is ``now - window`` or later;
- the latest backup is the newest by ``createdAt`` among the final ones (completed,
  failed, aborted, not-supported): one still running has not said anything yet;
- problems: no backups at all; no completed backup ever; the last completed one is
  stale; the latest backup failed; backups failed in the window. Any problem makes
  the addon unhealthy.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import attrs

from ._client import Client
from ._errors import APIStatusError, NorthflankError, display_url, excerpt
from ._models import Backup
from ._pagination import MAX_PER_PAGE, PageQuery
from ._stream import AddonEvent, WalkEnd, addon_events, check_scope

__all__ = ["BackupHealth", "BackupHealthChecks", "describe_span", "short_error"]


@attrs.frozen(kw_only=True)
class BackupHealth:
    """The verdict on one addon's backups, as of the check's ``now``.

    [NorthflankSession.check_backups][northflank_async.NorthflankSession.check_backups]
    yields one per addon. For an addon whose backups could not be read (``error`` set),
    the counts are 0 and ``last_completed`` is None: they are unknown, not zero.

    Example:

    ```python
    async for health in nf.check_backups(project_id):
        state = "ok" if health.healthy else "; ".join(health.problems)
        print(f"{health.project_id}/{health.addon_id}: {state}")
    ```
    """

    project_id: str
    """The project of the addon."""
    addon_id: str
    """The addon whose backups were checked."""
    healthy: bool
    """True when ``problems`` is empty."""
    problems: tuple[str, ...] = ()
    """What is wrong, in plain words, most pressing first.

    For example ``"no completed backup for 31 h (limit 26 h)"``; empty when healthy.
    """
    last_completed: Backup | None = None
    """The completed backup with the latest ``completed_at`` (else ``created_at``), or None."""
    last_completed_age: timedelta | None = None
    """How long before ``now`` the last completed backup completed (never negative)."""
    failed_in_window: int = 0
    """Backups ``failed`` within the window before ``now``."""
    in_progress: int = 0
    """Backups not final yet (``scheduled``, ``in-progress``, ``aborting``)."""
    total: int = 0
    """Every backup of the addon, whatever its status."""
    completed_bytes: int = 0
    """The size of every completed backup, added up."""
    error: NorthflankError | None = attrs.field(default=None, eq=False)
    """Why the addon's backups could not be read, or None.

    A 403, a 404, data that cannot be read, a cursor that loops: then ``problems``
    says so and the counts are unknown.
    """


def describe_span(span: timedelta) -> str:
    """A duration for people, cut (not rounded) to its two largest units.

    ``45 s``, ``45 min``, ``31 h``, ``26 h 30 min``; from 72 hours on in days: ``5 days 3 h``.
    """
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 72 * 3600:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours} h" if minutes == 0 else f"{hours} h {minutes} min"
    days, hours = divmod(seconds // 3600, 24)
    return f"{days} days" if hours == 0 else f"{days} days {hours} h"


def _over(age: timedelta, limit: timedelta) -> str:
    """``age`` for a message saying it passed ``limit``: never the same words as the limit."""
    text = describe_span(age)
    return f"more than {text}" if text == describe_span(limit) else text


def short_error(error: NorthflankError) -> str:
    """An error in a few words: the status and the API's message, or what was wrong.

    The request's URL is left out (the addon is named beside it). The text was
    scrubbed of the token when the error was raised.
    """
    if isinstance(error, APIStatusError):
        return excerpt(f"{error.status} {error.message}")
    text = str(error)
    url = getattr(error, "url", None)
    if isinstance(url, str):
        request = f"GET {display_url(url)}"
        text = text.removeprefix(request + ": ").replace(request, "the backup list")
    return excerpt(text)


def _moment(backup: Backup) -> datetime:
    """When a backup ended, or else when it was created: what its age is measured from."""
    return backup.completed_at if backup.completed_at is not None else backup.created_at


def _backups(count: int) -> str:
    return f"{count} backup" if count == 1 else f"{count} backups"


@attrs.frozen
class _Rules:
    """What makes an addon healthy, checked once: the limits and the moment of the check."""

    now: datetime
    max_age: timedelta
    window: timedelta

    @property
    def window_start(self) -> datetime:
        return self.now - self.window


def _rules(max_age: timedelta, window: timedelta, now: datetime | None) -> _Rules:
    """The checked limits; ValueError for a bad one (before any request)."""
    for name, value in (("max_age", max_age), ("window", window)):
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise ValueError(f"{name} must be a positive timedelta, got {value!r}")
    if now is None:
        now = datetime.now(UTC)
    elif not isinstance(now, datetime):
        raise ValueError(f"now must be a datetime, got {now!r}")
    elif now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(
            f"now must be timezone-aware (datetime.now(timezone.utc)), got the naive {now!r}"
        )
    return _Rules(now, max_age, window)


class _Tally:
    """What the verdict on one addon needs of its backups, counted page by page.

    Memory stays flat however many backups the addon has: a few counters and two
    backups (the last completed one and the latest final one), never the list.
    """

    __slots__ = (
        "completed_bytes",
        "failed_in_window",
        "in_progress",
        "last_completed",
        "last_moment",
        "latest_final",
        "total",
    )

    def __init__(self) -> None:
        self.total = 0
        self.in_progress = 0
        self.failed_in_window = 0
        self.completed_bytes = 0
        self.last_completed: Backup | None = None
        self.last_moment: datetime | None = None
        self.latest_final: Backup | None = None

    def add(self, backups: Iterable[Backup], window_start: datetime) -> None:
        """Count these backups of the addon (in the order listed; a later tie wins)."""
        for backup in backups:
            self.total += 1
            status = backup.status
            if status == "completed":
                self.completed_bytes += backup.config.size
                moment = _moment(backup)
                if self.last_moment is None or moment >= self.last_moment:
                    self.last_completed, self.last_moment = backup, moment
            elif status == "failed" and _moment(backup) >= window_start:
                self.failed_in_window += 1
            if not backup.is_final:
                self.in_progress += 1
            elif self.latest_final is None or backup.created_at >= self.latest_final.created_at:
                self.latest_final = backup

    def verdict(self, project_id: str, addon_id: str, rules: _Rules) -> BackupHealth:
        """The addon's health by :mod:`the rules <northflank_async._health>`."""
        problems: list[str] = []
        age: timedelta | None = None
        if self.last_moment is not None:
            age = max(timedelta(0), rules.now - self.last_moment)
        if self.total == 0:
            problems.append("no backups at all")
        elif age is None:
            problems.append("no completed backup ever")
        elif age > rules.max_age:
            problems.append(
                f"no completed backup for {_over(age, rules.max_age)} "
                f"(limit {describe_span(rules.max_age)})"
            )
        latest = self.latest_final
        if latest is not None and latest.status == "failed":
            ago = describe_span(rules.now - _moment(latest))
            problems.append(f"the latest backup failed ({ago} ago)")
        if self.failed_in_window:
            problems.append(
                f"{_backups(self.failed_in_window)} failed "
                f"in the last {describe_span(rules.window)}"
            )
        return BackupHealth(
            project_id=project_id,
            addon_id=addon_id,
            healthy=not problems,
            problems=tuple(problems),
            last_completed=self.last_completed,
            last_completed_age=age,
            failed_in_window=self.failed_in_window,
            in_progress=self.in_progress,
            total=self.total,
            completed_bytes=self.completed_bytes,
        )


def _unreadable(end: WalkEnd, error: NorthflankError) -> BackupHealth:
    return BackupHealth(
        project_id=end.project_id,
        addon_id=end.addon_id,
        healthy=False,
        problems=(f"cannot read its backups: {short_error(error)}",),
        error=error,
    )


async def _verdicts(
    events: AsyncGenerator[AddonEvent, None], rules: _Rules
) -> AsyncGenerator[BackupHealth, None]:
    """One verdict per addon, as soon as its walk ends."""
    tallies: dict[tuple[str, str], _Tally] = {}  # only the addons being walked now
    window_start = rules.window_start
    async with aclosing(events):
        async for event in events:
            key = (event.project_id, event.addon_id)
            if not isinstance(event, WalkEnd):
                tally = tallies.get(key)
                if tally is None:
                    tally = tallies[key] = _Tally()
                tally.add(event.backups, window_start)
                continue
            tally = tallies.pop(key, None) or _Tally()
            if event.error is not None:
                yield _unreadable(event, event.error)
            else:
                yield tally.verdict(event.project_id, event.addon_id, rules)


class BackupHealthChecks:
    """The team-wide health check of backups.

    A part of [NorthflankSession][northflank_async.NorthflankSession], which inherits
    ``check_backups``: call it on the session.
    """

    _client: Client

    def check_backups(
        self,
        project_id: str | None = None,
        *,
        team_id: str | None = None,
        addon_ids: Iterable[str] | None = None,
        max_age: timedelta = timedelta(hours=26),
        window: timedelta = timedelta(days=7),
        now: datetime | None = None,
        concurrency: int = 4,
    ) -> AsyncGenerator[BackupHealth, None]:
        r"""One verdict per addon, as soon as that addon's walk ends.

        Each verdict is a [BackupHealth][northflank_async.BackupHealth]. The addons are
        those of ``stream_backups``: ``addon_ids`` of ``project_id``; every addon of
        ``project_id``; or every addon of every project the token (or ``team_id``) can
        see. Up to ``concurrency`` addons are walked at once, every page of each; verdicts
        arrive in the order the walks end.

        An addon is unhealthy when it has no backups at all, has never completed one, its
        last completed backup is older than ``max_age``, its latest backup failed, or
        backups failed within ``window`` before ``now``. The exact rules:

        - a backup's moment is its ``completed_at``, else its ``created_at``;
        - the last completed backup is the ``completed`` one with the latest moment; it is
          stale when older than ``max_age`` (exactly ``max_age`` old is still fine);
        - a failure counts in the window when its moment is ``now - window`` or later;
        - the latest backup is the newest by ``created_at`` among the final ones; one still
          running has not said anything yet.

        An addon that cannot be read (404, 403, data that cannot be read, a cursor that
        loops) is yielded unhealthy with the error as its problem, never left out.

        Example:

        ```python
        from datetime import timedelta

        unhealthy = []
        async for health in nf.check_backups(max_age=timedelta(hours=26)):  # every project
            if not health.healthy:
                problems = "; ".join(health.problems)
                unhealthy.append(f"{health.project_id}/{health.addon_id}: {problems}")
        print("\n".join(unhealthy) or "every addon has a recent backup")
        ```

        :param project_id: the project whose addons to check; None: every project.
        :param team_id: the team whose routes this call uses (``/v1/teams/{teamId}/...``);
            None: the session's ``team_id``.
        :param addon_ids: only these addons of ``project_id``; None: every addon of it.
        :param max_age: the oldest the last completed backup may be (a positive timedelta).
        :param window: how far back failures count (a positive timedelta).
        :param now: the moment of the check (timezone-aware); None: the current UTC time,
            read once at the call.
        :param concurrency: addons walked at once (an int >= 1).
        :returns: an async generator of [BackupHealth][northflank_async.BackupHealth].
        :raises ValueError: a naive ``now``, a ``max_age`` or ``window`` that is not a
            positive timedelta, or a bad argument of ``stream_backups``, at the call, before
            any request.
        :raises NotFoundError: a project whose addons cannot be listed: its addons are
            unknown, so no verdict could stand for them.
        :raises AuthenticationError: the token is missing, expired or revoked (401).
        :raises NorthflankError: what would fail every addon (429 past the retry policy's
            ``max_wait``, the network, 5xx after retries) raises as ``stream_backups`` does.
        """
        ids = check_scope(project_id, addon_ids, team_id, concurrency)
        rules = _rules(max_age, window, now)
        query = PageQuery(MAX_PER_PAGE)  # every page is needed: the fewest requests
        events = addon_events(self._client, project_id, ids, team_id, concurrency, query, ends=True)
        return _verdicts(events, rules)
