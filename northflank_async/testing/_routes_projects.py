"""The projects and addons family: listing a team's projects and a project's addons."""

from __future__ import annotations

from ._http import ApiError, JSONDict
from ._routes import Call, Routes

routes = Routes()


@routes.get("/projects")
def list_projects(call: Call) -> JSONDict:
    """Every project, in the order added."""
    return call.page("projects", ["projects"], call.store.project_list)


@routes.get("/projects/{projectId}/addons")
def list_addons(call: Call) -> JSONDict:
    """A project's addons, in the order added; 404 for an unknown project."""
    project_id = call.params["projectId"]
    project = call.store.project(project_id)
    if project is None:
        raise ApiError(404, f"Project {project_id} not found")
    return call.page("addons", ["addons", project_id], project.addon_list)
