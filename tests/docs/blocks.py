"""Pure parsing of the code blocks of a Markdown page (or a docstring), and of console blocks.

No I/O: every function here takes text and returns data, so the rules are tested fast
(``tests/docs/test_blocks.py``). What a page may hold is the contract of the docs
conventions:

- a fenced block (```` ``` ```` or ``~~~``, three or more, possibly indented inside a list
  or an admonition) has a language, the first word of its info string;
- ``<!-- docs: ... -->`` lines directly above a fence are its markers (``no-run``,
  ``no-run: reason``, ``realistic``);
- a ``console`` block is ``$ `` commands (``\\`` continues a line) with the output they
  show, where ``$ echo $?`` gives the exit code expected of the command before it; a block
  without any ``$ `` line is a list of commands, one a line, ``# comments`` allowed;
- a command "runs northflank-async" when ``northflank-async`` is a word of it, outside a
  ``pip install`` (where it names the package, not the program).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

__all__ = [
    "CLI",
    "PYTHON_ALIASES",
    "SHELL_LANGUAGES",
    "Block",
    "Command",
    "ConsoleError",
    "Document",
    "Marker",
    "drop_install_prefix",
    "mixes_snippets",
    "parse_console",
    "parse_markdown",
    "runs_cli",
    "shell_words",
    "simple_commands",
    "snippet_paths",
    "strip_comments",
]

#: The program whose commands the docs tests run.
CLI = "northflank-async"
#: Fence languages refused: their commands would escape the run (write ``console``).
SHELL_LANGUAGES = frozenset(
    {"bash", "sh", "shell", "shell-session", "shellsession", "sh-session", "zsh"}
)
#: Fence languages refused for Python: only ``python`` blocks are run.
PYTHON_ALIASES = frozenset({"py", "py3", "python3", "pycon", "ipython", "ipython3"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^[ \t]*<!--[ \t]*docs:(?P<text>.*?)-->[ \t]*$")
_SNIPPET = re.compile(r"^-+8<-+[ \t]+(?P<quote>[\"'])(?P<path>.+?)(?P=quote)[ \t]*$")
_ATTRIBUTE_LANGUAGE = re.compile(r"\.(?P<language>[\w+#-]+)")


@dataclass(frozen=True)
class Marker:
    """A ``<!-- docs: TEXT -->`` line: ``text`` is what follows ``docs:``, stripped."""

    line: int
    text: str

    @property
    def kind(self) -> str:
        """``no-run`` for ``no-run`` and ``no-run: reason``, else the whole text."""
        head, colon, _ = self.text.partition(":")
        return "no-run" if colon and head.strip() == "no-run" else self.text

    @property
    def reason(self) -> str:
        """The reason a ``no-run: reason`` marker gives (empty for any other)."""
        head, colon, reason = self.text.partition(":")
        return reason.strip() if colon and head.strip() == "no-run" else ""

    @property
    def known(self) -> bool:
        """Whether the marker is one of the conventions' (``no-run``, ``realistic``)."""
        return self.kind in ("no-run", "realistic")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it opens, its language and its text, dedented."""

    path: str
    line: int
    """1-based line of the opening fence."""
    info: str
    """The fence's info string, stripped (``python title="x.py"``)."""
    text: str
    """The lines between the fences, dedented by the fence's indentation, each ending in a
    newline."""
    markers: tuple[Marker, ...] = ()
    closed: bool = True

    @property
    def language(self) -> str:
        """The info string's first word, lowercased (``{ .python }`` gives ``python``)."""
        info = self.info.strip()
        if info.startswith("{"):
            found = _ATTRIBUTE_LANGUAGE.search(info)
            return found["language"].lower() if found else ""
        return info.split()[0].lower() if info else ""

    @property
    def where(self) -> str:
        """``path:line``, as a failure names the block."""
        return f"{self.path}:{self.line}"

    @property
    def no_run(self) -> bool:
        """Whether a ``no-run`` marker keeps the block from running."""
        return any(marker.kind == "no-run" for marker in self.markers)

    @property
    def realistic(self) -> bool:
        """Whether a ``realistic`` marker asks for the realistic fake team."""
        return any(marker.kind == "realistic" for marker in self.markers)


