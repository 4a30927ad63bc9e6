"""The package's public surface: exported names, version, type marker."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources

import northflank_async

EXPECTED_ALL = [
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
    "BackupFailedError",
    "BackupHealth",
    "BackupPage",
    "BackupSource",
    "BackupSourceType",
    "BackupStatus",
    "BackupType",
    "BadRequestError",
    "CompressionType",
    "ConfigurationError",
    "ConflictError",
    "DestinationType",
    "DownloadError",
    "EventLoopError",
    "LastRestore",
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
    "Restore",
    "RestorePage",
    "RetryPolicy",
    "ServerError",
    "SessionClosedError",
    "WaitTimeoutError",
    "__version__",
    "converter",
]


def test_all_is_exactly_the_public_names() -> None:
    """``__all__`` lists exactly the public names, sorted, without duplicates."""
    assert EXPECTED_ALL == northflank_async.__all__
    assert sorted(northflank_async.__all__) == northflank_async.__all__


def test_every_public_name_is_importable() -> None:
    """Each name in ``__all__`` is an attribute of the package and comes with ``import *``."""
    namespace: dict[str, object] = {}
    exec("from northflank_async import *", namespace)
    for name in EXPECTED_ALL:
        assert getattr(northflank_async, name) is namespace[name]


def test_public_classes_claim_the_package() -> None:
    """Every exported class is defined in a module of the package."""
    for name in EXPECTED_ALL:
        value = getattr(northflank_async, name)
        if isinstance(value, type):
            assert value.__module__.startswith("northflank_async."), name


def test_version_comes_from_package_metadata() -> None:
    """``__version__`` is the version of the installed distribution."""
    assert importlib.metadata.version("northflank-async") == northflank_async.__version__


def test_py_typed_marker_is_shipped() -> None:
    """The package carries ``py.typed`` so type checkers use its annotations."""
    assert importlib.resources.files("northflank_async").joinpath("py.typed").is_file()


def test_testing_module_is_importable() -> None:
    """The public testing helper imports and exports MockNorthflank."""
    testing = importlib.import_module("northflank_async.testing")
    assert "MockNorthflank" in testing.__all__
