"""What the command line prints: views of the models, the four output formats, progress.

Every listing command turns its walk into :class:`Batch` es (a page, or one backup of a
many-addon stream) and hands them to :func:`emit`, which writes them with one
:class:`Writer` per output format and keeps the progress line on stderr up to date.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TextIO, TypeVar

import attrs

from .._convert import converter
from .._models import Addon, AddonBackup, Backup, Page, Project, RateLimit, Restore

__all__ = [
    "ADDONS",
    "ADDON_BACKUPS",
    "BACKUPS",
    "FORMATS",
    "PROJECTS",
    "RESTORES",
    "Batch",
    "Column",
    "MissingYAML",
    "Progress",
    "View",
    "Writer",
    "backup_source",
    "capped",
    "counted",
    "emit",
    "format_table",
    "human_size",
    "make_writer",
    "one_writer",
    "page_batch",
    "page_batches",
    "printable",
    "text_or_dash",
]

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

#: The ``-o`` formats, the default first.
FORMATS = ("json", "jsonl", "yaml", "table")

_JSONL_SEPARATORS = (",", ":")


# -- plain text helpers ---------------------------------------------------------------

#: What must not reach a terminal raw: C0 and C1 controls (ESC, CR, LF, ...), the Unicode
#: line and paragraph separators, and the bidirectional overrides that reorder a line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


def printable(text: str) -> str:
    """``text`` safe to show on a terminal: each control character escaped (``\\x1b``, ``\\n``).

    Server-provided text (names, ids, error messages) goes through this before it is
    shown to people; JSON outputs stay exact, since JSON escapes controls itself.
    """
    return _UNPRINTABLE.sub(_escape, text)


def human_size(size: int) -> str:
    """A byte count in binary units with one decimal: ``512 B``, ``1.2 GiB``."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if round(value, 1) < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} PiB"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_or_dash(value: object) -> str:
    """``value`` as text, ``-`` for none or empty."""
    return "-" if value is None or value == "" else str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Rows as aligned columns under their headers (columns in ``right`` flush right)."""
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip() + "\n"

    return line(headers) + "".join(line(row) for row in rows)


# -- views: how one model is shown ------------------------------------------------------


@attrs.frozen
class Column(Generic[T]):
    """One column of ``-o table``."""

    header: str
    cell: Callable[[T], str]
    right: bool = False


@attrs.frozen
class View(Generic[T]):
    """How the objects of one listing are printed, under the JSON key ``key``."""

    key: str
    noun: str
    """One object, for people: ``backup``."""
    to_json: Callable[[T], dict[str, Any]]
    columns: tuple[Column[T], ...]


def _unstructure(obj: object) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(obj)
    return data


def backup_source(backup: Backup) -> str:
    """Where the backup came from (``snapshot``), ``-`` if the API did not say."""
    return text_or_dash(backup.config.source.type if backup.config.source else None)


BACKUPS: View[Backup] = View(
    "backups",
    "backup",
    _unstructure,
    (
        Column("ID", lambda b: b.id),
        Column("NAME", lambda b: b.name),
        Column("STATUS", lambda b: str(b.status)),
        Column("CREATED", lambda b: _when(b.created_at)),
        Column("COMPLETED", lambda b: _when(b.completed_at)),
        Column("SIZE", lambda b: human_size(b.config.size), right=True),
        Column("SOURCE", backup_source),
        Column("COMPRESSION", lambda b: text_or_dash(b.config.compression_type)),
    ),
)


def _addon_backup_json(item: AddonBackup) -> dict[str, Any]:
    return {"projectId": item.project_id, "addonId": item.addon_id, **_unstructure(item.backup)}


def _of_backup(column: Column[Backup]) -> Column[AddonBackup]:
    cell = column.cell
    return Column(column.header, lambda item: cell(item.backup), column.right)


ADDON_BACKUPS: View[AddonBackup] = View(
    "backups",
    "backup",
    _addon_backup_json,
    (
        Column("PROJECT", lambda item: item.project_id),
        Column("ADDON", lambda item: item.addon_id),
        *(_of_backup(column) for column in BACKUPS.columns),
    ),
)

PROJECTS: View[Project] = View(
    "projects",
    "project",
    _unstructure,
    (
        Column("ID", lambda p: p.id),
        Column("NAME", lambda p: p.name),
        Column("DESCRIPTION", lambda p: text_or_dash(p.description)),
    ),
)

RESTORES: View[Restore] = View(
    "restores",
    "restore",
    _unstructure,
    (
        Column("ID", lambda r: r.id),
        Column("STATUS", lambda r: str(r.status)),
        Column("STARTED", lambda r: _when(r.restore_timestamp)),
        Column("COMPLETED", lambda r: _when(r.completed_at)),
        Column("BACKUP", lambda r: text_or_dash(r.backup_id)),
    ),
)

ADDONS: View[Addon] = View(
    "addons",
    "addon",
    _unstructure,
    (
        Column("ID", lambda a: a.id),
        Column("NAME", lambda a: a.name),
        Column("TYPE", lambda a: a.spec.type),
        Column("STATUS", lambda a: str(a.status)),
        Column("TAGS", lambda a: text_or_dash(",".join(a.tags))),
    ),
)


# -- writers: one per output format -----------------------------------------------------


class Writer(Protocol[T_contra]):
    """Writes batches of objects as they arrive, and ends the output once."""

    def write(self, items: Sequence[T_contra]) -> None:
        """Write these objects (and flush, so a reader downstream sees them now)."""

    def close(self, complete: bool) -> None:
        """End the output: a document is closed only when ``complete``, then flush."""


class MissingYAML(Exception):
    """``-o yaml`` was asked for but PyYAML is not installed."""


class _JSON(Generic[T]):
    """One ``{"<key>": [...]}`` document, indented, written object by object."""

    def __init__(self, out: TextIO, view: View[T]) -> None:
        self._out = out
        self._view = view
        self._started = False

    def write(self, items: Sequence[T]) -> None:
        if not items:
            return
        to_json = self._view.to_json
        separator = (
            ",\n    " if self._started else "{\n  " + json.dumps(self._view.key) + ": [\n    "
        )
        parts: list[str] = []
        for item in items:
            parts.append(separator)
            parts.append(json.dumps(to_json(item), indent=2).replace("\n", "\n    "))
            separator = ",\n    "
        self._started = True
        self._out.write("".join(parts))
        self._out.flush()

    def close(self, complete: bool) -> None:
        if complete:
            if self._started:
                self._out.write("\n  ]\n}\n")
            else:
                self._out.write("{\n  " + json.dumps(self._view.key) + ": []\n}\n")
        self._out.flush()


class _JSONLines(Generic[T]):
    """One compact JSON object per line, no envelope."""

    def __init__(self, out: TextIO, view: View[T]) -> None:
        self._out = out
        self._to_json = view.to_json

    def write(self, items: Sequence[T]) -> None:
        if not items:
            return
        dumps, to_json = json.dumps, self._to_json
        lines = [dumps(to_json(item), separators=_JSONL_SEPARATORS) for item in items]
        self._out.write("\n".join(lines) + "\n")
        self._out.flush()

    def close(self, complete: bool) -> None:
        self._out.flush()


def _yaml_dump() -> Callable[[object], str]:
    """PyYAML's safe block-style dump, keys in order; MissingYAML without PyYAML."""
    try:
        yaml = importlib.import_module("yaml")
    except ImportError:
        raise MissingYAML(
            "-o yaml needs PyYAML: pip install 'northflank-async[yaml]' (or PyYAML)"
        ) from None
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    def dump(data: object) -> str:
        text: str = yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False)
        return text

    return dump


