"""Projects and addons: their models, their walks on both routes, resuming and checks."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from northflank_async import (
    Addon,
    AddonPage,
    AddonSpec,
    AddonStatus,
    NorthflankSession,
    NotFoundError,
    Pagination,
    Project,
    ProjectPage,
    ResponseValidationError,
    converter,
)
from northflank_async.testing import MockNorthflank
from tests.conftest import PROJECT, SessionFactory

ADDON_JSON: dict[str, Any] = {
    "id": "example-addon",
    "name": "Example Addon",
    "appId": "/example-user/default-project/example-addon",
    "tags": ["production", "eu-west"],
    "description": "The main database",
    "spec": {"type": "mongodb"},
    "status": "running",
}

EXPECTED_ADDON = Addon(
    id="example-addon",
    name="Example Addon",
    app_id="/example-user/default-project/example-addon",
    tags=("production", "eu-west"),
    description="The main database",
    spec=AddonSpec(type="mongodb"),
    status=AddonStatus.RUNNING,
)


def _add_projects(mock: MockNorthflank, count: int) -> list[str]:
    ids = [f"project-{n:03d}" for n in range(count)]
    for project_id in ids:
        mock.add_project(project_id)
    return ids


def _add_addons(mock: MockNorthflank, count: int) -> list[str]:
    ids = [f"addon-{n:03d}" for n in range(count)]
    for addon_id in ids:
        mock.add_addon(PROJECT, addon_id)
    return ids


# -- models ------------------------------------------------------------------------------


def test_addon_structures_every_field() -> None:
    """The API's addon object becomes the expected Addon, every field exact."""
    addon = converter.structure(ADDON_JSON, Addon)

    assert EXPECTED_ADDON == addon
    assert AddonStatus.RUNNING is addon.status
    assert tuple is type(addon.tags)
    assert str is type(addon.spec.type)


def test_addon_round_trips_to_the_same_json() -> None:
    """Unstructuring the Addon gives back exactly the API's JSON."""
    assert ADDON_JSON == converter.unstructure(converter.structure(ADDON_JSON, Addon))


@pytest.mark.parametrize("status", list(AddonStatus))
def test_every_addon_status_structures_to_its_member(status: AddonStatus) -> None:
    """Every documented addon status becomes its AddonStatus member."""
    assert status is converter.structure({**ADDON_JSON, "status": status.value}, Addon).status


def test_unknown_addon_status_and_kind_stay_strings() -> None:
    """A status the API adds later stays its string; the addon kind is any string."""
    addon = converter.structure(
        {**ADDON_JSON, "status": "hibernating", "spec": {"type": "clickhouse"}}, Addon
    )

    assert "hibernating" == addon.status
    assert str is type(addon.status)
    assert "clickhouse" == addon.spec.type


def test_addon_without_description_and_tags_empty() -> None:
    """An addon without description has it None; empty tags are an empty tuple."""
    data = {key: value for key, value in ADDON_JSON.items() if key != "description"}
    data["tags"] = []

    addon = converter.structure(data, Addon)

    assert addon.description is None
    assert () == addon.tags
    assert data == converter.unstructure(addon)


def test_project_structures_and_round_trips() -> None:
    """A project with and without description structures and round-trips exactly."""
    full = {"id": "default-project", "name": "Default Project", "description": "Main"}
    bare = {"id": "other", "name": "Other"}

    assert Project(id="default-project", name="Default Project", description="Main") == (
        converter.structure(full, Project)
    )
    assert Project(id="other", name="Other") == converter.structure(bare, Project)
    assert full == converter.unstructure(converter.structure(full, Project))
    assert bare == converter.unstructure(converter.structure(bare, Project))


# -- projects ----------------------------------------------------------------------------


async def test_list_projects_yields_the_team_projects(
    mock: MockNorthflank, nf: NorthflankSession
) -> None:
    """``list_projects`` yields every project with its fields, on the project route."""
    mock.generate_team(projects=3, addons_per_project=1, backups_per_addon=0)

    projects = [project async for project in nf.list_projects()]

    assert [
        Project(id="project-1", name="Project 1", description="Generated project 1"),
        Project(id="project-2", name="Project 2"),
        Project(id="project-3", name="Project 3", description="Generated project 3"),
    ] == projects
    assert ["/v1/projects"] == [request.raw_path for request in mock.requests]


async def test_list_projects_team_route(mock: MockNorthflank, make_session: SessionFactory) -> None:
    """``team_id`` as argument or on the session walks ``/v1/teams/{team}/projects``."""
    ids = _add_projects(mock, 3)
    nf = await make_session()
    team_nf = await make_session(team_id=mock.team_id)

    assert ids == [p.id async for p in nf.list_projects(team_id=mock.team_id)]
    assert ids == [p.id async for p in team_nf.list_projects()]
    assert ["/v1/teams/example-team/projects"] * 2 == [r.raw_path for r in mock.requests]


