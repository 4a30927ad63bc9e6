"""The pure rules of a download: links, redirects, ranges, file names, scrubbing, progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from northflank_async import ResponseValidationError
from northflank_async._download_file import Destination
from northflank_async._download_rules import (
    ContentRange,
    Progress,
    allowed_target,
    check_link,
    file_extension,
    link_secrets,
    parse_content_range,
    unsatisfied_total,
    where,
)
from northflank_async._errors import scrub

API = URL("https://api.northflank.com/v1/projects/p/addons/a/backups/b/download-link")
SIGNATURE = "0123456789abcdef" * 4
LINK = (
    "https://storage.googleapis.com/bucket/p/a/b.tar.gz?X-Goog-Algorithm=GOOG4-RSA-SHA256"
    "&X-Goog-Credential=sa%40project.iam.gserviceaccount.com%2F20240101%2Fauto"
    f"&X-Goog-Expires=900&X-Goog-Signature={SIGNATURE}"
)


@pytest.mark.parametrize(
    "link",
    [
        LINK,
        "http://127.0.0.1:8080/bucket/b.tar.gz?sig=x",
        "http://127.5.6.7/b",
        "http://localhost/b",
        "http://[::1]:9000/b",
        "HTTPS://Storage.Example/b",
    ],
)
def test_an_https_or_loopback_link_is_accepted(link: str) -> None:
    """Absolute https links, and plain http only to this machine, pass as they are."""
    assert URL(link, encoded=True) == check_link(link, API)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "the download link is not a string (got NoneType)"),
        (42, "the download link is not a string (got int)"),
        ("", "the download link is empty"),
        ("/bucket/b.tar.gz?sig=abcdefghijk", "the download link is not an absolute URL"),
        ("https://a b/x?sig=abcdefghijk", "the download link holds spaces or control characters"),
        (
            "http://example.com/b.tar.gz?sig=abcdefghijk",
            "the download link is not an https URL (scheme http, host example.com)",
        ),
        (
            "ftp://files.example/b?sig=abcdefghijk",
            "the download link is not an https URL (scheme ftp, host files.example)",
        ),
        (
            "http://10.0.0.1/b?sig=abcdefghijk",
            "the download link is not an https URL (scheme http, host 10.0.0.1)",
        ),
    ],
)
def test_a_bad_link_is_refused_without_quoting_it(value: Any, problem: str) -> None:
    """The message says what is wrong and names the API route, never the link's query."""
    with pytest.raises(ResponseValidationError) as caught:
        check_link(value, API)
    assert f"GET {API}: {problem}" == str(caught.value)
    assert "data.downloadLink" == caught.value.path
    assert "abcdefghijk" not in repr(caught.value.args)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://cdn.example/x", True),
        ("http://127.0.0.1:1/x", True),
        ("http://localhost/x", True),
        ("http://cdn.example/x", False),
        ("http://localhost.evil.example/x", False),
        ("ftp://127.0.0.1/x", False),
        ("/relative", False),
    ],
)
def test_redirect_targets(url: str, allowed: bool) -> None:
    """A download may go to https anywhere, or to plain http on this machine only."""
    assert allowed is allowed_target(URL(url))


def test_a_link_is_shown_as_host_and_path() -> None:
    """No scheme, port, user info, query or fragment."""
    assert "storage.googleapis.com/bucket/p/a/b.tar.gz" == where(URL(LINK))
    assert "[::1]/a%20b/c" == where(URL("http://u:pw@[::1]:81/a%20b/c?s=1#f", encoded=True))


def test_every_form_of_the_links_credentials_is_scrubbed() -> None:
    """The link, its query string and each long query value, as sent or decoded, go."""
    link = URL(LINK, encoded=True)
    secrets = link_secrets(link)
    credential = "sa@project.iam.gserviceaccount.com/20240101/auto"
    for text in (
        LINK,
        link.raw_query_string,
        SIGNATURE,
        credential,
        "sa%40project.iam.gserviceaccount.com%2F20240101%2Fauto",
        '{"sig": "' + SIGNATURE + '"}',
    ):
        scrubbed = scrub(f"failed: {text}!", secrets)
        assert SIGNATURE not in scrubbed
        assert credential not in scrubbed
        assert "gserviceaccount" not in scrubbed
    assert "failed: <token>!" == scrub(f"failed: {LINK}!", secrets)
    assert "GOOG4-RSA-SHA256" in secrets  # 8+ characters: scrubbed too
    assert "900" not in secrets  # short values are no credential


def test_a_link_without_a_query_has_nothing_to_scrub() -> None:
    """Nothing to hide, so nothing is replaced."""
    assert () == link_secrets(URL("https://cdn.example/b.tar.gz"))


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("bytes 100-199/200", ContentRange(100, 199, 200)),
        ("bytes 0-0/1", ContentRange(0, 0, 1)),
        ("bytes 5-9/*", ContentRange(5, 9, None)),
        (" bytes 1-2/3 ", ContentRange(1, 2, 3)),
        (None, None),
        ("", None),
        ("bytes 9-5/10", None),
        ("bytes 0-10/10", None),
        ("bytes */10", None),
        ("items 0-1/2", None),
        ("bytes \u0661-\u0662/\u0663", None),  # digits, but not ASCII ones
    ],
)
def test_content_range(header: str | None, parsed: ContentRange | None) -> None:
    """A 206's range is read only when it makes sense."""
    assert parsed == parse_content_range(header)


