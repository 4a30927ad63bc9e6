"""northflank-async: an async Python SDK for the Northflank API.

Stream every backup of an addon from asyncio code::

    async with NorthflankSession() as nf:
        async for backup in nf.list_backups("default-project", "example-addon"):
            print(backup.id, backup.status, backup.created_at, backup.config.size)
"""

from ._convert import converter
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    EventLoopError,
    NorthflankError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    ServerError,
    SessionClosedError,
)
from ._models import (
    AdditionalDestination,
    Addon,
    AddonBackup,
    AddonPage,
    AddonSpec,
    AddonStatus,
    Backup,
    BackupConfig,
    BackupPage,
    BackupSource,
    BackupSourceType,
    BackupStatus,
    CompressionType,
    DestinationType,
    Pagination,
    Project,
    ProjectPage,
    RateLimit,
)
from ._retry import RetryPolicy
from ._session import NorthflankSession
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AdditionalDestination",
    "Addon",
    "AddonBackup",
    "AddonPage",
    "AddonSpec",
    "AddonStatus",
    "AuthenticationError",
    "Backup",
    "BackupConfig",
    "BackupPage",
    "BackupSource",
    "BackupSourceType",
    "BackupStatus",
    "BadRequestError",
    "CompressionType",
    "ConfigurationError",
    "ConflictError",
    "DestinationType",
    "EventLoopError",
    "NorthflankError",
    "NorthflankSession",
    "NotFoundError",
    "Pagination",
    "PaginationError",
    "PermissionDeniedError",
    "Project",
    "ProjectPage",
    "RateLimit",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "SessionClosedError",
    "__version__",
    "converter",
]