class _YAML(Generic[T]):
    """The JSON document's data as YAML (``<key>:`` then a block list), needs PyYAML."""

    def __init__(self, out: TextIO, view: View[T]) -> None:
        self._dump = _yaml_dump()
        self._out = out
        self._view = view
        self._started = False

    def write(self, items: Sequence[T]) -> None:
        if not items:
            return
        head = "" if self._started else f"{self._view.key}:\n"
        self._started = True
        self._out.write(head + self._dump([self._view.to_json(item) for item in items]))
        self._out.flush()

    def close(self, complete: bool) -> None:
        if complete and not self._started:
            self._out.write(self._dump({self._view.key: []}))
        self._out.flush()


class _Table(Generic[T]):
    """Aligned columns; rows are kept as short strings and printed at the end."""

    def __init__(self, out: TextIO, view: View[T]) -> None:
        self._out = out
        self._columns = view.columns
        self._rows: list[tuple[str, ...]] = []

    def write(self, items: Sequence[T]) -> None:
        # Cells hold server text (names, tags, ...): escaped, so it cannot drive the terminal.
        cells = [column.cell for column in self._columns]
        self._rows.extend(tuple(printable(cell(item)) for cell in cells) for item in items)

    def close(self, complete: bool) -> None:
        # What arrived is shown even after an error: a table is read by people.
        headers = [column.header for column in self._columns]
        right = {i for i, column in enumerate(self._columns) if column.right}
        self._out.write(format_table(headers, self._rows, right))
        self._rows.clear()
        self._out.flush()


def make_writer(output: str, out: TextIO, view: View[T]) -> Writer[T]:
    """The writer for ``-o output`` (one of :data:`FORMATS`); MissingYAML for yaml without PyYAML."""
    if output == "jsonl":
        return _JSONLines(out, view)
    if output == "yaml":
        return _YAML(out, view)
    if output == "table":
        return _Table(out, view)
    return _JSON(out, view)