def test_a_416_may_say_the_objects_size() -> None:
    """``bytes */size`` gives the size; anything else gives none."""
    assert (1024, None, None) == (
        unsatisfied_total("bytes */1024"),
        unsatisfied_total("bytes 0-1/2"),
        unsatisfied_total(None),
    )


@pytest.mark.parametrize(
    ("path", "extension"),
    [
        ("/bucket/p/a/b1.tar.gz", ".tar.gz"),
        ("/bucket/p/a/b1.dump.zst", ".dump.zst"),
        ("/bucket/p/a/b1.sql.bz2", ".sql.bz2"),
        ("/bucket/p/a/b1.gz", ".gz"),
        ("/bucket/p/a/b1.tar", ".tar"),
        ("/bucket/p/a/backup.2024.gz", ".gz"),
        ("/bucket/p/a/b1.archive.gz", ".gz"),
        ("/bucket/p/a/b1.tar-x.gz", ".gz"),
        ("/bucket/p/a/b1", ""),
        ("/bucket/p/a/b1.", ""),
        ("/bucket/p/a.d/b1", ""),
        ("/bucket/p/a/b1.t%20r", ""),
        ("/bucket/p/a/b1.verylongsuffix", ""),
        ("/", ""),
    ],
)
def test_the_file_extension_comes_from_the_links_path(path: str, extension: str) -> None:
    """Last suffix, plus a short one before a compression suffix; nothing odd."""
    assert extension == file_extension(URL("https://cdn.example" + path + "?sig=1"))


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_reported_at_most_every_interval_and_once_at_the_end() -> None:
    """The first count at once, then one per 0.1 s, then the final count."""
    clock = _Clock()
    calls: list[tuple[int, int | None]] = []
    progress = Progress(lambda done, total: calls.append((done, total)), clock=clock)
    progress.total = 100
    for done in (10, 20, 30):
        progress.update(done)
        clock.now += 0.04
    clock.now += 0.1
    progress.update(60)
    progress.finish(100)
    assert [(10, 100), (60, 100), (100, 100)] == calls


def test_progress_never_goes_backwards_after_a_restart() -> None:
    """After a restart from 0, the highest position stays until passed."""
    clock = _Clock()
    calls: list[int] = []
    progress = Progress(lambda done, _: calls.append(done), interval=0.0, clock=clock)
    for done in (50, 80, 10, 40, 90):
        progress.update(done)
    progress.finish(100)
    assert [50, 80, 80, 80, 90, 100] == calls


def test_progress_without_a_callback_does_nothing() -> None:
    """No callback, no calls, no errors."""
    progress = Progress(None)
    progress.update(5)
    progress.finish(5)


def test_a_destination_file_that_exists_needs_overwrite(tmp_path: Path) -> None:
    """FileExistsError without overwrite; with it, the path is taken."""
    existing = tmp_path / "b.tar.gz"
    existing.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        Destination.check(existing, "b", overwrite=False)
    assert Destination(existing, False, True, "b") == Destination.check(
        str(existing), "b", overwrite=True
    )


def test_a_destination_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    """FileNotFoundError for a missing parent, and for a missing directory named with a slash."""
    with pytest.raises(FileNotFoundError):
        Destination.check(tmp_path / "nope" / "b.tar.gz", "b", overwrite=False)
    with pytest.raises(FileNotFoundError):
        Destination.check(f"{tmp_path}/nope/", "b", overwrite=True)


@pytest.mark.parametrize("destination", ["", b"/tmp/x", 42, None])
def test_a_destination_that_is_not_a_path_is_a_value_error(destination: Any) -> None:
    """Empty strings, bytes and non-paths are refused."""
    with pytest.raises(ValueError, match="destination must be"):
        Destination.check(destination, "b", overwrite=False)


def test_a_directory_destination_names_the_file_after_the_backup(tmp_path: Path) -> None:
    """Backup id plus the link's extension; an existing file there needs overwrite."""
    target = Destination.check(tmp_path, "b1", overwrite=False)
    link = URL("https://cdn.example/bucket/p/a/b1.dump.zst?sig=1")
    assert tmp_path / "b1.dump.zst" == target.final(link)
    (tmp_path / "b1.dump.zst").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        target.final(link)
    assert tmp_path / "b1.dump.zst" == Destination.check(tmp_path, "b1", overwrite=True).final(link)
    (tmp_path / "b2.tar.gz").mkdir()
    with pytest.raises(FileExistsError, match="is a directory"):
        Destination.check(tmp_path, "b2", overwrite=True).final(
            URL("https://cdn.example/b2.tar.gz")
        )


def test_a_backup_id_with_a_slash_cannot_name_a_file(tmp_path: Path) -> None:
    """In a directory the id becomes the file name, so it must be one."""
    with pytest.raises(ValueError, match="cannot name a file"):
        Destination.check(tmp_path, "a/b", overwrite=False)
