"""The auth family: the token check the Northflank CLI makes before saving a context."""

from __future__ import annotations

from ._http import JSONDict
from ._routes import Call, Routes

routes = Routes()


@routes.get("/login")
def check_token(call: Call) -> JSONDict:
    """``{"data": {"valid": true, "teamId": null}}``: the token the request carried is good.

    ``northflank login --token T --host URL`` asks this before it saves a context.
    Only the mock's token gets here (any other gets the usual 401 before the route
    runs), so the answer is fixed: ``valid`` is always true and ``teamId`` null, as
    the mock does not say which team a token belongs to. Not paginated.
    """
    return {"data": {"valid": True, "teamId": None}}
