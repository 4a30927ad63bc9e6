"""The projects and addons family: the projects a token sees, and a project's addons."""

from __future__ import annotations

from ._models import Addon, AddonPage, Project, ProjectPage
from ._pagination import ListEndpoint

__all__ = ["ADDONS", "PROJECTS"]

#: ``GET /v1/projects``
PROJECTS: ListEndpoint[Project, ProjectPage] = ListEndpoint(
    "/projects", "projects", Project, ProjectPage
)
#: ``GET /v1/projects/{projectId}/addons``
ADDONS: ListEndpoint[Addon, AddonPage] = ListEndpoint(
    "/projects/{project_id}/addons", "addons", Addon, AddonPage
)
