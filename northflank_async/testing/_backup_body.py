"""The bodies of the backup writes, checked as the API checks them.

``new_backup_options`` checks the body of ``POST .../backups`` and ``restore_id`` the
body of ``POST .../abort-restore``; anything the API would refuse raises ``ApiError``
400 with a message naming the field and ``details`` ``{"field", "reason"}``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from ._http import ApiError, JSONDict

# JavaScript's \s (the API's pattern is a JavaScript one): Python's also takes \x1c-\x1f, \x85.
_JS_SPACE: Final = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_NAME: Final = re.compile(rf"[a-zA-Z0-9]+((-|[{_JS_SPACE}]|/|:)[a-zA-Z0-9]+)*")
_DESTINATION_ID: Final = re.compile(r"[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*")
_BACKUP_KEYS: Final = (
    "name",
    "backupType",
    "compressionType",
    "customDestinationId",
    "additionalDestinations",
)
_DESTINATION_KEYS: Final = ("destinationId", "retentionTime", "type")


def bad_body(field: str, reason: str) -> ApiError:
    """The API's 400 for a body whose ``field`` (a JSON path; ``""``: the body) is wrong."""
    where = f"{field} " if field else "the body "
    return ApiError(
        400, f"Invalid request body: {where}{reason}", {"field": field, "reason": reason}
    )


def json_object(raw: bytes) -> JSONDict:
    """The body as a JSON object; an empty body is ``{}``; anything else is a 400."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_body("", "is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_body("", "must be a JSON object")
    return body


def _no_other_keys(obj: JSONDict, allowed: tuple[str, ...], where: str) -> None:
    for key in obj:
        if key not in allowed:
            raise bad_body(f"{where}{key}", "is not allowed")


def _one_of(body: JSONDict, key: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(key)
    if key in body and value not in allowed:
        raise bad_body(key, f"must be one of {', '.join(allowed)}")
    return value


def _destination_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not 3 <= len(value) <= 100:
        raise bad_body(field, "must be a string of 3 to 100 characters")
    if not _DESTINATION_ID.fullmatch(value):
        raise bad_body(field, "must be letters and digits joined by single '-'")
    return value


def _destinations(value: Any) -> list[JSONDict]:
    if not isinstance(value, list):
        raise bad_body("additionalDestinations", "must be a list")
    found: list[JSONDict] = []
    for index, item in enumerate(value):
        where = f"additionalDestinations[{index}]"
        if not isinstance(item, dict):
            raise bad_body(where, "must be an object")
        _no_other_keys(item, _DESTINATION_KEYS, f"{where}.")
        destination: JSONDict = {
            "destinationId": _destination_id(item.get("destinationId"), f"{where}.destinationId")
        }
        if "retentionTime" in item:
            days = item["retentionTime"]
            # A JSON number with an integral value is an integer to the API (7.0 is 7).
            integral = isinstance(days, int) or (isinstance(days, float) and days.is_integer())
            if isinstance(days, bool) or not integral or not 1 <= days <= 120:
                raise bad_body(f"{where}.retentionTime", "must be an integer from 1 to 120")
            destination["retentionTime"] = int(days)
        if item.get("type") != "custom":
            raise bad_body(f"{where}.type", "must be 'custom'")
        destination["type"] = "custom"
        found.append(destination)
    return found


def new_backup_options(raw: bytes) -> JSONDict:
    """The checked body of ``POST .../backups``: every key optional, none other allowed.

    ``name``: 3 to 39 characters of ``^[a-zA-Z0-9]+((-|\\s|\\/|:)[a-zA-Z0-9]+)*$``.
    ``backupType``: ``dump`` or ``snapshot`` (the default). ``compressionType``
    (``gz``, ``zstd``) and ``customDestinationId`` (3 to 100 characters, words of
    letters and digits joined by ``-``) only with ``dump``; ``additionalDestinations``
    (``[{"destinationId", "retentionTime"?: 1..120, "type": "custom"}]``) only with
    ``snapshot``. Returns the keys given, with ``backupType`` always set and
    ``additionalDestinations`` normalised (keys in the API's order).
    """
    body = json_object(raw)
    _no_other_keys(body, _BACKUP_KEYS, "")
    checked: JSONDict = {}
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not 3 <= len(name) <= 39:
            raise bad_body("name", "must be a string of 3 to 39 characters")
        if not _NAME.fullmatch(name):
            raise bad_body(
                "name", "must be words of letters and digits joined by one '-', ' ', '/' or ':'"
            )
        checked["name"] = name
    kind = _one_of(body, "backupType", ("dump", "snapshot")) or "snapshot"
    checked["backupType"] = kind
    compression = _one_of(body, "compressionType", ("gz", "zstd"))
    if compression is not None:
        checked["compressionType"] = compression
    if "customDestinationId" in body:
        checked["customDestinationId"] = _destination_id(
            body["customDestinationId"], "customDestinationId"
        )
    if "additionalDestinations" in body:
        checked["additionalDestinations"] = _destinations(body["additionalDestinations"])
    only: tuple[str, ...] = ("additionalDestinations",)
    if kind == "snapshot":
        only = ("compressionType", "customDestinationId")
    for key in only:
        if key in checked:
            other = "dump" if kind == "snapshot" else "snapshot"
            raise bad_body(key, f"is only allowed with backupType {other}, not {kind}")
    return checked


def restore_id(raw: bytes) -> str:
    """The ``restoreId`` of an ``abort-restore`` body (required; no other key allowed)."""
    body = json_object(raw)
    _no_other_keys(body, ("restoreId",), "")
    value = body.get("restoreId")
    if not isinstance(value, str) or not value:
        raise bad_body("restoreId", "is required and must be a non-empty string")
    return value