@pytest.mark.parametrize("prefetch", [True, False])
async def test_list_projects_pages_through(
    mock: MockNorthflank, nf: NorthflankSession, prefetch: bool
) -> None:
    """25 projects at 10 a page arrive in order, in three requests."""
    ids = _add_projects(mock, 25)

    assert ids == [p.id async for p in nf.list_projects(per_page=10, prefetch=prefetch)]
    assert 3 == len(mock.requests)


async def test_list_projects_max_items(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``max_items`` on ``list_projects`` stops after that many, without an extra page."""
    ids = _add_projects(mock, 25)

    assert ids[:10] == [p.id async for p in nf.list_projects(per_page=10, max_items=10)]
    assert 1 == len(mock.requests)


async def test_project_pages_and_single_page(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``list_project_pages`` and ``get_project_page`` give ProjectPages with pagination."""
    ids = _add_projects(mock, 15)

    pages = [page async for page in nf.list_project_pages(per_page=10)]
    single = await nf.get_project_page(per_page=10, page=2)

    assert all(isinstance(page, ProjectPage) for page in pages)
    assert [ids[:10], ids[10:]] == [[p.id for p in page.projects] for page in pages]
    assert [(True, 10), (False, 5)] == [
        (page.pagination.has_next_page, page.pagination.count) for page in pages
    ]
    assert ids[10:] == [p.id for p in single.projects]
    assert Pagination(has_next_page=False, count=5) == single.pagination
    assert single.rate_limit is not None
    assert 3 == len(mock.requests)


async def test_projects_resume_from_a_cursor(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """A cursor from ``get_project_page`` resumes ``list_projects`` with exactly the rest."""
    ids = _add_projects(mock, 23)
    first = await nf.get_project_page(per_page=10)
    assert first.pagination.cursor is not None

    rest = [p.id async for p in nf.list_projects(per_page=10, cursor=first.pagination.cursor)]
    pages = [
        [p.id for p in page.projects]
        async for page in nf.list_project_pages(per_page=10, cursor=first.pagination.cursor)
    ]

    assert ids[10:] == rest
    assert [ids[10:20], ids[20:]] == pages


# -- addons ------------------------------------------------------------------------------


async def test_list_addons_yields_every_field(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``list_addons`` yields each addon of the project with every field, on the project route."""
    mock.add_addon(
        PROJECT,
        "example-addon",
        name="Example Addon",
        addon_type="mongodb",
        status="running",
        tags=["production", "eu-west"],
        description="The main database",
    )
    mock.add_addon(PROJECT, "cache", addon_type="redis", status="errorAllocating")

    addons = [addon async for addon in nf.list_addons(PROJECT)]

    assert [
        Addon(
            id="example-addon",
            name="Example Addon",
            app_id=f"/example-team/{PROJECT}/example-addon",
            tags=("production", "eu-west"),
            description="The main database",
            spec=AddonSpec(type="mongodb"),
            status=AddonStatus.RUNNING,
        ),
        Addon(
            id="cache",
            name="cache",
            app_id=f"/example-team/{PROJECT}/cache",
            tags=(),
            spec=AddonSpec(type="redis"),
            status=AddonStatus.ERROR_ALLOCATING,
        ),
    ] == addons
    assert [f"/v1/projects/{PROJECT}/addons"] == [r.raw_path for r in mock.requests]


async def test_list_addons_team_route(mock: MockNorthflank, make_session: SessionFactory) -> None:
    """``team_id`` as argument or on the session walks the team form of the addons route."""
    ids = _add_addons(mock, 3)
    nf = await make_session()
    team_nf = await make_session(team_id=mock.team_id)

    assert ids == [a.id async for a in nf.list_addons(PROJECT, team_id=mock.team_id)]
    assert ids == [a.id async for a in team_nf.list_addons(PROJECT)]
    assert [f"/v1/teams/example-team/projects/{PROJECT}/addons"] * 2 == [
        r.raw_path for r in mock.requests
    ]


@pytest.mark.parametrize("prefetch", [True, False])
async def test_list_addons_pages_through(
    mock: MockNorthflank, nf: NorthflankSession, prefetch: bool
) -> None:
    """21 addons at 7 a page arrive in order, in three requests."""
    ids = _add_addons(mock, 21)

    assert ids == [a.id async for a in nf.list_addons(PROJECT, per_page=7, prefetch=prefetch)]
    assert 3 == len(mock.requests)
    assert {"7"} == {r.query["per_page"] for r in mock.requests}


async def test_list_addons_max_items(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``max_items`` on ``list_addons`` yields that many in as few requests as needed."""
    ids = _add_addons(mock, 21)

    assert ids[:8] == [a.id async for a in nf.list_addons(PROJECT, per_page=7, max_items=8)]
    assert 2 == len(mock.requests)


async def test_addon_pages_and_single_page(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """``list_addon_pages`` and ``get_addon_page`` give AddonPages with pagination."""
    ids = _add_addons(mock, 12)

    pages = [page async for page in nf.list_addon_pages(PROJECT, per_page=5)]
    single = await nf.get_addon_page(PROJECT, per_page=5)

    assert all(isinstance(page, AddonPage) for page in pages)
    assert [ids[:5], ids[5:10], ids[10:]] == [[a.id for a in page.addons] for page in pages]
    assert [True, True, False] == [page.pagination.has_next_page for page in pages]
    assert ids[:5] == [a.id for a in single.addons]
    assert single.pagination.has_next_page
    assert 4 == len(mock.requests)


async def test_addons_resume_from_a_cursor(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """A cursor from ``get_addon_page`` resumes ``list_addons`` with exactly the rest."""
    ids = _add_addons(mock, 12)
    first = await nf.get_addon_page(PROJECT, per_page=5)
    assert first.pagination.cursor is not None

    rest = [a.id async for a in nf.list_addons(PROJECT, per_page=5, cursor=first.pagination.cursor)]

    assert ids[5:] == rest
    assert first.pagination.cursor == mock.requests[1].query["cursor"]


async def test_addons_of_an_unknown_project(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """The API's 404 for an unknown project raises NotFoundError."""
    with pytest.raises(NotFoundError) as caught:
        async for _ in nf.list_addons("no-such-project"):
            pass

    assert "Project no-such-project not found" == caught.value.message


async def test_bad_addon_names_its_json_path(mock: MockNorthflank, nf: NorthflankSession) -> None:
    """An addon without ``spec`` raises ResponseValidationError naming ``data.addons[1].spec``."""
    _add_addons(mock, 1)
    no_spec = {key: value for key, value in ADDON_JSON.items() if key != "spec"}
    answer = {
        "data": {"addons": [ADDON_JSON, no_spec]},
        "pagination": {"hasNextPage": False, "count": 2},
    }
    body = json.dumps(answer).encode()
    mock.faults.bad_json(1, body)

    with pytest.raises(ResponseValidationError) as caught:
        await nf.get_addon_page(PROJECT)

    assert "data.addons[1].spec" == caught.value.path


# -- argument checks ---------------------------------------------------------------------

PER_PAGE = "per_page must be an int from 1 to 100"

BAD_PAGING: list[Any] = [
    pytest.param({"per_page": 0}, PER_PAGE, id="per_page-0"),
    pytest.param({"per_page": 101}, PER_PAGE, id="per_page-101"),
    pytest.param({"per_page": "5"}, PER_PAGE, id="per_page-str"),
    pytest.param({"per_page": True}, PER_PAGE, id="per_page-bool"),
    pytest.param({"page": 0}, "page must be an int >= 1", id="page-0"),
    pytest.param({"page": 1, "cursor": "c"}, "give page or cursor, not both", id="page-and-cursor"),
    pytest.param({"cursor": ""}, "cursor must be a non-empty string", id="cursor-empty"),
    pytest.param({"team_id": ""}, "team_id must be a non-empty string", id="team-empty"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_PAGING)
async def test_project_calls_refuse_bad_arguments(
    mock: MockNorthflank, nf: NorthflankSession, arguments: dict[str, Any], message: str
) -> None:
    """Each project call raises ValueError for a bad argument, before any request."""
    with pytest.raises(ValueError, match=re.escape(message)):
        nf.list_projects(**arguments)
    with pytest.raises(ValueError, match=re.escape(message)):
        nf.list_project_pages(**arguments)
    with pytest.raises(ValueError, match=re.escape(message)):
        await nf.get_project_page(**arguments)

    assert [] == mock.requests


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        *BAD_PAGING,
        pytest.param(
            {"project_id": ""}, "project_id must be a non-empty string", id="project-empty"
        ),
        pytest.param({"project_id": 3}, "project_id must be a non-empty string", id="project-int"),
    ],
)
async def test_addon_calls_refuse_bad_arguments(
    mock: MockNorthflank, nf: NorthflankSession, arguments: dict[str, Any], message: str
) -> None:
    """Each addon call raises ValueError for a bad argument, before any request."""
    options = dict(arguments)
    project_id = options.pop("project_id", PROJECT)

    with pytest.raises(ValueError, match=re.escape(message)):
        nf.list_addons(project_id, **options)
    with pytest.raises(ValueError, match=re.escape(message)):
        nf.list_addon_pages(project_id, **options)
    with pytest.raises(ValueError, match=re.escape(message)):
        await nf.get_addon_page(project_id, **options)

    assert [] == mock.requests


@pytest.mark.parametrize("max_items", [-1, "2"])
async def test_bad_max_items_for_projects_and_addons(
    mock: MockNorthflank, nf: NorthflankSession, max_items: Any
) -> None:
    """``max_items`` is checked at the call for projects and addons too."""
    with pytest.raises(ValueError, match="max_items"):
        nf.list_projects(max_items=max_items)
    with pytest.raises(ValueError, match="max_items"):
        nf.list_addons(PROJECT, max_items=max_items)

    assert [] == mock.requests