def one_writer(output: str, out: TextIO, view: View[T]) -> Callable[[T], None]:
    """How one object (not a listing) is written for ``-o output``: the object alone.

    json indented, jsonl on one line, yaml a mapping, table its header and one row.
    Made before any request, so ``-o yaml`` without PyYAML fails first (MissingYAML).
    """
    dump = _yaml_dump() if output == "yaml" else None
    columns = view.columns

    def render(item: T) -> str:
        if output == "table":
            cells = [printable(column.cell(item)) for column in columns]
            right = {i for i, column in enumerate(columns) if column.right}
            return format_table([column.header for column in columns], [cells], right)
        data = view.to_json(item)
        if dump is not None:
            return dump(data)
        if output == "jsonl":
            return json.dumps(data, separators=_JSONL_SEPARATORS) + "\n"
        return json.dumps(data, indent=2) + "\n"

    def write(item: T) -> None:
        out.write(render(item))
        out.flush()

    return write


# -- the walk ------------------------------------------------------------------------------


@attrs.frozen
class Batch(Generic[T]):
    """Objects that arrived together, and what the progress line counts for them."""

    items: Sequence[T]
    rate_limit: RateLimit | None
    units: int = 1
    """How many new pages (or addons) this batch accounts for."""
    next_cursor: str | None = None
    """The cursor of the page after this one, if the API says there is one."""
    left_out: int = 0
    """How many objects of this page a cap (``--max-items``) left out."""


def counted(number: int, noun: str) -> str:
    """``1 backup``, ``2 backups``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


class Progress:
    """One self-rewriting line on a terminal: how far a walk got, and the rate limit.

    It is redrawn at most every ``interval`` seconds; when the output goes to the same
    screen (``shares_screen``), it is wiped before each output and drawn again after it,
    so it stays below the output instead of mixing with it.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        noun: str,
        unit: str,
        enabled: bool,
        shares_screen: bool = False,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._noun = noun
        self._unit = unit
        self._enabled = enabled
        self._shares_screen = shares_screen
        self._interval = interval
        self._clock = clock
        self._started = clock()
        self._shown_at: float | None = None
        self._visible = False
        self.items = 0
        self.units = 0
        self.rate_limit: RateLimit | None = None

    def advance(self, batch: Batch[Any]) -> None:
        """Count a batch; redraw the line when the last drawing is old enough."""
        self.items += len(batch.items)
        self.units += batch.units
        if batch.rate_limit is not None:
            self.rate_limit = batch.rate_limit
        if self._enabled and (
            not self._visible
            or self._shown_at is None
            or self._clock() - self._shown_at >= self._interval
        ):
            self._draw()

    def before_output(self) -> None:
        """Wipe the line if output is about to be written to the same screen."""
        if self._shares_screen:
            self.wipe()

    def wipe(self) -> None:
        """Wipe the line if it is drawn (before a line of text on its stream)."""
        if self._visible:
            self._stream.write("\r\x1b[K")
            self._visible = False

    def line(self) -> str:
        """The progress line as it stands."""
        elapsed = self._clock() - self._started
        text = (
            f"{counted(self.items, self._noun)} from {counted(self.units, self._unit)} "
            f"({elapsed:.1f} s)"
        )
        if self.rate_limit is not None:
            text += f", rate limit {self.rate_limit.remaining}/{self.rate_limit.limit} left"
        return text

    def _draw(self) -> None:
        self._shown_at = self._clock()
        self._visible = True
        self._stream.write("\r" + self.line() + "\x1b[K")
        self._stream.flush()

    def finish(self) -> None:
        """Draw the final count and end the line (nothing when disabled)."""
        if self._enabled:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
            self._visible = False


def page_batch(page: Page[T]) -> Batch[T]:
    """One page as a batch, with the cursor of the next page if there is one."""
    paging = page.pagination
    cursor = paging.cursor if paging.has_next_page else None
    return Batch(page.items, page.rate_limit, next_cursor=cursor)


async def page_batches(pages: AsyncGenerator[Page[T], None]) -> AsyncGenerator[Batch[T], None]:
    """Each page of a walk as a batch, as it arrives."""
    async with aclosing(pages):
        async for page in pages:
            yield page_batch(page)


async def capped(
    batches: AsyncGenerator[Batch[T], None], max_items: int | None
) -> AsyncGenerator[Batch[T], None]:
    """``batches`` stopped after ``max_items`` objects (all of them for None).

    The batch cut short says in ``left_out`` how many of its objects it lost.
    """
    async with aclosing(batches):
        left = max_items
        if left == 0:
            return
        async for batch in batches:
            if left is not None and len(batch.items) >= left:
                yield attrs.evolve(
                    batch, items=batch.items[:left], left_out=len(batch.items) - left
                )
                return
            if left is not None:
                left -= len(batch.items)
            yield batch


async def emit(
    batches: AsyncGenerator[Batch[T], None],
    writers: Sequence[Writer[T]],
    progress: Progress,
) -> Batch[T] | None:
    """Write every batch as it arrives; return the last batch (None if there was none).

    On an error or an interruption the output so far is flushed (a JSON document is
    left open, so it cannot pass for a complete answer) and the error goes on.
    """
    last: Batch[T] | None = None
    complete = False
    try:
        async with aclosing(batches):
            async for batch in batches:
                progress.before_output()
                for writer in writers:
                    writer.write(batch.items)
                progress.advance(batch)
                last = batch
        complete = True
    finally:
        progress.finish()
        for writer in writers:
            writer.close(complete)
    return last
