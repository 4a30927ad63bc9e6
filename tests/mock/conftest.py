"""Fixtures of the MockNorthflank tests: a filled mock (not started) and a client of its app."""

from __future__ import annotations

import pytest
from pytest_aiohttp import AiohttpClient

from northflank_async.testing import MockNorthflank

from .support import AUTH, Client, filled_mock


@pytest.fixture
def mock() -> MockNorthflank:
    """A mock with one addon holding 120 generated backups."""
    return filled_mock()


@pytest.fixture
async def client(mock: MockNorthflank, aiohttp_client: AiohttpClient) -> Client:
    """A test client bound to the mock's app, sending the right token."""
    return await aiohttp_client(mock.make_app(), headers=AUTH)
