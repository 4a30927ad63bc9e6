"""Addons whose backups cannot be read are reported, never dropped; what fails them all raises."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from northflank_async import (
    AuthenticationError,
    NorthflankSession,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import SessionFactory

from .support import PROJECT, backup, verdicts

H = timedelta(hours=1)


def _two_addons(mock: MockNorthflank) -> None:
    """``good`` (healthy) and ``bad`` of PROJECT, five fresh backups each."""
    for addon in ("bad", "good"):
        mock.add_addon(PROJECT, addon)
        mock.add_backups(PROJECT, addon, [backup("completed", (i + 1) * H) for i in range(5)])


async def test_a_forbidden_addon_is_unhealthy_with_the_error(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A 403 on one addon's backups: that addon unhealthy with the status and message; the other fine."""
    _two_addons(mock)
    body = json.dumps({"error": {"status": 403, "message": "Missing permission", "id": "e1"}})
    mock.faults.fail_path(
        f"/projects/{PROJECT}/addons/bad/backups", 403, body=body, content_type="application/json"
    )

    found = await verdicts(nf, PROJECT)

    bad = found["bad"]
    assert (False, ("cannot read its backups: 403 Missing permission",)) == (
        bad.healthy,
        bad.problems,
    )
    assert PermissionDeniedError is type(bad.error)
    assert (None, None, 0, 0, 0) == (
        bad.last_completed,
        bad.last_completed_age,
        bad.total,
        bad.in_progress,
        bad.completed_bytes,
    )
    assert found["good"].healthy


async def test_an_unknown_addon_is_reported_not_dropped(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """An addon named in ``addon_ids`` that does not exist gets its 404 as its problem."""
    _two_addons(mock)

    found = await verdicts(nf, PROJECT, addon_ids=["gone", "good"])

    assert ("cannot read its backups: 404 Addon gone not found in project shop",) == found[
        "gone"
    ].problems
    assert NotFoundError is type(found["gone"].error)
    assert found["good"].healthy


async def test_an_addon_with_bad_data_is_reported(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A backup that cannot be read: the problem names the bad value, not the URL."""
    _two_addons(mock)
    mock.backups(PROJECT, "bad")[2]["createdAt"] = "yesterday"

    found = await verdicts(nf, PROJECT)

    [problem] = found["bad"].problems
    assert problem.startswith(
        "cannot read its backups: invalid value at data.backups[2].createdAt: "
    ), problem
    assert "http" not in problem
    assert ResponseValidationError is type(found["bad"].error)
    assert found["good"].healthy


async def test_an_addon_whose_cursor_loops_is_reported(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """A cursor that comes back ends that addon's walk with its error; its counts are not kept."""
    mock.add_addon(PROJECT, "bad")
    mock.add_backups(PROJECT, "bad", [backup("completed", (i + 1) * H) for i in range(150)])
    mock.faults.repeat_cursor(2)

    found = await verdicts(nf, PROJECT, addon_ids=["bad"])

    [problem] = found["bad"].problems
    assert problem.startswith("cannot read its backups: page 2 of the backup list: the cursor ")
    assert problem.endswith("was already used by this walk; stopped so as not to loop")
    assert PaginationError is type(found["bad"].error)
    assert 0 == found["bad"].total  # the first page was read, but the count would mislead


async def test_the_token_never_reaches_a_problem(make_session: SessionFactory) -> None:
    """A server message that echoes the token is scrubbed before it becomes a problem."""
    token = "nf-secret-token-1234"
    async with MockNorthflank(token=token) as mock:
        nf = await make_session(token=token, base_url=mock.base_url)
        _two_addons(mock)
        body = json.dumps({"error": {"status": 403, "message": f"token {token} may not read"}})
        mock.faults.fail_path(
            "/addons/bad/backups", 403, body=body, content_type="application/json"
        )

        found = await verdicts(nf, PROJECT)

    assert ("cannot read its backups: 403 token <token> may not read",) == found["bad"].problems


# -- what would fail every addon raises --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (429, RateLimitError), (500, ServerError)]
)
async def test_what_would_fail_every_addon_raises(
    mock: MockNorthflank, make_session: SessionFactory, status: int, error: type[Exception]
) -> None:
    """A 401, a 429 or a 5xx on one addon ends the check with that error, as stream_backups does."""
    nf = await make_session(retry=None)
    _two_addons(mock)
    mock.faults.fail_path("/addons/bad/backups", status)

    with pytest.raises(error):
        await verdicts(nf, PROJECT)


async def test_a_project_whose_addons_cannot_be_listed_raises(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """Its addons are unknown, so no verdict can stand for them: the check raises."""
    _two_addons(mock)
    mock.add_addon("other", "db")
    mock.faults.fail_path("/projects/other/addons", 403)

    with pytest.raises(PermissionDeniedError):
        await verdicts(nf)


async def test_a_failure_to_list_projects_raises(
    mock: MockNorthflank, make_session: SessionFactory
) -> None:
    """The team's projects cannot be listed: the check raises."""
    nf = await make_session(retry=None)
    _two_addons(mock)
    mock.faults.fail(1, 503)

    with pytest.raises(ServerError):
        await verdicts(nf)
