"""The body of ``POST .../backups``, checked as the API checks it (400 naming the field)."""

from __future__ import annotations

from typing import Any

import pytest

from northflank_async.testing import MockNorthflank

from .support import ADDON, BACKUPS, PROJECT, Client, error_body, send, start_backup


@pytest.mark.parametrize("name", ["abc", "a" * 39, "a b/c:d-e", "Nightly\u00a0backup", "x\ty"])
async def test_names_the_api_accepts(client: Client, name: str) -> None:
    """3 to 39 characters: words of letters and digits joined by one '-', space, '/' or ':'."""
    assert name == (await start_backup(client, {"name": name}))["name"]


def destination(**fields: Any) -> dict[str, Any]:
    """A body with one additional destination made of ``fields``."""
    return {"additionalDestinations": [fields]}


BAD = "additionalDestinations[0]"


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (b"{", "", "is not valid JSON"),
        (b"[]", "", "must be a JSON object"),
        (b"null", "", "must be a JSON object"),
        ({"nmae": "abc"}, "nmae", "is not allowed"),
        ({"name": "ab"}, "name", "must be a string of 3 to 39 characters"),
        ({"name": "a" * 40}, "name", "must be a string of 3 to 39 characters"),
        ({"name": 123}, "name", "must be a string of 3 to 39 characters"),
        *[
            (
                {"name": name},
                "name",
                "must be words of letters and digits joined by one '-', ' ', '/' or ':'",
            )
            for name in ["a--b", " abc", "abc ", "ab_c", "abc\n", "a\x1cb", "émile"]
        ],
        ({"backupType": "full"}, "backupType", "must be one of dump, snapshot"),
        ({"backupType": None}, "backupType", "must be one of dump, snapshot"),
        (
            {"backupType": "dump", "compressionType": "xz"},
            "compressionType",
            "must be one of gz, zstd",
        ),
        (
            {"compressionType": "gz"},
            "compressionType",
            "is only allowed with backupType dump, not snapshot",
        ),
        (
            {"customDestinationId": "offsite-s3"},
            "customDestinationId",
            "is only allowed with backupType dump, not snapshot",
        ),
        (
            {"backupType": "dump", "customDestinationId": "ab"},
            "customDestinationId",
            "must be a string of 3 to 100 characters",
        ),
        (
            {"backupType": "dump", "customDestinationId": "off--site"},
            "customDestinationId",
            "must be letters and digits joined by single '-'",
        ),
        (
            {"backupType": "dump", "additionalDestinations": []},
            "additionalDestinations",
            "is only allowed with backupType snapshot, not dump",
        ),
        ({"additionalDestinations": {}}, "additionalDestinations", "must be a list"),
        ({"additionalDestinations": ["x"]}, BAD, "must be an object"),
        (
            destination(type="custom"),
            f"{BAD}.destinationId",
            "must be a string of 3 to 100 characters",
        ),
        (destination(destinationId="abc"), f"{BAD}.type", "must be 'custom'"),
        (destination(destinationId="abc", type="s3"), f"{BAD}.type", "must be 'custom'"),
        (destination(destinationId="abc", type="custom", x=1), f"{BAD}.x", "is not allowed"),
        *[
            (
                destination(destinationId="abc", type="custom", retentionTime=days),
                f"{BAD}.retentionTime",
                "must be an integer from 1 to 120",
            )
            for days in [0, 121, True, "7", 7.5, None]
        ],
    ],
)
async def test_a_bad_body_is_400_and_starts_nothing(
    client: Client, mock: MockNorthflank, raw: bytes | dict[str, Any], field: str, reason: str
) -> None:
    """The API's 400 names the field and why; nothing is started."""
    data = raw if isinstance(raw, bytes) else None
    body = raw if isinstance(raw, dict) else None
    async with client.post(BACKUPS, data=data, json=body) as resp:
        where = f"{field} " if field else "the body "
        message = f"Invalid request body: {where}{reason}"
        details = {"field": field, "reason": reason}
        assert (400, error_body(1, 400, message, details)) == (resp.status, await resp.json())
    assert 120 == len(mock.backups(PROJECT, ADDON))


async def test_start_in_an_unknown_addon_is_404(client: Client) -> None:
    """An unknown addon is 404, whatever the body."""
    path = f"/v1/projects/{PROJECT}/addons/nope/backups"
    message = f"Addon nope not found in project {PROJECT}"
    assert (404, error_body(1, 404, message)) == await send(client, "POST", path, {"x": 1})
