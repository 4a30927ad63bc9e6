"""The backups family: listing an addon's backups."""

from __future__ import annotations

from ._http import ApiError, JSONDict
from ._routes import Call, Routes

routes = Routes()


@routes.get("/projects/{projectId}/addons/{addonId}/backups")
def list_backups(call: Call) -> JSONDict:
    """An addon's backups in the order added, paged by its page sizes; 404 if unknown."""
    project_id, addon_id = call.params["projectId"], call.params["addonId"]
    addon = call.store.addon(project_id, addon_id)
    if addon is None:
        raise ApiError(404, f"Addon {addon_id} not found in project {project_id}")
    key = ["backups", project_id, addon_id]
    return call.page("backups", key, addon.backups, addon.page_sizes)