@dataclass(frozen=True)
class Document:
    """The blocks of a page, and its markers that sit above no fence."""

    path: str
    blocks: tuple[Block, ...]
    stray_markers: tuple[Marker, ...] = ()

    def python_blocks(self) -> list[Block]:
        """The ``python`` blocks, include-only ones (``--8<--``) left out."""
        return [b for b in self.blocks if b.language == "python" and snippet_paths(b) is None]


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence`` (same character, at least as
    long, nothing but blanks after it)."""
    stripped = line.strip()
    return (
        len(stripped) >= len(fence)
        and stripped == fence[0] * len(stripped)
        and line.lstrip()[: len(fence)] == fence
    )


def _dedent(line: str, indent: int) -> str:
    """``line`` without up to ``indent`` leading blanks (fewer when it has fewer)."""
    blanks = len(line) - len(line.lstrip(" \t"))
    return line[min(blanks, indent) :]


def parse_markdown(text: str, path: str) -> Document:
    """Every fenced block of a Markdown text, in order, with the markers above each.

    A fence of backticks whose info string holds a backtick is inline code, not a fence.
    A block left open runs to the end of the text (``closed`` is False). Fences inside a
    block are its text.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    stray: list[Marker] = []
    pending: list[Marker] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence and not (fence["fence"][0] == "`" and "`" in fence["info"]):
            indent = len(fence["indent"])
            end = index + 1
            while end < len(lines) and not _closes(lines[end], fence["fence"]):
                end += 1
            body = "".join(_dedent(inner, indent) + "\n" for inner in lines[index + 1 : end])
            blocks.append(
                Block(
                    path=path,
                    line=index + 1,
                    info=fence["info"].strip(),
                    text=body,
                    markers=tuple(pending),
                    closed=end < len(lines),
                )
            )
            pending = []
            index = end + 1
            continue
        marker = _MARKER.match(line)
        if marker:
            pending.append(Marker(index + 1, marker["text"].strip()))
        else:
            # A marker belongs to the fence right below it; any other line (a blank one
            # too) in between leaves it above nothing.
            stray.extend(pending)
            pending = []
        index += 1
    stray.extend(pending)
    return Document(path, tuple(blocks), tuple(stray))


def snippet_paths(block: Block) -> list[str] | None:
    """The files an include-only block (``--8<-- "path"`` lines only) includes, else None.

    A ``path:10:20`` or ``path:section`` suffix is kept as written.
    """
    lines = [line.strip() for line in block.text.splitlines() if line.strip()]
    found = [_SNIPPET.match(line) for line in lines]
    if not lines or not all(found):
        return None
    return [match["path"] for match in found if match]


def mixes_snippets(block: Block) -> bool:
    """Whether a block holds ``--8<--`` lines among other lines (it cannot run as code)."""
    lines = [line.strip() for line in block.text.splitlines() if line.strip()]
    return snippet_paths(block) is None and any(_SNIPPET.match(line) for line in lines)


# -- shell words ----------------------------------------------------------------------------------

#: Operators, longest first. Those in _SEPARATORS end a simple command; the others redirect.
_OPERATORS = (
    "&>>",
    "<<<",
    "&&",
    "||",
    ";;",
    "|&",
    "&>",
    ">&",
    "<&",
    ">>",
    ">|",
    "<<",
    "|",
    ";",
    "&",
    "(",
    ")",
    "<",
    ">",
    "\n",
)
_SEPARATORS = frozenset({"&&", "||", ";;", "|&", "|", ";", "&", "(", ")", "\n"})


@dataclass(frozen=True)
class _Token:
    text: str
    """A word with its quotes removed, or an operator."""
    start: int
    operator: bool


def _scan(source: str) -> tuple[list[_Token], list[tuple[int, int]]]:
    """Split shell source into words and operators; also return the comments' spans.

    Close enough to bash for what the docs hold: quotes (``'``, ``"``, ``\\``), line
    continuations, operators, and ``#`` starting a comment at the start of a word only.
    ``$(`` splits into a word ending in ``$`` and ``(``, which starts a new command.
    """
    tokens: list[_Token] = []
    comments: list[tuple[int, int]] = []
    word: list[str] = []
    start: int | None = None
    index, size = 0, len(source)

    def flush() -> None:
        nonlocal start
        if start is not None:
            tokens.append(_Token("".join(word), start, operator=False))
        word.clear()
        start = None

    while index < size:
        char = source[index]
        if char == "\\" and source.startswith("\\\n", index):
            index += 2  # a line continuation: bash removes it, joining the lines
            continue
        if char in " \t":
            flush()
            index += 1
            continue
        if char == "#" and start is None:
            end = source.find("\n", index)
            end = size if end < 0 else end
            comments.append((index, end))
            index = end
            continue
        operator = next((op for op in _OPERATORS if source.startswith(op, index)), None)
        if operator is not None:
            flush()
            tokens.append(_Token(operator, index, operator=True))
            index += len(operator)
            continue
        if start is None:
            start = index
        if char == "\\":
            word.append(source[index + 1 : index + 2])
            index += 2
        elif char == "'":
            end = source.find("'", index + 1)
            end = size if end < 0 else end
            word.append(source[index + 1 : end])
            index = end + 1
        elif char == '"':
            index += 1
            while index < size and source[index] != '"':
                if source[index] == "\\" and index + 1 < size and source[index + 1] in '\\"$`\n':
                    if source[index + 1] != "\n":
                        word.append(source[index + 1])
                    index += 2
                else:
                    word.append(source[index])
                    index += 1
            index += 1
        else:
            word.append(char)
            index += 1
    flush()
    return tokens, comments


def strip_comments(source: str) -> str:
    """``source`` without its ``# comments`` (a ``#`` inside quotes or a word stays)."""
    _, comments = _scan(source)
    for begin, end in reversed(comments):
        source = source[:begin] + source[end:]
    return "\n".join(line.rstrip() for line in source.split("\n")).strip()


def shell_words(source: str) -> list[str]:
    """The words of shell source, quotes removed, operators and comments left out."""
    tokens, _ = _scan(source)
    return [token.text for token in tokens if not token.operator]


def simple_commands(source: str) -> list[list[str]]:
    """The words of each simple command (split at ``|``, ``&&``, ``;``, ``(``, newlines...)."""
    tokens, _ = _scan(source)
    commands: list[list[str]] = [[]]
    for token in tokens:
        if not token.operator:
            commands[-1].append(token.text)
        elif token.text in _SEPARATORS and commands[-1]:
            commands.append([])
    return [words for words in commands if words]


def _installs(words: list[str]) -> bool:
    """Whether a simple command installs packages (``pip install``, ``python -m pip``...)."""
    head = words[0].rsplit("/", 1)[-1]
    if head in ("pip", "pip3", "pipx"):
        return True
    if head.startswith("python") and words[1:3] == ["-m", "pip"]:
        return True
    return head == "uv" and words[1:2] == ["pip"]


def drop_install_prefix(source: str) -> str:
    """``source`` without a leading ``pip install ... &&`` (the package is installed)."""
    while True:
        tokens, _ = _scan(source)
        joiner = next((i for i, t in enumerate(tokens) if t.text in _SEPARATORS), None)
        if joiner is None or tokens[joiner].text != "&&" or joiner + 1 >= len(tokens):
            return source
        first = [token.text for token in tokens[:joiner] if not token.operator]
        if not first or not _installs(first):
            return source
        source = source[tokens[joiner + 1].start :]


def runs_cli(source: str) -> bool:
    """Whether ``northflank-async`` (or a path to it) is a word of a command that is not
    a package install."""
    return any(
        not _installs(words) and any(word.rsplit("/", 1)[-1] == CLI for word in words)
        for words in simple_commands(source)
    )


# -- console blocks -------------------------------------------------------------------------------


class ConsoleError(ValueError):
    """A console block that cannot be read as commands (the message names file:line)."""


@dataclass(frozen=True)
class Command:
    """One command of a console block, as shown, and what it should end with."""

    line: int
    """1-based line of the page where the command starts."""
    text: str
    """The command as shown, without its ``$ ``; continued lines joined by newlines."""
    expected_code: int = 0
    output: tuple[str, ...] = ()

    @property
    def script(self) -> str:
        """What bash runs: comments removed, a leading ``pip install ... &&`` dropped."""
        return drop_install_prefix(strip_comments(self.text)).strip()

    @property
    def runs_cli(self) -> bool:
        """Whether the command runs ``northflank-async`` (the tests run only those)."""
        return runs_cli(self.script)


def _is_exit_status(text: str) -> bool:
    return shell_words(text) == ["echo", "$?"] and len(simple_commands(text)) == 1


def _joined(lines: list[str], index: int) -> tuple[str, int]:
    """The command starting at ``lines[index]`` with its ``\\`` continuations, and the index
    of its last line."""
    parts = [lines[index]]
    while parts[-1].endswith("\\") and index + 1 < len(lines):
        index += 1
        parts.append(lines[index])
    return "\n".join(parts), index


def parse_console(block: Block) -> list[Command]:
    """The commands of a console block, each with its output and expected exit code.

    Raises ConsoleError for a ``$ echo $?`` that follows no command, or whose output is
    not a number.
    """
    lines = block.text.splitlines()
    first = block.line + 1
    if not any(line.startswith("$ ") for line in lines):
        listed: list[Command] = []
        index = 0
        while index < len(lines):
            text, last = _joined(lines, index)
            if strip_comments(text):
                listed.append(Command(first + index, text))
            index = last + 1
        return listed
    commands: list[Command] = []
    status_open = False  # whether the latest command may still take an `echo $?`
    index = 0
    while index < len(lines):
        if not lines[index].startswith("$ "):
            index += 1  # output shown before any command: nothing to check
            continue
        start = index
        text, index = _joined(lines, index)
        text = text[2:]
        output: list[str] = []
        index += 1
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        if not _is_exit_status(text):
            commands.append(Command(first + start, text, output=tuple(output)))
            status_open = True
            continue
        where = f"{block.path}:{first + start}"
        if not status_open:
            raise ConsoleError(f"{where}: `$ echo $?` must come right after the command it checks")
        shown = [line.strip() for line in output if line.strip()]
        if not shown or not shown[0].isdigit():
            raise ConsoleError(f"{where}: `$ echo $?` must show the exit code on the next line")
        commands[-1] = replace(commands[-1], expected_code=int(shown[0]))
        status_open = False
    return commands
